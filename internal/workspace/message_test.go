package workspace

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"strings"
	"testing"
)

func compressed(t *testing.T, s string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

func TestProviderMessage(t *testing.T) {
	detail := "\nError: local-exec provisioner error\n\n  with terraform_data.cp,\n\nOutput: quota exhausted\n"
	prefix := "update failed: cannot apply Terraform configuration: Terraform encountered an error. Summary: local-exec provisioner error. "
	bomb := compressed(t, strings.Repeat("A", 10*maxDetail))
	cases := []struct{ name, in, want string }{
		{"plain message unchanged", "create failed: cannot init", "create failed: cannot init"},
		{"compressed detail expanded on one line",
			prefix + `To see the full error run: echo "` + compressed(t, detail) + `" | base64 -d | gunzip`,
			prefix + "Detail: Error: local-exec provisioner error with terraform_data.cp, Output: quota exhausted"},
		{"not base64 stays", `To see the full error run: echo "@@@" | base64 -d | gunzip`, `To see the full error run: echo "@@@" | base64 -d | gunzip`},
		{"not gzip stays", `To see the full error run: echo "aGVsbG8=" | base64 -d | gunzip`, `To see the full error run: echo "aGVsbG8=" | base64 -d | gunzip`},
	}
	for _, tc := range cases {
		if got := ProviderMessage(tc.in); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
	// A blob that expands without bound is cut at maxDetail.
	got := ProviderMessage(`To see the full error run: echo "` + bomb + `" | base64 -d | gunzip`)
	if len(got) > maxDetail+len("Detail: ") {
		t.Errorf("expanded to %d bytes", len(got))
	}
}
