package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/credentials"
	"github.com/aws/aws-sdk-go/aws/endpoints"
	"github.com/aws/aws-sdk-go/aws/session"
	v4 "github.com/aws/aws-sdk-go/aws/signer/v4"
	"github.com/aws/aws-sdk-go/service/sts"
	authenticationv1 "k8s.io/api/authentication/v1"
	"sigs.k8s.io/aws-iam-authenticator/pkg/token"
)

const (
	testCluster = "capt-test-eks"
	testRegion  = "us-west-2"
)

var testIdentity = Identity{
	AccessKeyID:     "AKIATESTTESTTEST0001",
	SecretAccessKey: "test/secret/0123456789abcdefghijklmnopqrstu",
	ARN:             "arn:aws:iam::000000000000:user/capt-manager",
	Account:         "000000000000",
	UserID:          "AIDATESTTESTTEST0001",
}

// webhook is the TokenReview handler with the STS stand-in installed as this process's
// default transport, as main does; now is the stand-in's clock.
func webhook(t *testing.T, lifetime time.Duration, now func() time.Time, adminARN string) http.Handler {
	t.Helper()
	saved := http.DefaultTransport
	http.DefaultTransport = &stsStandIn{identity: testIdentity, lifetime: lifetime, now: now}
	t.Cleanup(func() { http.DefaultTransport = saved })
	return &reviewer{
		verifier: token.NewVerifier(testCluster, "aws", testRegion),
		adminARN: adminARN,
		log:      slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// mint makes a token with aws-iam-authenticator's own generator, as `aws-iam-authenticator
// token` does, from static credentials.
func mint(t *testing.T, cluster, accessKeyID, secret string) string {
	t.Helper()
	sess, err := session.NewSession(&aws.Config{
		Region:              aws.String(testRegion),
		Credentials:         credentials.NewStaticCredentials(accessKeyID, secret, ""),
		STSRegionalEndpoint: endpoints.RegionalSTSEndpoint,
	})
	if err != nil {
		t.Fatal(err)
	}
	gen, err := token.NewGenerator(false, false)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := gen.GetWithSTS(cluster, sts.New(sess))
	if err != nil {
		t.Fatal(err)
	}
	return tok.Token
}

// review posts a v1 TokenReview to h, as kube-apiserver does.
func review(t *testing.T, h http.Handler, tok string) authenticationv1.TokenReviewStatus {
	t.Helper()
	body, err := json.Marshal(authenticationv1.TokenReview{
		TypeMeta: metaTokenReview, Spec: authenticationv1.TokenReviewSpec{Token: tok},
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/authenticate", bytes.NewReader(body)))
	if rec.Code != http.StatusOK {
		t.Fatalf("TokenReview answered %d: %s", rec.Code, rec.Body)
	}
	var out authenticationv1.TokenReview
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	if out.APIVersion != "authentication.k8s.io/v1" || out.Kind != "TokenReview" {
		t.Fatalf("answered %s %s, want an authentication.k8s.io/v1 TokenReview", out.APIVersion, out.Kind)
	}
	return out.Status
}

var metaTokenReview = func() (m authenticationv1.TokenReview) {
	m.APIVersion, m.Kind = "authentication.k8s.io/v1", "TokenReview"
	return
}().TypeMeta

func refused(t *testing.T, s authenticationv1.TokenReviewStatus, wantReason string) {
	t.Helper()
	if s.Authenticated {
		t.Fatalf("authenticated as %s, want refused", s.User.Username)
	}
	if !strings.Contains(s.Error, wantReason) {
		t.Fatalf("refused with %q, want a reason containing %q", s.Error, wantReason)
	}
}

func TestValidTokenAuthenticatesTheAdmin(t *testing.T) {
	h := webhook(t, 15*time.Minute, time.Now, testIdentity.ARN)
	s := review(t, h, mint(t, testCluster, testIdentity.AccessKeyID, testIdentity.SecretAccessKey))
	if !s.Authenticated {
		t.Fatalf("refused a valid token: %s", s.Error)
	}
	if s.User.Username != testIdentity.ARN || !slices.Equal(s.User.Groups, []string{"system:masters"}) {
		t.Fatalf("user %q groups %v, want %q in system:masters", s.User.Username, s.User.Groups, testIdentity.ARN)
	}
}

func TestOtherIdentitiesAreOnlyAuthenticated(t *testing.T) {
	h := webhook(t, 15*time.Minute, time.Now, "arn:aws:iam::000000000000:role/someone-else")
	s := review(t, h, mint(t, testCluster, testIdentity.AccessKeyID, testIdentity.SecretAccessKey))
	if !s.Authenticated || !slices.Equal(s.User.Groups, []string{"system:authenticated"}) {
		t.Fatalf("authenticated=%v groups %v (%s), want authenticated in system:authenticated only", s.Authenticated, s.User.Groups, s.Error)
	}
}

func TestTokenForAnotherClusterIsRefused(t *testing.T) {
	h := webhook(t, 15*time.Minute, time.Now, testIdentity.ARN)
	refused(t, review(t, h, mint(t, "another-cluster", testIdentity.AccessKeyID, testIdentity.SecretAccessKey)), "SignatureDoesNotMatch")
}

func TestTokenWithAnotherSecretIsRefused(t *testing.T) {
	h := webhook(t, 15*time.Minute, time.Now, testIdentity.ARN)
	refused(t, review(t, h, mint(t, testCluster, testIdentity.AccessKeyID, "another/secret/0123456789abcdefghijklmnop")), "SignatureDoesNotMatch")
}

func TestTokenOfAnUnknownKeyIsRefused(t *testing.T) {
	h := webhook(t, 15*time.Minute, time.Now, testIdentity.ARN)
	refused(t, review(t, h, mint(t, testCluster, "AKIAUNKNOWNUNKNOWN01", testIdentity.SecretAccessKey)), "InvalidClientTokenId")
}

func TestExpiredTokenIsRefused(t *testing.T) {
	tok := mint(t, testCluster, testIdentity.AccessKeyID, testIdentity.SecretAccessKey)
	// Within the shortened lifetime it is good; past it (X-Amz-Date has whole seconds) not.
	valid := webhook(t, 2*time.Second, time.Now, testIdentity.ARN)
	if s := review(t, valid, tok); !s.Authenticated {
		t.Fatalf("refused a fresh token: %s", s.Error)
	}
	later := webhook(t, 2*time.Second, func() time.Time { return time.Now().Add(3 * time.Second) }, testIdentity.ARN)
	refused(t, review(t, later, tok), "Signature expired")
}

// A token signed correctly but for another region's scope, or another service, than the
// STS host it names is refused, as STS refuses it.
func TestTokenOfAnotherScopeIsRefused(t *testing.T) {
	h := webhook(t, 15*time.Minute, time.Now, testIdentity.ARN)
	for _, scope := range [][2]string{{"eu-west-1", "sts"}, {testRegion, "iam"}} {
		refused(t, review(t, h, presign(t, scope[0], scope[1])), "scoped to a valid date, region")
	}
}

// presign signs a GetCallerIdentity request to the testRegion STS host with the given
// signing region and service.
func presign(t *testing.T, region, service string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "https://sts."+testRegion+".amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("x-k8s-aws-id", testCluster)
	creds := credentials.NewStaticCredentials(testIdentity.AccessKeyID, testIdentity.SecretAccessKey, "")
	if _, err := v4.NewSigner(creds).Presign(req, nil, service, region, 60*time.Second, time.Now()); err != nil {
		t.Fatal(err)
	}
	return "k8s-aws-v1." + base64.RawURLEncoding.EncodeToString([]byte(req.URL.String()))
}

func TestMalformedTokenIsRefusedWithoutQuotingIt(t *testing.T) {
	h := webhook(t, 15*time.Minute, time.Now, testIdentity.ARN)
	bad := "k8s-aws-v1." + base64.RawURLEncoding.EncodeToString([]byte("https://sts.us-west-2.amazonaws.com/%zz?X-Amz-Signature=secret"))
	s := review(t, h, bad)
	refused(t, s, "malformed token")
	if strings.Contains(s.Error, "secret") {
		t.Fatalf("the reason quotes the token: %q", s.Error)
	}
}

func TestOnlyPostedV1TokenReviews(t *testing.T) {
	h := webhook(t, 15*time.Minute, time.Now, testIdentity.ARN)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/authenticate", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("GET answered %d", rec.Code)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/authenticate",
		strings.NewReader(`{"apiVersion":"authentication.k8s.io/v1beta1","kind":"TokenReview","spec":{"token":"x"}}`)))
	if rec.Code != http.StatusBadRequest {
		t.Fatalf("a v1beta1 TokenReview answered %d", rec.Code)
	}
}

func TestCredentialsFileMustBePrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials.json")
	data, err := json.Marshal(testIdentity)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readIdentity(path); err == nil {
		t.Fatal("read a credentials file that others can read")
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	id, err := readIdentity(path)
	if err != nil || id != testIdentity {
		t.Fatalf("read %+v, %v", id, err)
	}
}
