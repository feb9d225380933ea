// Package move proves that `clusterctl move` of a provisioned local CAPT Cluster from one
// management cluster to another loses nothing and duplicates nothing. Three API servers
// run: the source and the target management clusters (kube-controller-manager, Cluster
// API's core manager and CAPT's manager on each; provider-terraform running OpenTofu on
// one at a time) and a third that only keeps the Terraform state, standing in for the S3
// bucket both management clusters would share. CAPT's CRDs are the Helm chart's (the
// install path clusterctl adds no labels to); the move itself is clusterctl's library
// code, as `clusterctl move` runs it.
package move

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/capt-dev/capt/internal/dev"
	"github.com/capt-dev/capt/internal/localstack"
)

var (
	root string
	// state keeps the Terraform state of both management clusters (the kubernetes
	// backend); source and target are the management clusters clusterctl moves between.
	state, source, target *localstack.Stack
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	root, err = localstack.RepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "move:", err)
		return 1
	}
	dataDir, err := os.MkdirTemp("", "capt-move-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "move:", err)
		return 1
	}
	var stacks []*localstack.Stack
	code := func() int {
		var stops []func() error
		defer func() {
			for i := len(stops) - 1; i >= 0; i-- {
				if err := stops[i](); err != nil {
					fmt.Fprintln(os.Stderr, "move:", err)
				}
			}
		}()
		start := func(name string, o localstack.Options) (*localstack.Stack, error) {
			o.Root, o.BinDir, o.DataDir, o.Engine = root, binDir(), filepath.Join(dataDir, name), "tofu"
			// CAPT as Helm installs it, beside a Cluster API clusterctl installed: the
			// chart's CRDs carry clusterctl's labels themselves, or the move would take the
			// bare Cluster and leave CAPT's objects to the source's garbage collector.
			o.CAPTCRDDir = filepath.Join(root, "charts", "capt", "crds")
			s, err := localstack.StartAPIServer(o)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			stacks = append(stacks, s)
			stops = append(stops, s.Stop)
			return s, nil
		}
		if state, err = start("state", localstack.Options{}); err != nil {
			fmt.Fprintln(os.Stderr, "move:", err)
			return 1
		}
		if source, err = start("source", localstack.Options{StateKubeconfig: state.Kubeconfig}); err != nil {
			fmt.Fprintln(os.Stderr, "move:", err)
			return 1
		}
		// The target is up from the start, as a management cluster waiting for a move
		// is, but without provider-terraform: it binds 127.0.0.1:8080, as the source's
		// does, so the test starts it once it has stopped the source's.
		if target, err = start("target", localstack.Options{StateKubeconfig: state.Kubeconfig, NoProviderTerraform: true}); err != nil {
			fmt.Fprintln(os.Stderr, "move:", err)
			return 1
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		for _, s := range []*localstack.Stack{source, target} {
			if err := s.StartControllers(ctx); err != nil {
				fmt.Fprintln(os.Stderr, "move:", err)
				return 1
			}
			stopCAPT, err := dev.StartCAPT(s.Config, filepath.Join(s.Logs(), "capt.log"))
			if err != nil {
				fmt.Fprintln(os.Stderr, "move:", err)
				return 1
			}
			stops = append(stops, stopCAPT)
		}
		if err := dev.PrepareNamespace(ctx, source.Client, dev.APIServer{Endpoint: source.Config.Host, CA: source.Config.CAData}); err != nil {
			fmt.Fprintln(os.Stderr, "move:", err)
			return 1
		}
		if err := dev.ApplyFiles(ctx, source.Client, dev.TemplatesFile(root)); err != nil {
			fmt.Fprintln(os.Stderr, "move:", err)
			return 1
		}
		return m.Run()
	}()
	if code != 0 {
		for _, s := range stacks {
			localstack.DumpLogs(os.Stderr, s.Logs())
		}
		fmt.Fprintln(os.Stderr, "move: data and logs kept in", dataDir)
	} else {
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

// watcher follows cluster's objects on stack, printing what changes to the test log
// after prefix.
func watcher(t *testing.T, stack *localstack.Stack, prefix, cluster string) *dev.Watcher {
	return &dev.Watcher{Client: stack.Client, Namespace: dev.Namespace, Cluster: cluster,
		Printer: &dev.Printer{Out: testWriter{t, prefix}, Start: time.Now()}, Interval: 500 * time.Millisecond}
}

type testWriter struct {
	t      *testing.T
	prefix string
}

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(w.prefix + strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// wait bounds every wait of the test.
const wait = 5 * time.Minute

// within bounds a wait in a test by wait.
func within(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return ctx
}
