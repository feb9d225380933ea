package dev

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

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
	// AWSVersion is the Kubernetes version of the AWS sample (Options.AWS).
	AWSVersion string
	Out        io.Writer
}

// Timings are the figures of one run.
type Timings struct {
	StartUp, Provisioning, Deletion time.Duration
}

// Run starts the local stack and CAPT, creates the sample Cluster, follows it until it is
// provisioned, checks its kubeconfig, and then deletes it (Delete) or waits for ctx to
// end (an interrupt), deleting it first with DeleteOnInterrupt. interrupted is closed on a
// second interrupt, to abandon a deletion.
//
// With o.EKS (EKS mode) the stack's kube-apiserver also authenticates EKS tokens, the
// sample's control plane template gives only EKS's outputs (templates/local/eks), and
// CAPT's manager gets the stack's test identity through the AWS environment variables
// (set in this process), so the kubeconfig Cluster API connects with carries a token CAPT
// minted.
func Run(ctx context.Context, o Options, interrupted <-chan struct{}) (Timings, error) {
	var t Timings
	out := o.Out
	say := func(format string, args ...any) { _, _ = fmt.Fprintf(out, format+"\n", args...) }
	start := time.Now()

	if o.CAPTBinary == "" {
		// provider-terraform's Terraform runs `capt dev-node` (the local node group
		// module): this very binary, whichever checkout's bin/ holds.
		exe, err := os.Executable()
		if err != nil {
			return t, fmt.Errorf("finding the capt binary: %w", err)
		}
		o.CAPTBinary = exe
	}
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
	eks := stack.EKSAuth
	if eks != nil {
		say("    EKS mode: it also authenticates EKS tokens signed for %s in %s by %s (accepted for %s; eks-token-webhook)",
			eks.ClusterName, eks.Region, eks.Credentials.ARN, eks.TokenLifetime)
	}
	say("==> kube-controller-manager, KWOK, Cluster API core manager, provider-terraform (%s)", o.EngineName())
	if err := stack.StartControllers(ctx); err != nil {
		return t, err
	}
	say("==> CAPT")
	if eks != nil {
		// CAPT's manager runs in this process and mints its tokens with the AWS SDK's
		// default credential chain: the environment gives it the stack's test identity.
		if err := setEnv(eks.Env()); err != nil {
			return t, err
		}
		say("    with the test identity %s in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", eks.Credentials.ARN)
	}
	stopCAPT, err := StartCAPT(stack.Config, filepath.Join(stack.Logs(), "capt.log"), eksManagerArgs(eks)...)
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

	apiserver := APIServer{Endpoint: stack.Config.Host, CA: stack.Config.CAData}
	files := []string{TemplatesFile(o.Root), ClusterFile(o.Root), MachinePoolFile(o.Root)}
	namespace, cluster, pool := Namespace, ClusterName, PoolName
	if o.AWS {
		namespace, cluster, pool = AWSNamespace, AWSClusterName, AWSPoolName
	}
	w := &Watcher{Client: stack.Client, Namespace: namespace, Cluster: cluster, Interval: o.Interval}
	if eks != nil {
		// Cluster API connects with the kubeconfig CAPT builds, its token minted by CAPT.
		w.Show = []string{clusterv1.ClusterRemoteConnectionProbeCondition}
	}
	switch {
	case o.AWS:
		say("==> Cluster %s/%s from the clusterctl eks flavor: the shipped templates/aws modules against the AWS provider stand-in (docs/aws.md)", namespace, cluster)
	case eks != nil:
		apiserver.EKSClusterName = eks.ClusterName
		files = []string{TemplatesFile(o.Root), EKSTemplateFile(o.Root), EKSClusterFile(o.Root), MachinePoolFile(o.Root)}
		say("==> Cluster %s/%s from templates/local/eks (EKS-style outputs: CAPT builds the kubeconfig with a token it mints)", namespace, cluster)
	default:
		say("==> Cluster %s/%s from templates/local", namespace, cluster)
	}
	provisioning := time.Now()
	w.Printer = &Printer{Out: out, Start: provisioning}
	if o.AWS {
		// The modules as this checkout has them, fetched with git as from GitHub.
		repo, err := ModulesRepo(o.Root, filepath.Join(o.DataDir, "modules"))
		if err != nil {
			return t, err
		}
		if err := CreateAWSSample(ctx, stack.Client, o.Root, namespace, repo, o.AWSVersion, eks); err != nil {
			return t, err
		}
	} else {
		if err := PrepareNamespace(ctx, stack.Client, apiserver); err != nil {
			return t, err
		}
		if err := ApplyFilesFor(ctx, stack.Client, o.EngineName(), files...); err != nil {
			return t, err
		}
	}
	if _, err := w.Until(ctx, func(Snapshot) (bool, error) {
		return Provisioned(ctx, stack.Client, namespace, cluster)
	}); err != nil {
		return t, fmt.Errorf("waiting for the Cluster to be provisioned: %w", err)
	}
	say("==> Cluster provisioned and control plane initialized in %s; waiting for Cluster API to report it Available",
		time.Since(provisioning).Round(100*time.Millisecond))
	if _, err := w.Until(ctx, func(Snapshot) (bool, error) {
		return Available(ctx, stack.Client, namespace, cluster)
	}); err != nil {
		return t, fmt.Errorf("waiting for Cluster API to report the Cluster Available (see its conditions above): %w", err)
	}
	say("==> Cluster Available in %s: Cluster API connects to it with the published kubeconfig", time.Since(provisioning).Round(100*time.Millisecond))
	if _, err := w.Until(ctx, func(Snapshot) (bool, error) {
		return MachinePoolRunning(ctx, stack.Client, namespace, pool)
	}); err != nil {
		return t, fmt.Errorf("waiting for Cluster API to report MachinePool %s Running (see its conditions above): %w", pool, err)
	}
	t.Provisioning = time.Since(provisioning)
	say("==> MachinePool %s Running in %s: its Nodes (registered by the node group's Workspace, kept Ready by KWOK) matched by providerID",
		pool, t.Provisioning.Round(100*time.Millisecond))

	kubeconfigData, version, err := ConnectKubeconfig(ctx, stack.Client, namespace, cluster)
	if err != nil {
		return t, err
	}
	kubeconfigPath := filepath.Join(o.DataDir, cluster+".kubeconfig")
	if err := os.WriteFile(kubeconfigPath, kubeconfigData, 0o600); err != nil {
		return t, fmt.Errorf("writing the Cluster's kubeconfig: %w", err)
	}
	say("    the kubeconfig secret %s/%s-kubeconfig connects (server %s). Use it:", namespace, cluster, version)
	if eks != nil {
		say("    (its user is an EKS token CAPT minted: the stack accepts it for %s after signing)", eks.TokenLifetime)
	}
	say("      kubectl --kubeconfig %s get namespaces", kubeconfigPath)
	say("    the management cluster:")
	say("      kubectl --kubeconfig %s get clusters,machinepools,captclusters,captcontrolplanes,captmachinepools,workspacetemplateapplies -A", stack.Kubeconfig)
	say("      kubectl --kubeconfig %s get nodes -L %s", kubeconfigPath, "eks.amazonaws.com/nodegroup")

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

	say("==> deleting Cluster %s/%s (CAPTEP-0041: endpoint, then WorkspaceTemplateApply, then Workspace)", namespace, cluster)
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

// setEnv sets the environment variables of this process.
func setEnv(env map[string]string) error {
	for k, v := range env {
		if err := os.Setenv(k, v); err != nil {
			return fmt.Errorf("setting %s: %w", k, err)
		}
	}
	return nil
}

// eksManagerArgs are the manager's flags for a stack whose EKS tokens live shorter than
// EKS's: CAPT replaces the kubeconfig's token at half that lifetime (at least every
// second), before the stack stops accepting it. None otherwise: the manager's default.
func eksManagerArgs(eks *localstack.EKSAuth) []string {
	if eks == nil || eks.TokenLifetime >= localstack.EKSTokenLifetime {
		return nil
	}
	return []string{"--eks-token-refresh-interval=" + max(eks.TokenLifetime/2, time.Second).String()}
}
