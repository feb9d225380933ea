package ekstoken

import (
	"context"
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

func staticCreds(session string) aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider("AKIAEXAMPLEKEY000001", "not-a-real-secret", session)
}

// decodeURL is the URL inside a token, read without Parse.
func decodeURL(t *testing.T, token string) *url.URL {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(token, Prefix))
	if err != nil {
		t.Fatalf("token is not unpadded base64url: %v", err)
	}
	u, err := url.Parse(string(raw))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestMint(t *testing.T) {
	before := time.Now().Add(-time.Second)
	tok, err := Mint(context.Background(), staticCreds(""), "eu-west-1", "prod-eks")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok.Value, Prefix) || strings.HasSuffix(tok.Value, "=") || len(tok.Value) > maxLength {
		t.Errorf("token %q: want the prefix, no padding, at most %d bytes", tok.Value[:20], maxLength)
	}
	u := decodeURL(t, tok.Value)
	q := u.Query()
	checks := map[string][2]string{
		"scheme":              {u.Scheme, "https"},
		"host (regional STS)": {u.Host, "sts.eu-west-1.amazonaws.com"},
		"path":                {u.Path, "/"},
		"Action":              {q.Get("Action"), "GetCallerIdentity"},
		"Version":             {q.Get("Version"), "2011-06-15"},
		"X-Amz-Expires":       {q.Get("X-Amz-Expires"), "60"},
		"X-Amz-SignedHeaders": {q.Get("X-Amz-SignedHeaders"), "host;x-k8s-aws-id"},
		"X-Amz-Algorithm":     {q.Get("X-Amz-Algorithm"), "AWS4-HMAC-SHA256"},
		"cluster name hidden": {q.Get(ClusterIDHeader), ""},
	}
	for what, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s = %q, want %q", what, c[0], c[1])
		}
	}
	if cred := q.Get("X-Amz-Credential"); !strings.HasPrefix(cred, "AKIAEXAMPLEKEY000001/") || !strings.HasSuffix(cred, "/eu-west-1/sts/aws4_request") {
		t.Errorf("X-Amz-Credential = %q: want the key and the region's STS scope", cred)
	}
	if q.Get("X-Amz-Signature") == "" || q.Has("X-Amz-Security-Token") {
		t.Errorf("want a signature and no session token: %v", q)
	}
	if tok.SignedAt.Before(before.Truncate(time.Second)) || tok.SignedAt.After(time.Now()) {
		t.Errorf("SignedAt = %s, want now", tok.SignedAt)
	}

	p, err := Parse(tok.Value)
	if err != nil {
		t.Fatal(err)
	}
	if p.Region != "eu-west-1" || p.AccessKeyID != "AKIAEXAMPLEKEY000001" || p.Expires != 60 || !p.SignedAt.Equal(tok.SignedAt) || p.Host != u.Host {
		t.Errorf("Parse = %+v", p)
	}
}

func TestMintWithSessionToken(t *testing.T) {
	tok, err := Mint(context.Background(), staticCreds("session-token"), "us-east-1", "c")
	if err != nil {
		t.Fatal(err)
	}
	u := decodeURL(t, tok.Value)
	if u.Query().Get("X-Amz-Security-Token") != "session-token" || u.Host != "sts.us-east-1.amazonaws.com" {
		t.Errorf("URL %s: want the session token and us-east-1's regional endpoint", u.Redacted())
	}
}

func TestMintSignsTheClusterName(t *testing.T) {
	// The name is not in the URL: only the signature differs between two clusters.
	a, errA := Mint(context.Background(), staticCreds(""), "us-west-2", "a")
	b, errB := Mint(context.Background(), staticCreds(""), "us-west-2", "b")
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	ua, ub := decodeURL(t, a.Value).Query(), decodeURL(t, b.Value).Query()
	if ua.Get("X-Amz-Date") == ub.Get("X-Amz-Date") && ua.Get("X-Amz-Signature") == ub.Get("X-Amz-Signature") {
		t.Error("tokens for two cluster names have the same signature: the name is not signed")
	}
}

func TestMintRefuses(t *testing.T) {
	noKeys := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{}, context.DeadlineExceeded
	})
	for name, mint := range map[string]func() (Token, error){
		"no region":       func() (Token, error) { return Mint(context.Background(), staticCreds(""), "", "c") },
		"no cluster name": func() (Token, error) { return Mint(context.Background(), staticCreds(""), "us-west-2", "") },
		"no credentials":  func() (Token, error) { return Mint(context.Background(), noKeys, "us-west-2", "c") },
	} {
		if tok, err := mint(); err == nil || tok.Value != "" {
			t.Errorf("%s: Mint = %q, %v; want an error", name, tok.Value, err)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	good := decodeURL(t, mustMint(t).Value)
	encode := func(mutate func(*url.URL)) string {
		u := *good
		mutate(&u)
		return Prefix + base64.RawURLEncoding.EncodeToString([]byte(u.String()))
	}
	setQuery := func(k, v string) func(*url.URL) {
		return func(u *url.URL) {
			q := u.Query()
			if v == "" {
				q.Del(k)
			} else {
				q.Set(k, v)
			}
			u.RawQuery = q.Encode()
		}
	}
	for name, value := range map[string]string{
		"no prefix":               strings.TrimPrefix(mustMint(t).Value, Prefix),
		"padded":                  Prefix + base64.URLEncoding.EncodeToString([]byte(good.String()+"x")),
		"too long":                Prefix + strings.Repeat("A", maxLength),
		"http":                    encode(func(u *url.URL) { u.Scheme = "http" }),
		"other path":              encode(func(u *url.URL) { u.Path = "/x" }),
		"other action":            encode(setQuery("Action", "AssumeRole")),
		"cluster header unsigned": encode(setQuery("X-Amz-SignedHeaders", "host")),
		"no expiry":               encode(setQuery("X-Amz-Expires", "")),
		"expiry too long":         encode(setQuery("X-Amz-Expires", "901")),
		"no date":                 encode(setQuery("X-Amz-Date", "")),
		"not an STS scope":        encode(setQuery("X-Amz-Credential", "AKIA/20261126/us-west-2/s3/aws4_request")),
	} {
		if _, err := Parse(value); err == nil {
			t.Errorf("%s: Parse accepted it", name)
		}
	}
}

func mustMint(t *testing.T) Token {
	t.Helper()
	tok, err := Mint(context.Background(), staticCreds(""), "us-west-2", "c")
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
