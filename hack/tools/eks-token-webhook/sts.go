package main

import (
	"bytes"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go/aws/credentials"
	v4 "github.com/aws/aws-sdk-go/aws/signer/v4"
)

const (
	// amzDate is SigV4's X-Amz-Date layout.
	amzDate = "20060102T150405Z"
	// clockSkew is how far in the future STS accepts a signing time.
	clockSkew = 5 * time.Minute
	// globalSTSRegion is the signing region of the global endpoint sts.amazonaws.com.
	globalSTSRegion = "us-east-1"
)

// stsStandIn answers the verifier's GET https://sts.<region>.amazonaws.com/?Action=
// GetCallerIdentity&... as STS does, for the one identity it knows: it recomputes the
// SigV4 query-string signature with that identity's secret (aws-sdk-go's own signer) and
// compares. Any difference (another cluster name in x-k8s-aws-id, another secret, another
// scope, a changed parameter) gives STS's 403, and the verifier refuses the token.
type stsStandIn struct {
	identity Identity
	// lifetime is how long after X-Amz-Date a signature is accepted (STS: 15 minutes).
	lifetime time.Duration
	now      func() time.Time
}

// stsError is STS's JSON error body (the verifier asks for JSON).
type stsError struct {
	status        int
	code, message string
}

func (s *stsStandIn) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
	if !strings.HasPrefix(req.URL.Hostname(), "sts.") && !strings.HasPrefix(req.URL.Hostname(), "sts-fips.") {
		// Only the verifier's STS request may leave this process, and it does not leave.
		return nil, fmt.Errorf("no network here: only STS is answered, not %s", req.URL.Hostname())
	}
	if e := s.check(req); e != nil {
		return respond(req, e.status, map[string]any{
			"Error":     map[string]string{"Type": "Sender", "Code": e.code, "Message": e.message},
			"RequestId": requestID(),
		}), nil
	}
	return respond(req, http.StatusOK, map[string]any{
		"GetCallerIdentityResponse": map[string]any{
			"GetCallerIdentityResult": map[string]string{
				"Account": s.identity.Account, "Arn": s.identity.ARN, "UserId": s.identity.UserID,
			},
			"ResponseMetadata": map[string]string{"RequestId": requestID()},
		},
	}), nil
}

// check is STS's authentication of a presigned GetCallerIdentity request; nil when it
// would answer with the caller's identity.
func (s *stsStandIn) check(req *http.Request) *stsError {
	denied := func(code, format string, args ...any) *stsError {
		return &stsError{http.StatusForbidden, code, fmt.Sprintf(format, args...)}
	}
	q := req.URL.Query()
	if req.Method != http.MethodGet || req.URL.Path != "/" || q.Get("Action") != "GetCallerIdentity" || q.Get("Version") != "2011-06-15" {
		return &stsError{http.StatusBadRequest, "InvalidAction", "only GetCallerIdentity of version 2011-06-15 by GET on / is answered here"}
	}
	if q.Get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" {
		return denied("IncompleteSignature", "X-Amz-Algorithm must be AWS4-HMAC-SHA256")
	}
	// X-Amz-Credential: <access key id>/<yyyymmdd>/<region>/sts/aws4_request
	scope := strings.Split(q.Get("X-Amz-Credential"), "/")
	if len(scope) != 5 {
		return denied("IncompleteSignature", "X-Amz-Credential is not <key>/<date>/<region>/<service>/aws4_request")
	}
	if subtle.ConstantTimeCompare([]byte(scope[0]), []byte(s.identity.AccessKeyID)) != 1 {
		return denied("InvalidClientTokenId", "The security token included in the request is invalid.")
	}
	if subtle.ConstantTimeCompare([]byte(q.Get("X-Amz-Security-Token")), []byte(s.identity.SessionToken)) != 1 {
		return denied("InvalidClientTokenId", "The security token included in the request is invalid.")
	}
	signedAt, err := time.Parse(amzDate, q.Get("X-Amz-Date"))
	if err != nil {
		return denied("IncompleteSignature", "X-Amz-Date is missing or not of the form %s", amzDate)
	}
	region := signingRegion(req.URL.Hostname())
	if scope[1] != signedAt.Format("20060102") || scope[2] != region || scope[3] != "sts" || scope[4] != "aws4_request" {
		return denied("SignatureDoesNotMatch", "Credential should be scoped to a valid date, region %s and service sts", region)
	}
	now := s.now().UTC()
	if now.After(signedAt.Add(s.lifetime)) {
		return denied("SignatureDoesNotMatch", "Signature expired: %s is now earlier than %s (%s - %s.)",
			signedAt.Format(amzDate), now.Add(-s.lifetime).Format(amzDate), now.Format(amzDate), s.lifetime)
	}
	if signedAt.After(now.Add(clockSkew)) {
		return denied("SignatureDoesNotMatch", "Signature not yet current: %s is still later than %s", signedAt.Format(amzDate), now.Add(clockSkew).Format(amzDate))
	}
	expires, err := strconv.Atoi(q.Get("X-Amz-Expires"))
	if err != nil || expires < 0 {
		return denied("AuthorizationQueryParametersError", "X-Amz-Expires must be a non-negative integer")
	}
	got, err := hexSignature(q.Get("X-Amz-Signature"))
	if err != nil {
		return denied("IncompleteSignature", "X-Amz-Signature is missing")
	}
	want, signedHeaders, err := s.sign(req, q, region, time.Duration(expires)*time.Second, signedAt)
	if err != nil {
		return &stsError{http.StatusInternalServerError, "InternalFailure", "recomputing the signature failed"}
	}
	if signedHeaders != strings.ToLower(q.Get("X-Amz-SignedHeaders")) || subtle.ConstantTimeCompare(got, want) != 1 {
		return denied("SignatureDoesNotMatch",
			"The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.")
	}
	return nil
}

