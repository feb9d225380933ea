// Package ekstoken mints the bearer tokens EKS accepts (what `aws eks get-token` prints),
// in the manager, so that the kubeconfig CAPT publishes works for clients that cannot
// run an exec plugin: Cluster API's own controllers. A token is a presigned STS
// GetCallerIdentity URL; presigning is local (no call to AWS), EKS checks it by sending
// the request to STS.
package ekstoken

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

const (
	// Prefix starts every EKS token; the rest is the URL in unpadded base64url.
	Prefix = "k8s-aws-v1."
	// ClusterIDHeader carries the EKS cluster name; it is signed, so a token works for
	// that one cluster only.
	ClusterIDHeader = "x-k8s-aws-id"
	// presignExpiry is the X-Amz-Expires every EKS token carries by convention. EKS
	// accepts the token for Lifetime after its date regardless.
	presignExpiry = "60"
	// Lifetime is how long EKS accepts a token after it was signed.
	Lifetime = 15 * time.Minute
	// maxLength is the verifier's bound on a token's length.
	maxLength = 4096
	// amzDate is SigV4's X-Amz-Date layout.
	amzDate = "20060102T150405Z"
)

// Token is a minted token and the time it was signed (second precision, as in the URL).
type Token struct {
	Value    string
	SignedAt time.Time
}

// Mint presigns an STS GetCallerIdentity request for the EKS cluster clusterName in
// region with creds, on the region's STS endpoint, and returns it as an EKS token. It
// makes no network call: only creds may (IRSA, Pod Identity fetch their keys).
func Mint(ctx context.Context, creds aws.CredentialsProvider, region, clusterName string) (Token, error) {
	if region == "" {
		return Token{}, errors.New("no region: the token is signed for the STS endpoint of the cluster's region")
	}
	if clusterName == "" {
		return Token{}, errors.New("no EKS cluster name to sign")
	}
	client := sts.New(sts.Options{Region: region, Credentials: creds})
	presigned, err := sts.NewPresignClient(client).PresignGetCallerIdentity(ctx, &sts.GetCallerIdentityInput{},
		func(o *sts.PresignOptions) {
			// The presigner sets no X-Amz-Expires (the verifier requires one) and signs
			// only the headers it is given: both go in as headers, X-Amz-* is hoisted
			// into the query.
			o.ClientOptions = append(o.ClientOptions, sts.WithAPIOptions(
				smithyhttp.AddHeaderValue(ClusterIDHeader, clusterName),
				smithyhttp.AddHeaderValue("X-Amz-Expires", presignExpiry),
			))
		})
	if err != nil {
		return Token{}, fmt.Errorf("presigning STS GetCallerIdentity: %w", err)
	}
	value := Prefix + base64.RawURLEncoding.EncodeToString([]byte(presigned.URL))
	parsed, err := Parse(value)
	if err != nil {
		return Token{}, fmt.Errorf("minted token: %w", err)
	}
	return Token{Value: value, SignedAt: parsed.SignedAt}, nil
}

// Parsed is what a token says of itself: enough to decide whether it is still the one
// to use. Nothing in it is secret but the token as a whole.
type Parsed struct {
	// Host is the STS endpoint it was signed for, Region its signing region.
	Host, Region string
	// AccessKeyID is the key it was signed with.
	AccessKeyID string
	// SignedAt is X-Amz-Date; Expires is X-Amz-Expires in seconds.
	SignedAt time.Time
	Expires  int
	// SignedHeaders are X-Amz-SignedHeaders, lower case.
	SignedHeaders []string
}

// Parse decodes a token and checks what the EKS verifier checks of its form: prefix,
// encoding, https, path, action, the signed cluster header and the expiry parameter. It
// cannot check the signature (only STS can).
func Parse(value string) (Parsed, error) {
	if len(value) > maxLength {
		return Parsed{}, fmt.Errorf("is longer than %d bytes", maxLength)
	}
	encoded, ok := strings.CutPrefix(value, Prefix)
	if !ok {
		return Parsed{}, fmt.Errorf("does not start with %s", Prefix)
	}
	raw, err := base64.RawURLEncoding.DecodeString(encoded)
	if err != nil {
		return Parsed{}, errors.New("is not unpadded base64url")
	}
	u, err := url.Parse(string(raw))
	if err != nil {
		return Parsed{}, errors.New("does not hold a URL")
	}
	if u.Scheme != "https" || u.Path != "/" && u.Path != "" {
		return Parsed{}, errors.New("does not hold an https URL of path /")
	}
	q := u.Query()
	if q.Get("Action") != "GetCallerIdentity" {
		return Parsed{}, errors.New("is not a GetCallerIdentity request")
	}
	p := Parsed{Host: u.Host, SignedHeaders: strings.Split(q.Get("X-Amz-SignedHeaders"), ";")}
	if !slices.Contains(p.SignedHeaders, ClusterIDHeader) {
		return Parsed{}, fmt.Errorf("does not sign %s", ClusterIDHeader)
	}
	if p.Expires, err = strconv.Atoi(q.Get("X-Amz-Expires")); err != nil || p.Expires < 0 || p.Expires > 900 {
		return Parsed{}, errors.New("has no X-Amz-Expires between 0 and 900")
	}
	if p.SignedAt, err = time.Parse(amzDate, q.Get("X-Amz-Date")); err != nil {
		return Parsed{}, errors.New("has no X-Amz-Date")
	}
	// X-Amz-Credential: <key>/<date>/<region>/sts/aws4_request
	scope := strings.Split(q.Get("X-Amz-Credential"), "/")
	if len(scope) != 5 || scope[3] != "sts" {
		return Parsed{}, errors.New("has no STS credential scope")
	}
	p.AccessKeyID, p.Region = scope[0], scope[2]
	return p, nil
}
