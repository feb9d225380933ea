// Command eks-token-webhook is the local stand-in for EKS's token authentication: a
// Kubernetes token webhook (authentication.k8s.io/v1 TokenReview) that kube-apiserver asks
// about every bearer token, and that checks EKS tokens with aws-iam-authenticator's own
// verifier, as EKS does.
//
// The verifier ends by sending the token's presigned STS GetCallerIdentity request to STS;
// STS checks the SigV4 signature, and with it the signed cluster name. Here there is no
// network and no AWS account, so this process answers that request itself (see sts.go):
// it recomputes the signature with the secret of the one test identity it knows, and
// answers as STS would. Everything else is the real verifier.
//
// Secrets come from a file (--credentials-file, written 0600 by the local stack), never
// from arguments, and neither tokens nor secrets are logged.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"sigs.k8s.io/aws-iam-authenticator/pkg/token"
)

// Identity is the test IAM identity of the credentials file: the keys a client signs
// with, and what STS says of whoever signed with them.
type Identity struct {
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
	// SessionToken is set for temporary credentials only; a token must then carry it.
	SessionToken string `json:"sessionToken,omitempty"`
	ARN          string `json:"arn"`
	Account      string `json:"account"`
	UserID       string `json:"userId"`
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		slog.Error("eks-token-webhook", "error", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("eks-token-webhook", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:8443", "host:port to serve the TokenReview webhook on (loopback: it answers over plain HTTP)")
	clusterID := fs.String("cluster-id", "", "EKS cluster name the tokens must be signed for (the x-k8s-aws-id header)")
	partition := fs.String("partition", "aws", "AWS partition whose STS hosts the verifier allows")
	region := fs.String("region", "", "the cluster's region (its STS host is allowed even if the SDK does not list it)")
	credentialsFile := fs.String("credentials-file", "", "JSON file (mode 0600) with the test identity: accessKeyId, secretAccessKey, arn, account, userId")
	lifetime := fs.Duration("token-lifetime", 15*time.Minute, "how long after X-Amz-Date a token is accepted (EKS: 15m; tests shorten it)")
	adminARN := fs.String("admin-arn", "", "the ARN mapped to system:masters (an access entry with the cluster-admin access policy)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *clusterID == "" || *region == "" || *credentialsFile == "" {
		return errors.New("--cluster-id, --region and --credentials-file are required")
	}
	if *lifetime <= 0 || *lifetime > 15*time.Minute {
		// The verifier itself refuses tokens older than 15 minutes: a longer lifetime
		// would promise what it cannot keep.
		return fmt.Errorf("--token-lifetime %s: want more than 0 and at most 15m", *lifetime)
	}
	id, err := readIdentity(*credentialsFile)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))

	// The verifier takes no HTTP client: it sends its STS request through
	// http.DefaultTransport. Nothing else in this process makes HTTP requests.
	http.DefaultTransport = &stsStandIn{identity: id, lifetime: *lifetime, now: time.Now}

	reviewer := &reviewer{verifier: token.NewVerifier(*clusterID, *partition, *region), adminARN: *adminARN, log: log}
	mux := http.NewServeMux()
	mux.Handle("/authenticate", reviewer)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })

	l, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Info("serving", "address", l.Addr().String(), "clusterID", *clusterID, "region", *region,
		"partition", *partition, "tokenLifetime", lifetime.String(), "identity", id.ARN, "adminARN", *adminARN)
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// readIdentity reads the credentials file, which must be readable by its owner only: it
// holds a secret key.
func readIdentity(path string) (Identity, error) {
	info, err := os.Stat(path)
	if err != nil {
		return Identity{}, fmt.Errorf("credentials file: %w", err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		return Identity{}, fmt.Errorf("credentials file %s: mode %v, want 0600 (it holds a secret key)", path, info.Mode().Perm())
	}
	data, err := os.ReadFile(path) //nolint:gosec // the file the operator named
	if err != nil {
		return Identity{}, fmt.Errorf("credentials file: %w", err)
	}
	var id Identity
	if err := json.Unmarshal(data, &id); err != nil {
		// The JSON error may quote the file's content: say only where it failed.
		return Identity{}, fmt.Errorf("credentials file %s: not valid JSON", path)
	}
	if id.AccessKeyID == "" || id.SecretAccessKey == "" || id.ARN == "" || id.Account == "" || id.UserID == "" {
		return Identity{}, fmt.Errorf("credentials file %s: accessKeyId, secretAccessKey, arn, account and userId are required", path)
	}
	return id, nil
}
