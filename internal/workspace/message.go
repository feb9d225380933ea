package workspace

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"io"
	"regexp"
	"strings"
)

// compressedDetail is how provider-terraform shortens a Terraform error in a condition:
// the detail, gzipped and base64-encoded, behind a shell line that decodes it.
var compressedDetail = regexp.MustCompile(`To see the full error run: echo "([A-Za-z0-9+/=]+)" \| base64 -d \| gunzip`)

// maxDetail bounds a decompressed detail: a condition message is short, and a
// compressed blob must not expand into something large.
const maxDetail = 16 << 10

// ProviderMessage returns a Workspace condition message a person can read: a detail
// provider-terraform compressed is expanded in place, on one line. A blob that does
// not decode stays as it is.
func ProviderMessage(msg string) string {
	text, _ := expand(msg, maxDetail)
	return text
}

// expand replaces each compressed detail of msg with "Detail: " and the detail on one
// line, each cut at limit bytes; whole is false when one was cut.
func expand(msg string, limit int64) (text string, whole bool) {
	whole = true
	text = compressedDetail.ReplaceAllStringFunc(msg, func(match string) string {
		blob := compressedDetail.FindStringSubmatch(match)[1]
		data, err := base64.StdEncoding.DecodeString(blob)
		if err != nil {
			return match
		}
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return match
		}
		// One byte more than the limit tells a detail of exactly limit bytes from a
		// longer one.
		detail, err := io.ReadAll(io.LimitReader(zr, limit+1))
		if err != nil && len(detail) == 0 {
			return match
		}
		if err != nil {
			whole = false // a stream cut short: what it held up to there
		}
		if int64(len(detail)) > limit {
			detail, whole = detail[:limit], false
		}
		return "Detail: " + strings.Join(strings.Fields(string(detail)), " ")
	})
	return text, whole
}
