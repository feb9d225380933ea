package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/capt-dev/capt/internal/devnode"
)

const devNodeUsage = `Usage:
  capt dev-node apply --name N --provider-id P [--labels JSON] [--taints JSON] [flags]
  capt dev-node delete --name N [flags]

Registers or removes a fake worker Node of the local stack (KWOK makes it Ready), for
the local node group module of templates/local. --labels is a JSON object of strings;
--taints a JSON list of {"key","value","effect"} with EKS's effects (NO_SCHEDULE,
NO_EXECUTE, PREFER_NO_SCHEDULE). Each flag defaults to an environment variable
(CAPT_DEV_NODE_NAME, _PROVIDER_ID, _LABELS, _TAINTS). It connects with --kubeconfig,
else $KUBECONFIG.
`

// runDevNode is `capt dev-node apply|delete`.
func runDevNode(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, devNodeUsage)
		return 2
	}
	action := args[0]
	switch action {
	case "apply", "delete":
	case "-h", "--help", "help":
		fmt.Fprint(stdout, devNodeUsage)
		return 0
	default:
		fmt.Fprintf(stderr, "capt dev-node: unknown action %q\n\n%s", action, devNodeUsage)
		return 2
	}
	var n devnode.Node
	var labels, taints, kubeconfig string
	var timeout time.Duration
	fs := pflag.NewFlagSet("capt dev-node "+action, pflag.ContinueOnError)
	// Each flag defaults to an environment variable: a local-exec provisioner passes its
	// values in `environment`, which needs no shell quoting, and no $ that clusterctl's
	// variable substitution would take for its own (the local flavor).
	fs.StringVar(&n.Name, "name", os.Getenv("CAPT_DEV_NODE_NAME"), "Name of the Node ($CAPT_DEV_NODE_NAME).")
	if action == "apply" {
		fs.StringVar(&n.ProviderID, "provider-id", os.Getenv("CAPT_DEV_NODE_PROVIDER_ID"), "spec.providerID of the Node, such as aws:///zz-local-1a/i-0123456789abcdef0 ($CAPT_DEV_NODE_PROVIDER_ID).")
		fs.StringVar(&labels, "labels", os.Getenv("CAPT_DEV_NODE_LABELS"), `Labels of the Node, a JSON object of strings: {"eks.amazonaws.com/nodegroup":"local-workers"} ($CAPT_DEV_NODE_LABELS).`)
		fs.StringVar(&taints, "taints", os.Getenv("CAPT_DEV_NODE_TAINTS"), `Taints of the Node, a JSON list: [{"key":"dedicated","value":"gpu","effect":"NO_SCHEDULE"}] ($CAPT_DEV_NODE_TAINTS).`)
	}
	fs.StringVar(&kubeconfig, "kubeconfig", "", "Kubeconfig of the local stack's API server; default $KUBECONFIG (there is no other default: never ~/.kube/config).")
	fs.DurationVar(&timeout, "timeout", time.Minute, "How long the API requests may take in all.")
	if code, ok := parseFlags(fs, args[1:], stdout, stderr); !ok {
		return code
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "%s: %v\n", fs.Name(), err)
		return 1
	}
	if action == "apply" {
		var err error
		if n.Labels, err = devnode.ParseLabels(labels); err != nil {
			return fail(err)
		}
		if n.Taints, err = devnode.ParseTaints(taints); err != nil {
			return fail(err)
		}
		if err := n.Validate(); err != nil {
			return fail(err)
		}
	} else if n.Name == "" {
		return fail(errors.New("--name is required"))
	}
	cs, err := devNodeClient(kubeconfig)
	if err != nil {
		return fail(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if action == "apply" {
		created, err := devnode.Apply(ctx, cs, n)
		if err != nil {
			return fail(err)
		}
		verb := "updated"
		if created {
			verb = "created"
		}
		fmt.Fprintf(stdout, "node/%s %s (%s)\n", n.Name, verb, n.ProviderID)
		return 0
	}
	deleted, err := devnode.Delete(ctx, cs, n.Name)
	if err != nil {
		return fail(err)
	}
	if deleted {
		fmt.Fprintf(stdout, "node/%s deleted\n", n.Name)
	} else {
		fmt.Fprintf(stdout, "node/%s already gone\n", n.Name)
	}
	return 0
}

// devNodeClient connects with the kubeconfig file given, else $KUBECONFIG. Unlike
// `capt manager` it never falls back to ~/.kube/config or the in-cluster configuration:
// a module run against the wrong cluster must not register fake Nodes there.
func devNodeClient(kubeconfig string) (kubernetes.Interface, error) {
	if kubeconfig == "" {
		kubeconfig = os.Getenv("KUBECONFIG")
	}
	if kubeconfig == "" {
		return nil, errors.New("no kubeconfig: give --kubeconfig or set KUBECONFIG")
	}
	// KUBECONFIG may be a list, as kubectl reads it. At least one file must exist: with
	// none, client-go would use the in-cluster configuration, silently.
	paths := filepath.SplitList(kubeconfig)
	if !slices.ContainsFunc(paths, func(p string) bool { _, err := os.Stat(p); return err == nil }) {
		return nil, fmt.Errorf("kubeconfig %s: no such file", kubeconfig)
	}
	rules := &clientcmd.ClientConfigLoadingRules{Precedence: paths}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, nil).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("loading kubeconfig %s: %w", kubeconfig, err)
	}
	cfg.UserAgent = "capt-dev-node"
	return kubernetes.NewForConfig(cfg)
}
