// Command capt is CAPT's single binary: `capt manager` runs the controllers, `capt dev`
// runs them with the whole stack on one machine, `capt dev-node` registers that stack's
// fake worker Nodes for the local node group module.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/pflag"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/capt-dev/capt/internal/logging"
	"github.com/capt-dev/capt/internal/manager"
)

const usage = `capt: a Cluster API provider that creates clusters with Terraform (provider-terraform Workspaces).

Usage:
  capt manager [flags]   run the controllers (capt manager --help lists the flags)
  capt dev [flags]       run the whole stack on this machine and create a Cluster on it
                         (make dev builds the tools first; capt dev --help lists the flags)
  capt dev-node apply|delete [flags]
                         register or remove a fake worker Node of the local stack, for the
                         local node group module (templates/local; capt dev-node --help)
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is capt with its arguments (the command's name excluded); it returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "manager":
		return runManager(args[1:], stdout, stderr)
	case "dev":
		return runDev(args[1:], stdout, stderr)
	case "dev-node":
		return runDevNode(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "capt: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}

// runManager is `capt manager`: the controllers, until a signal stops them.
func runManager(args []string, stdout, stderr io.Writer) int {
	opts := manager.NewOptions()
	fs := pflag.NewFlagSet("capt manager", pflag.ContinueOnError)
	opts.AddFlags(fs)
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	// client-go logs request and response bodies (Secrets included) at -v=8 and above,
	// through the logger of the request's context or klog's global logger: both drop them.
	logger, err := logging.Setup(opts.Logs)
	if err != nil {
		fmt.Fprintln(stderr, "capt manager:", err)
		return 2
	}
	ctrl.SetLogger(logger)
	log := ctrl.Log.WithName("setup")

	cfg, err := manager.RESTConfig(opts.Kubeconfig)
	if err != nil {
		log.Error(err, "Unable to load the kubeconfig")
		return 1
	}
	mgr, err := manager.New(cfg, opts)
	if err != nil {
		log.Error(err, "Unable to create the manager")
		return 1
	}
	ctx := ctrl.SetupSignalHandler()
	if err := manager.SetupControllers(ctx, mgr, opts); err != nil {
		log.Error(err, "Unable to set up the controllers")
		return 1
	}
	log.Info("Starting manager", "workspaceAPIGroup", opts.WorkspaceAPIGroup)
	if err := mgr.Start(ctx); err != nil {
		log.Error(err, "Manager stopped with an error")
		return 1
	}
	return 0
}