// sign presigns the request as the client should have, with the known secret: the same
// query (less the signature, which the signer computes), the same signing time and expiry,
// and the signed headers with the values this request carries. The verifier sets
// x-k8s-aws-id to the cluster ID it serves, so a token signed for another cluster name
// does not match.
func (s *stsStandIn) sign(req *http.Request, q url.Values, region string, expires time.Duration, signedAt time.Time) (signature []byte, signedHeaders string, err error) {
	q = cloneValues(q)
	q.Del("X-Amz-Signature")
	u := url.URL{Scheme: "https", Host: req.URL.Host, Path: "/", RawQuery: q.Encode()}
	resign, err := http.NewRequest(http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, "", err
	}
	for _, name := range strings.Split(q.Get("X-Amz-SignedHeaders"), ";") {
		if name = strings.ToLower(strings.TrimSpace(name)); name != "" && name != "host" {
			for _, v := range req.Header.Values(name) {
				resign.Header.Add(name, v)
			}
		}
	}
	creds := credentials.NewStaticCredentials(s.identity.AccessKeyID, s.identity.SecretAccessKey, s.identity.SessionToken)
	if _, err := v4.NewSigner(creds).Presign(resign, nil, "sts", region, expires, signedAt); err != nil {
		return nil, "", err
	}
	signed := resign.URL.Query()
	sig, err := hexSignature(signed.Get("X-Amz-Signature"))
	return sig, signed.Get("X-Amz-SignedHeaders"), err
}

// signingRegion is the region a request to host is signed for: sts.<region>.<suffix>,
// or us-east-1 for the global endpoint.
func signingRegion(host string) string {
	labels := strings.Split(host, ".")
	if len(labels) <= 3 {
		return globalSTSRegion
	}
	return labels[1]
}

// hexSignature decodes a SigV4 signature: 64 hex digits.
func hexSignature(s string) ([]byte, error) {
	if len(s) != 64 {
		return nil, errors.New("want 64 hex digits")
	}
	return hex.DecodeString(s)
}

func cloneValues(q url.Values) url.Values {
	out := make(url.Values, len(q))
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}

func respond(req *http.Request, status int, body any) *http.Response {
	data, _ := json.Marshal(body)
	return &http.Response{
		Status: fmt.Sprintf("%d %s", status, http.StatusText(status)), StatusCode: status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": []string{"application/json"}},
		Body:          io.NopCloser(bytes.NewReader(data)),
		ContentLength: int64(len(data)),
		Request:       req,
	}
}

// requestID is a fresh-looking STS request id; nothing depends on it.
func requestID() string {
	return fmt.Sprintf("local-%d", time.Now().UnixNano())
}
