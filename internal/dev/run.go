package dev

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/capt-dev/capt/internal/localstack"
)

// Options of `capt dev`.
type Options struct {
	localstack.Options
	// Delete deletes the Cluster once it is provisioned, then stops.
	Delete bool
	// DeleteOnInterrupt deletes the Cluster when interrupted, before stopping.
	DeleteOnInterrupt bool
	// Interval between two looks of the progress view.
	Interval time.Duration
	Out      io.Writer
}

// Timings are the figures of one run.
type Timings struct {
	StartUp, Provisioning, Deletion time.Duration
}

// Run starts the local stack and CAPT, creates the sample Cluster, follows it until it is
// provisioned, checks its kubeconfig, and then deletes it (Delete) or waits for ctx to
// end (an interrupt), deleting it first with DeleteOnInterrupt. interrupted is closed on a
// second interrupt, to abandon a deletion.
func Run(ctx context.Context, o Options, interrupted <-chan struct{}) (Timings, error) {
	var t Timings
	out := o.Out
	say := func(format string, args ...any) { _, _ = fmt.Fprintf(out, format+"\n", args...) }
	start := time.Now()

	say("==> etcd and kube-apiserver (data in %s)", o.DataDir)
	stack, err := localstack.StartAPIServer(o.Options)
	if err != nil {
		return t, err
	}
	defer func() {
		say("==> stopping (logs stay in %s)", stack.Logs())
		if err := stack.Stop(); err != nil {
			say("    %v", err)
		}
	}()
	say("    kube-apiserver %s; kubeconfig %s", stack.Config.Host, stack.Kubeconfig)
	say("==> kube-controller-manager, Cluster API core manager, provider-terraform (%s)", o.EngineName())
	if err := stack.StartControllers(ctx); err != nil {
		return t, err
	}
	say("==> CAPT")
	stopCAPT, err := StartCAPT(stack.Config, filepath.Join(stack.Logs(), "capt.log"))
	if err != nil {
		return t, err
	}
	defer func() {
		if err := stopCAPT(); err != nil {
			say("    %v", err)
		}
	}()
	t.StartUp = time.Since(start)
	say("    started in %s; logs in %s", t.StartUp.Round(100*time.Millisecond), stack.Logs())

	say("==> Cluster %s/%s from templates/local", Namespace, ClusterName)
	provisioning := time.Now()
	if err := PrepareNamespace(ctx, stack.Client, APIServer{Endpoint: stack.Config.Host, CA: stack.Config.CAData}); err != nil {
		return t, err
	}
	if err := ApplyFiles(ctx, stack.Client, TemplatesFile(o.Root), ClusterFile(o.Root)); err != nil {
		return t, err
	}
	w := &Watcher{Client: stack.Client, Namespace: Namespace, Cluster: ClusterName,
		Printer: &Printer{Out: out, Start: provisioning}, Interval: o.Interval}
	if _, err := w.Until(ctx, func(Snapshot) (bool, error) {
		return Provisioned(ctx, stack.Client, Namespace, ClusterName)
	}); err != nil {
		return t, fmt.Errorf("waiting for the Cluster to be provisioned: %w", err)
	}
	say("==> Cluster provisioned and control plane initialized in %s; waiting for Cluster API to report it Available",
		time.Since(provisioning).Round(100*time.Millisecond))
	if _, err := w.Until(ctx, func(Snapshot) (bool, error) {
		return Available(ctx, stack.Client, Namespace, ClusterName)
	}); err != nil {
		return t, fmt.Errorf("waiting for Cluster API to report the Cluster Available (see its conditions above): %w", err)
	}
	t.Provisioning = time.Since(provisioning)
	say("==> Cluster Available in %s: Cluster API connects to it with the published kubeconfig", t.Provisioning.Round(100*time.Millisecond))

	kubeconfigData, version, err := ConnectKubeconfig(ctx, stack.Client, Namespace, ClusterName)
	if err != nil {
		return t, err
	}
	kubeconfigPath := filepath.Join(o.DataDir, ClusterName+".kubeconfig")
	if err := os.WriteFile(kubeconfigPath, kubeconfigData, 0o600); err != nil {
		return t, fmt.Errorf("writing the Cluster's kubeconfig: %w", err)
	}
	say("    the kubeconfig secret %s/%s-kubeconfig connects (server %s). Use it:", Namespace, ClusterName, version)
	say("      kubectl --kubeconfig %s get namespaces", kubeconfigPath)
	say("    the management cluster:")
	say("      kubectl --kubeconfig %s get clusters,captclusters,captcontrolplanes,workspacetemplateapplies -A", stack.Kubeconfig)

	if !o.Delete {
		if o.DeleteOnInterrupt {
			say("==> running; Ctrl-C deletes the Cluster, then stops")
		} else {
			say("==> running; Ctrl-C stops (run with --delete-on-interrupt to delete the Cluster first)")
		}
		<-ctx.Done()
		if !o.DeleteOnInterrupt {
			return t, nil
		}
	}

	say("==> deleting Cluster %s/%s (CAPTEP-0041: endpoint, then WorkspaceTemplateApply, then Workspace)", Namespace, ClusterName)
	deleteCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-interrupted:
			cancel()
		case <-deleteCtx.Done():
		}
	}()
	w.Printer.Start = time.Now()
	deletion, err := DeleteCluster(deleteCtx, stack.Client, w)
	if err != nil {
		return t, fmt.Errorf("deleting the Cluster: %w", err)
	}
	t.Deletion = time.Since(w.Printer.Start)
	say("==> deleted in %s, nothing left; the order seen:", t.Deletion.Round(100*time.Millisecond))
	for _, s := range deletion.Steps {
		say("    %7.1fs  %s", s.At.Seconds(), s.What)
	}
	return t, nil
}
