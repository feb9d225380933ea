// Package e2e drives the whole local stack of `capt dev`: etcd and kube-apiserver,
// kube-controller-manager, KWOK, Cluster API's core manager, provider-terraform running
// OpenTofu (and bin/capt, for the local node group module's provisioners), and CAPT, all
// real and built from Go modules (make test builds them).
package e2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/capt-dev/capt/internal/dev"
	"github.com/capt-dev/capt/internal/localstack"
)

var (
	stack *localstack.Stack
	root  string
)

// The stack runs in EKS mode with tokens that live far shorter than EKS's 15 minutes, so
// that a test sees several expire: kube-apiserver refuses an EKS token eksTokenLifetime
// after it was signed, and CAPT replaces the one it publishes every eksTokenRefresh. The
// other tests' Clusters use the sample's template, whose kubeconfig carries a
// ServiceAccount token: EKS mode changes nothing for them.
const (
	eksTokenLifetime = 20 * time.Second
	eksTokenRefresh  = 8 * time.Second
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

// parallelTests is how many of the package's tests run at a time: all of them. Each
// has a Cluster (or a Workspace) of its own, names apart, and spends its time waiting on
// the stack (OpenTofu runs, provider-terraform's polls, Cluster API's probes, token
// lifetimes), so that running them together takes about as long as the longest alone.
// go test's own default (-parallel GOMAXPROCS) would run two at a time; an explicit
// -parallel wins.
const parallelTests = 10

func setParallel() error {
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if explicit {
		return nil
	}
	return flag.Set("test.parallel", strconv.Itoa(parallelTests))
}

func run(m *testing.M) int {
	if err := setParallel(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	var err error
	root, err = localstack.RepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	dataDir, err := os.MkdirTemp("", "capt-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	stack, err = localstack.StartAPIServer(localstack.Options{
		Root: root, BinDir: binDir(), DataDir: dataDir, Engine: "tofu",
		// Re-plan often, so the rest check also covers provider-terraform's polls.
		ProviderTerraformPoll: 30 * time.Second,
		EKS:                   &localstack.EKSOptions{TokenLifetime: eksTokenLifetime},
		// The AWS stand-in, for the shipped templates/aws modules (aws_test.go).
		AWS: true,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	code := func() int {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if err := stack.StartControllers(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			return 1
		}
		// CAPT's manager runs in this process and signs EKS tokens with the AWS SDK's
		// default credential chain: the environment gives it the stack's test identity
		// (as capt dev --eks does). Set after the controllers started: only CAPT has it.
		for k, v := range stack.EKSAuth.Env() {
			if err := os.Setenv(k, v); err != nil {
				fmt.Fprintln(os.Stderr, "e2e:", err)
				return 1
			}
		}
		stopCAPT, err := dev.StartCAPT(stack.Config, filepath.Join(stack.Logs(), "capt.log"),
			"--eks-token-refresh-interval="+eksTokenRefresh.String())
		if err != nil {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			return 1
		}
		defer func() {
			if err := stopCAPT(); err != nil {
				fmt.Fprintln(os.Stderr, "e2e:", err)
			}
		}()
		if err := dev.PrepareNamespace(ctx, stack.Client, dev.APIServer{Endpoint: stack.Config.Host, CA: stack.Config.CAData}); err != nil {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			return 1
		}
		// The sample's templates, the one that fails on purpose, and the one whose destroy
		// fails on purpose; each test creates its Cluster.
		if err := dev.ApplyFiles(ctx, stack.Client, dev.TemplatesFile(root),
			filepath.Join(root, "templates", "local", "failing", "workspacetemplate.yaml"),
			filepath.Join(root, "templates", "local", "stuck-destroy", "workspacetemplate.yaml")); err != nil {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			return 1
		}
		return m.Run()
	}()
	if code != 0 {
		localstack.DumpLogs(os.Stderr, stack.Logs())
	}
	if err := stack.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
	}
	if code == 0 {
		_ = os.RemoveAll(dataDir)
	}
	return code
}

func binDir() string {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		return dir
	}
	return filepath.Join(root, "bin")
}

// watcher follows cluster's objects, printing what changes to the test log.
func watcher(t *testing.T, cluster string) *dev.Watcher {
	return &dev.Watcher{Client: stack.Client, Namespace: dev.Namespace, Cluster: cluster,
		Printer: &dev.Printer{Out: testWriter{t}, Start: time.Now()}, Interval: 200 * time.Millisecond}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// within bounds a wait in a test.
func within(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func get(t *testing.T, key client.ObjectKey, obj client.Object) {
	t.Helper()
	if err := stack.Client.Get(context.Background(), key, obj); err != nil {
		t.Fatal(err)
	}
}
