// Command capt is CAPT's single binary: `capt manager` runs the controllers, `capt dev`
// runs them with the whole stack on one machine.
package main

import (
	"errors"
	"fmt"
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
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	switch os.Args[1] {
	case "manager":
		os.Exit(runManager(os.Args[2:]))
	case "dev":
		os.Exit(runDev(os.Args[2:]))
	case "-h", "--help", "help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "capt: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
}

func runManager(args []string) int {
	opts := manager.NewOptions()
	fs := pflag.NewFlagSet("capt manager", pflag.ContinueOnError)
	opts.AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0
		}
		return 2
	}
	// client-go logs request and response bodies (Secrets included) at -v=8 and above,
	// through the logger of the request's context or klog's global logger: both drop them.
	logger, err := logging.Setup(opts.Logs)
	if err != nil {
		fmt.Fprintln(os.Stderr, "capt manager:", err)
		return 2
	}
	ctrl.SetLogger(logger)
	log := ctrl.Log.WithName("setup")

	cfg, err := ctrl.GetConfig()
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
