package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"

	authenticationv1 "k8s.io/api/authentication/v1"
	"sigs.k8s.io/aws-iam-authenticator/pkg/token"
)

// maxReviewBytes bounds a TokenReview request: a token is at most 4 KiB.
const maxReviewBytes = 64 << 10

// Groups of a verified identity: the admin ARN stands for an EKS access entry with the
// cluster-admin access policy; any other identity is only authenticated.
const (
	adminGroup         = "system:masters"
	authenticatedGroup = "system:authenticated"
)

// reviewer answers kube-apiserver's TokenReviews: the verifier decides, then the ARN
// becomes the user name.
type reviewer struct {
	verifier token.Verifier
	adminARN string
	log      *slog.Logger
}

func (rv *reviewer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST a TokenReview", http.StatusMethodNotAllowed)
		return
	}
	var review authenticationv1.TokenReview
	if err := json.NewDecoder(io.LimitReader(r.Body, maxReviewBytes)).Decode(&review); err != nil {
		http.Error(w, "the body is not a TokenReview", http.StatusBadRequest)
		return
	}
	if review.APIVersion != authenticationv1.SchemeGroupVersion.String() || review.Kind != "TokenReview" {
		// kube-apiserver is started with --authentication-token-webhook-version=v1.
		http.Error(w, "want an authentication.k8s.io/v1 TokenReview", http.StatusBadRequest)
		return
	}
	status := rv.review(review.Spec.Token)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(authenticationv1.TokenReview{TypeMeta: review.TypeMeta, Status: status})
}

// review verifies one token. No audiences are returned: kube-apiserver then applies its
// own (as with EKS's authenticator).
func (rv *reviewer) review(tok string) authenticationv1.TokenReviewStatus {
	id, err := rv.verifier.Verify(tok)
	if err != nil {
		reason := redact(err)
		rv.log.Info("refused", "reason", reason)
		return authenticationv1.TokenReviewStatus{Authenticated: false, Error: reason}
	}
	groups := []string{authenticatedGroup}
	if rv.adminARN != "" && (id.ARN == rv.adminARN || id.CanonicalARN == rv.adminARN) {
		groups = []string{adminGroup}
	}
	rv.log.Info("authenticated", "arn", id.ARN, "groups", groups)
	return authenticationv1.TokenReviewStatus{
		Authenticated: true,
		User: authenticationv1.UserInfo{
			// An access entry's default user name for an IAM user is its ARN.
			Username: id.ARN,
			UID:      fmt.Sprintf("aws-iam-authenticator:%s:%s", id.AccountID, id.UserID),
			Groups:   groups,
			Extra: map[string]authenticationv1.ExtraValue{
				"arn":          {id.ARN},
				"canonicalArn": {id.CanonicalARN},
				"accessKeyId":  {id.AccessKeyID},
				"principalId":  {id.UserID},
			},
		},
	}
}

// urlPattern finds URLs in error messages: a url.Error quotes the presigned URL, whose
// signature is as good as the token.
var urlPattern = regexp.MustCompile(`\w+://[^\s"]*`)

// redact is the reason of a refusal, safe to log and to hand to kube-apiserver (which logs
// it): the error's kind and message without any URL.
func redact(err error) string {
	kind := "refused"
	var formatErr token.FormatError
	var stsErr token.STSError
	switch {
	case errors.As(err, &formatErr):
		kind = "malformed token"
	case errors.As(err, &stsErr):
		kind = "STS refused"
	}
	return kind + ": " + urlPattern.ReplaceAllString(err.Error(), "<url>")
}
