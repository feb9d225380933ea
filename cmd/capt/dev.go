package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/capt-dev/capt/internal/dev"
	"github.com/capt-dev/capt/internal/localstack"
)

// runDev is `capt dev`: the whole stack on this machine, and a Cluster created on it.
func runDev(args []string, stdout, stderr io.Writer) int {
	// Outside the checkout, the flags are still parsed (and --help answers) first.
	root, rootErr := localstack.RepoRoot()
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	o := dev.Options{Out: stdout}
	fs := pflag.NewFlagSet("capt dev", pflag.ContinueOnError)
	fs.StringVar(&o.DataDir, "data-dir", filepath.Join(cache, "capt", "dev"), "Directory for etcd's data, certificates, kubeconfigs, logs and Terraform working directories; emptied at start.")
	fs.IntVar(&o.APIServerPort, "apiserver-port", 0, "Port of the kube-apiserver on 127.0.0.1 (0 picks a free one).")
	fs.StringVar(&o.BinDir, "bin-dir", filepath.Join(root, "bin"), "Directory of the tool binaries (make dev builds them).")
	fs.StringVar(&o.Engine, "engine", "tofu", "Terraform engine provider-terraform runs: tofu (OpenTofu) or terraform (Terraform 1.5.7).")
	fs.DurationVar(&o.ProviderTerraformPoll, "provider-terraform-poll", time.Minute, "How often provider-terraform re-plans each Workspace.")
	fs.BoolVar(&o.Delete, "delete", false, "Delete the Cluster once it is Available, show the deletion order, then stop.")
	fs.BoolVar(&o.DeleteOnInterrupt, "delete-on-interrupt", false, "On Ctrl-C, delete the Cluster (showing the deletion order) before stopping.")
	fs.DurationVar(&o.Interval, "interval", 500*time.Millisecond, "How often the progress view looks at the objects.")
	eks := fs.Bool("eks", false, "EKS mode: kube-apiserver also authenticates EKS tokens (aws-iam-authenticator's verifier, a local stand-in for STS), the control plane template gives only EKS's outputs, and CAPT mints the kubeconfig's token with a test identity.")
	eksTokenLifetime := fs.Duration("eks-token-lifetime", localstack.EKSTokenLifetime, "With --eks: how long after signing the local EKS accepts a token (at most EKS's 15m).")
	fs.BoolVar(&o.AWS, "aws", false, "The clusterctl eks flavor, with the shipped templates/aws modules as this checkout has them, applied against the AWS provider stand-in (hashicorp/aws 6.25.0's schema; docs/aws.md): what CAPT will do on AWS. Implies --eks.")
	fs.StringVar(&o.AWSVersion, "aws-kubernetes-version", "v1.33.1", "With --aws: the Cluster's Kubernetes version (KUBERNETES_VERSION).")
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	if o.AWS {
		*eks = true
	}
	if *eks {
		if *eksTokenLifetime <= 0 || *eksTokenLifetime > localstack.EKSTokenLifetime {
			fmt.Fprintf(stderr, "capt dev: --eks-token-lifetime %s: want more than 0 and at most %s\n", *eksTokenLifetime, localstack.EKSTokenLifetime)
			return 2
		}
		o.EKS = &localstack.EKSOptions{TokenLifetime: *eksTokenLifetime}
	}
	if rootErr != nil {
		fmt.Fprintln(stderr, "capt dev: run it from the CAPT checkout:", rootErr)
		return 2
	}
	o.Root = root

	// The first interrupt ends the wait (and starts the deletion with
	// --delete-on-interrupt); the second abandons the deletion; the third exits at once.
	ctx, cancel := context.WithCancel(context.Background())
	interrupted := make(chan struct{})
	signals := make(chan os.Signal, 3)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-signals
		cancel()
		<-signals
		close(interrupted)
		<-signals
		os.Exit(130)
	}()

	t, err := dev.Run(ctx, o, interrupted)
	if err != nil {
		fmt.Fprintln(stderr, "capt dev:", err)
		return 1
	}
	fmt.Fprintf(stdout, "==> start-up %s, provisioning %s", t.StartUp.Round(100*time.Millisecond), t.Provisioning.Round(100*time.Millisecond))
	if t.Deletion > 0 {
		fmt.Fprintf(stdout, ", deletion %s", t.Deletion.Round(100*time.Millisecond))
	}
	fmt.Fprintln(stdout)
	return 0
}
