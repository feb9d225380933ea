package localstack

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// The local EKS stand-in's fixed names. The region is a real one: aws-iam-authenticator's
// verifier accepts only STS hosts its SDK knows for the partition (sts.us-west-2.
// amazonaws.com is one); the cluster name differs from the sample Cluster's, so that a
// token signed with the Cluster's name instead of the module's cluster_name output fails.
const (
	EKSClusterName = "capt-local-eks"
	EKSRegion      = "us-west-2"
	EKSPartition   = "aws"
	// EKSAccount and EKSAdminARN are the test identity's: an IAM user that stands for
	// CAPT's own identity, with an access entry for the cluster-admin access policy.
	EKSAccount  = "000000000000"
	EKSAdminARN = "arn:aws:iam::" + EKSAccount + ":user/capt-manager"
	// EKSTokenLifetime is how long EKS accepts a token after signing it.
	EKSTokenLifetime = 15 * time.Minute
)

// eksWebhookName is the tool in bin/ (hack/tools/eks-token-webhook).
const eksWebhookName = "eks-token-webhook"

// EKSOptions turn on the EKS mode of the stack: kube-apiserver also authenticates EKS
// bearer tokens, through eks-token-webhook, aws-iam-authenticator's verifier with a local
// stand-in for STS.
type EKSOptions struct {
	// TokenLifetime is how long after signing a token is accepted: at most (and by
	// default) EKS's 15 minutes; tests shorten it.
	TokenLifetime time.Duration
}

// EKSAuth is what the EKS mode gives its callers: the cluster the local kube-apiserver
// answers to as an EKS cluster, and the one identity whose tokens it accepts.
type EKSAuth struct {
	// ClusterName is the EKS cluster name tokens must be signed for; Region the region
	// (its STS endpoint) they are signed for.
	ClusterName, Region string
	// Credentials are the test identity's keys, made at random for each stack.
	Credentials AWSCredentials
	// TokenLifetime is how long after signing the stack accepts a token.
	TokenLifetime time.Duration
}

// AWSCredentials are an IAM user's long-term keys and what STS says of them.
type AWSCredentials struct {
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
	ARN             string `json:"arn"`
	Account         string `json:"account"`
	UserID          string `json:"userId"`
}

// Env are the environment variables that give a process these credentials through the
// AWS SDK's default credential chain (environment first), with the instance metadata
// service off (nothing here has one, and the chain would wait for it). AWS_SESSION_TOKEN
// is empty, which the SDKs read as unset: a session token of the host's would be signed
// into every token, and refused.
func (a *EKSAuth) Env() map[string]string {
	return map[string]string{
		"AWS_ACCESS_KEY_ID":         a.Credentials.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY":     a.Credentials.SecretAccessKey,
		"AWS_SESSION_TOKEN":         "",
		"AWS_EC2_METADATA_DISABLED": "true",
	}
}

// startEKSWebhook makes the test identity, writes its credentials file (0600: the webhook
// reads the secret from it, never from its arguments), starts eks-token-webhook on a free
// loopback port and points kube-apiserver at it (a kubeconfig of its own; plain HTTP on
// loopback).
func (s *Stack) startEKSWebhook(ctx context.Context, apiserver *envtest.APIServer) error {
	lifetime := s.EKS.TokenLifetime
	if lifetime == 0 {
		lifetime = EKSTokenLifetime
	}
	if lifetime < 0 || lifetime > EKSTokenLifetime {
		return fmt.Errorf("EKS token lifetime %s: want at most %s", lifetime, EKSTokenLifetime)
	}
	creds := AWSCredentials{
		// The shapes of real keys: AKIA and 16 more for the key id, 40 characters of
		// secret, AIDA and 17 more for the user id.
		AccessKeyID:     "AKIA" + randomString(16, upperBase32),
		SecretAccessKey: randomString(40, secretAlphabet),
		ARN:             EKSAdminARN,
		Account:         EKSAccount,
		UserID:          "AIDA" + randomString(17, upperBase32),
	}
	dir := filepath.Join(s.DataDir, eksWebhookName)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	credsFile := filepath.Join(dir, "credentials.json")
	data, err := json.Marshal(creds)
	if err != nil {
		return err
	}
	if err := os.WriteFile(credsFile, data, 0o600); err != nil {
		return fmt.Errorf("writing the EKS test credentials: %w", err)
	}
	port, err := FreePort()
	if err != nil {
		return err
	}
	p, err := s.startProcess(eksWebhookName, []string{
		"--listen=127.0.0.1:" + port,
		"--cluster-id=" + EKSClusterName,
		"--partition=" + EKSPartition,
		"--region=" + EKSRegion,
		"--credentials-file=" + credsFile,
		"--token-lifetime=" + lifetime.String(),
		"--admin-arn=" + EKSAdminARN,
	}, dir, nil)
	if err != nil {
		return err
	}
	if err := p.WaitHealthy(ctx, "http://127.0.0.1:"+port+"/healthz"); err != nil {
		return err
	}
	kubeconfig := filepath.Join(dir, "webhook.kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(fmt.Sprintf(webhookKubeconfig, port)), 0o600); err != nil {
		return fmt.Errorf("writing the token webhook's kubeconfig: %w", err)
	}
	apiserver.Configure().
		Set("authentication-token-webhook-config-file", kubeconfig).
		Set("authentication-token-webhook-version", "v1").
		// 0 turns the webhook's own cache off: every token not in kube-apiserver's
		// general cache of successful authentications (10 s, no flag) is asked about, so
		// an expired token stops working at most 10 s after its lifetime.
		Set("authentication-token-webhook-cache-ttl", "0s")
	s.EKSAuth = &EKSAuth{ClusterName: EKSClusterName, Region: EKSRegion, Credentials: creds, TokenLifetime: lifetime}
	return nil
}

// webhookKubeconfig is kube-apiserver's kubeconfig for the token webhook: its URL, no
// client identity (it listens on loopback only).
const webhookKubeconfig = `apiVersion: v1
kind: Config
clusters:
  - name: eks-token-webhook
    cluster:
      server: http://127.0.0.1:%s/authenticate
users:
  - name: kube-apiserver
    user: {}
contexts:
  - name: eks-token-webhook
    context: {cluster: eks-token-webhook, user: kube-apiserver}
current-context: eks-token-webhook
`

const (
	upperBase32    = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	secretAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
)

// randomString is n characters of alphabet (whose length divides 256: no bias).
func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
