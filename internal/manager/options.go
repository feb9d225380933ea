// Package manager builds CAPT's controller-runtime manager from the flags Cluster API
// users expect of a provider.
package manager

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/component-base/featuregate"
	"k8s.io/component-base/logs"
	logsv1 "k8s.io/component-base/logs/api/v1"
	"sigs.k8s.io/cluster-api/util/flags"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/capt-dev/capt/internal/controller/controlplane"
	"github.com/capt-dev/capt/internal/controller/workspaceapply"
	"github.com/capt-dev/capt/internal/ekstoken"
	"github.com/capt-dev/capt/internal/requeue"
	"github.com/capt-dev/capt/internal/workspace"
)

// deprecatedInitIntervalFlag was CAPTEP-0016's initialization interval; nothing read it.
const deprecatedInitIntervalFlag = "initialization-requeue-interval"

// Options are the manager's settings, one per flag.
type Options struct {
	// Kubeconfig is the kubeconfig file of --kubeconfig; empty for controller-runtime's
	// order (see RESTConfig).
	Kubeconfig string
	HealthAddr string

	LeaderElect              bool
	LeaderElectionID         string
	LeaderElectionNamespace  string
	LeaderElectLeaseDuration time.Duration
	LeaderElectRenewDeadline time.Duration
	LeaderElectRetryPeriod   time.Duration
	WatchNamespace           string
	WatchFilterValue         string
	SyncPeriod               time.Duration
	KubeAPIQPS               float32
	KubeAPIBurst             int
	Concurrency              Concurrency
	Requeue                  requeue.Intervals
	Diagnostics              flags.ManagerOptions
	Logs                     *logsv1.LoggingConfiguration
	GracefulShutdownTimeout  time.Duration
	WorkspaceAPIGroup        string
	// DeletionStallTimeout is how long a Workspace's destroy may make no progress before
	// DeletionStalled turns true.
	DeletionStallTimeout time.Duration
	// EKSTokenRefreshInterval is how old an EKS token CAPT minted gets before it is
	// replaced; below ekstoken.Lifetime minus a minute, as clients stop using a token then.
	EKSTokenRefreshInterval time.Duration
	// Controllers is which provider this manager serves: ControllersAll,
	// ControllersInfrastructure or ControllersControlPlane.
	Controllers string
	// FeatureGates are --feature-gates: MachinePool.
	FeatureGates featuregate.MutableFeatureGate
}

// The provider roles one image can play: clusterctl installs the infrastructure and the
// control-plane provider separately, each with its own Deployment.
const (
	// ControllersAll runs every controller: capt dev, tests, a single Deployment.
	ControllersAll = "all"
	// ControllersInfrastructure runs CAPTCluster, CAPTMachinePool (unless the MachinePool
	// feature gate is off), WorkspaceTemplate and WorkspaceTemplateApply: the
	// infrastructure provider, which the control plane needs.
	ControllersInfrastructure = "infrastructure"
	// ControllersControlPlane runs CAPTControlPlane only.
	ControllersControlPlane = "controlplane"
)

// Concurrency is the number of reconciles each controller runs at once.
type Concurrency struct {
	CAPTCluster            int
	CAPTControlPlane       int
	CAPTMachinePool        int
	WorkspaceTemplateApply int
	WorkspaceTemplate      int
}

// NewOptions returns the defaults.
func NewOptions() *Options {
	return &Options{Logs: logs.NewOptions(), FeatureGates: newFeatureGates()}
}

// AddFlags registers every option on fs.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	logsv1.AddFlags(o.Logs, fs)
	flags.AddManagerOptions(fs, &o.Diagnostics)
	o.FeatureGates.AddFlag(fs)

	fs.StringVar(&o.Kubeconfig, "kubeconfig", "",
		"Path to the kubeconfig of the management cluster (its current context is used); it takes precedence over KUBECONFIG. "+
			"When empty: the KUBECONFIG environment variable, else the in-cluster configuration, else ~/.kube/config.")
	fs.StringVar(&o.HealthAddr, "health-addr", ":9440",
		"The address the health endpoints (/healthz, /readyz) bind to; 0 disables them.")
	fs.BoolVar(&o.LeaderElect, "leader-elect", false,
		"Enable leader election, so that only one manager of several replicas reconciles.")
	fs.StringVar(&o.LeaderElectionID, "leader-election-id", "capt-controller-manager",
		"The name of the Lease used for leader election.")
	fs.StringVar(&o.LeaderElectionNamespace, "leader-election-namespace", "",
		"The namespace of the leader election Lease; defaults to the manager's namespace.")
	fs.DurationVar(&o.LeaderElectLeaseDuration, "leader-elect-lease-duration", 15*time.Second,
		"How long non-leaders wait before they try to take over leadership.")
	fs.DurationVar(&o.LeaderElectRenewDeadline, "leader-elect-renew-deadline", 10*time.Second,
		"How long the leader keeps trying to renew its lease before it gives up.")
	fs.DurationVar(&o.LeaderElectRetryPeriod, "leader-elect-retry-period", 2*time.Second,
		"How long leader election clients wait between tries.")
	fs.StringVar(&o.WatchNamespace, "namespace", "",
		"The namespace to watch; all namespaces when empty.")
	fs.StringVar(&o.WatchFilterValue, "watch-filter", "",
		"Reconcile only objects whose cluster.x-k8s.io/watch-filter label has this value; all objects when empty.")
	fs.DurationVar(&o.SyncPeriod, "sync-period", 10*time.Minute,
		"How often every watched object is reconciled again, as a safety net behind the watches.")
	fs.Float32Var(&o.KubeAPIQPS, "kube-api-qps", 100,
		"Maximum queries per second from the manager to the Kubernetes API server.")
	fs.IntVar(&o.KubeAPIBurst, "kube-api-burst", 200,
		"Maximum burst of queries from the manager to the Kubernetes API server.")
	fs.IntVar(&o.Concurrency.CAPTCluster, "captcluster-concurrency", 10,
		"Number of CAPTClusters reconciled at once.")
	fs.IntVar(&o.Concurrency.CAPTControlPlane, "captcontrolplane-concurrency", 10,
		"Number of CAPTControlPlanes reconciled at once.")
	fs.IntVar(&o.Concurrency.CAPTMachinePool, "captmachinepool-concurrency", 10,
		"Number of CAPTMachinePools reconciled at once.")
	fs.IntVar(&o.Concurrency.WorkspaceTemplateApply, "workspacetemplateapply-concurrency", 10,
		"Number of WorkspaceTemplateApplies reconciled at once.")
	fs.IntVar(&o.Concurrency.WorkspaceTemplate, "workspacetemplate-concurrency", 2,
		"Number of WorkspaceTemplates reconciled at once.")
	fs.DurationVar(&o.Requeue.Default, "requeue-interval", requeue.DefaultInterval,
		"Requeue interval of a settled object, for the few waits no watch can end (CAPTEP-0016).")
	fs.DurationVar(&o.Requeue.Error, "error-requeue-interval", requeue.DefaultErrorInterval,
		"Requeue interval after an error that no watch event will end (CAPTEP-0016).")
	// Accepted so that existing Deployments keep starting, and ignored: every wait while a
	// cluster is created ends with a watch event, so nothing polls while initialising.
	fs.Duration(deprecatedInitIntervalFlag, 5*time.Second, "Ignored.")
	_ = fs.MarkDeprecated(deprecatedInitIntervalFlag,
		"it has no effect (every wait while a cluster is created ends with a watch event) and will be removed")
	fs.StringVar(&o.WorkspaceAPIGroup, "workspace-api-group", workspace.GroupTerraform,
		"The API group of the Workspaces CAPT creates: "+strings.Join(workspace.Groups, ", ")+
			" (the .m. groups are Crossplane v2's namespaced Workspaces).")
	fs.StringVar(&o.Controllers, "controllers", ControllersAll,
		"Which controllers to run: all, infrastructure (CAPTCluster, CAPTMachinePool, WorkspaceTemplate, WorkspaceTemplateApply) or controlplane (CAPTControlPlane; needs the infrastructure provider).")
	fs.DurationVar(&o.DeletionStallTimeout, "deletion-stall-timeout", workspaceapply.DefaultDeletionStallTimeout,
		"How long a Workspace's destroy may make no progress before its WorkspaceTemplateApply and owners report DeletionStalled (and one event). "+
			"Nothing is orphaned automatically: see the abandon-workspace annotation.")
	fs.DurationVar(&o.EKSTokenRefreshInterval, "eks-token-refresh-interval", controlplane.DefaultTokenRefreshInterval,
		"How old the EKS token in <cluster>-kubeconfig gets before CAPT replaces it (EKS accepts a token for 15 minutes, clients stop at 14): "+
			"at least 1s and below 14m. Refreshes are spread over the interval by cluster.")
	fs.DurationVar(&o.GracefulShutdownTimeout, "graceful-shutdown-timeout", 30*time.Second,
		"How long the manager waits for running reconciles on shutdown.")
}

// maxEKSTokenRefreshInterval: clients treat an EKS token as expired a minute before EKS does.
const maxEKSTokenRefreshInterval = ekstoken.Lifetime - time.Minute

// RESTConfig returns the configuration of the API server the manager talks to. A path
// (--kubeconfig) wins: exactly that file is loaded, with its current context, and a
// missing file is an error. Without one, controller-runtime's GetConfig order applies: the
// KUBECONFIG environment variable, else the in-cluster configuration, else ~/.kube/config.
func RESTConfig(path string) (*rest.Config, error) {
	if path == "" {
		return ctrl.GetConfig()
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: path}, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("--kubeconfig=%s: %w", path, err)
	}
	return cfg, nil
}

// Validate reports every invalid option at once.
func (o *Options) Validate() error {
	var errs []error
	for name, n := range map[string]int{
		"--captcluster-concurrency":            o.Concurrency.CAPTCluster,
		"--captcontrolplane-concurrency":       o.Concurrency.CAPTControlPlane,
		"--captmachinepool-concurrency":        o.Concurrency.CAPTMachinePool,
		"--workspacetemplateapply-concurrency": o.Concurrency.WorkspaceTemplateApply,
		"--workspacetemplate-concurrency":      o.Concurrency.WorkspaceTemplate,
	} {
		if n < 1 {
			errs = append(errs, fmt.Errorf("%s must be at least 1, got %d", name, n))
		}
	}
	if o.KubeAPIQPS <= 0 {
		errs = append(errs, fmt.Errorf("--kube-api-qps must be positive, got %v", o.KubeAPIQPS))
	}
	if o.KubeAPIBurst < 1 {
		errs = append(errs, fmt.Errorf("--kube-api-burst must be at least 1, got %d", o.KubeAPIBurst))
	}
	if o.DeletionStallTimeout < time.Second {
		errs = append(errs, fmt.Errorf("--deletion-stall-timeout must be at least 1s, got %s", o.DeletionStallTimeout))
	}
	if o.EKSTokenRefreshInterval < time.Second || o.EKSTokenRefreshInterval >= maxEKSTokenRefreshInterval {
		errs = append(errs, fmt.Errorf("--eks-token-refresh-interval must be at least 1s and below %s (a token is used for 14 minutes), got %s",
			maxEKSTokenRefreshInterval, o.EKSTokenRefreshInterval))
	}
	if o.SyncPeriod < time.Minute {
		errs = append(errs, fmt.Errorf("--sync-period must be at least 1m, got %s", o.SyncPeriod))
	}
	ordered := o.LeaderElectLeaseDuration > o.LeaderElectRenewDeadline &&
		o.LeaderElectRenewDeadline > o.LeaderElectRetryPeriod && o.LeaderElectRetryPeriod > 0
	if o.LeaderElect && !ordered {
		errs = append(errs, errors.New("leader election needs lease duration > renew deadline > retry period > 0"))
	}
	if _, err := workspace.NewAPI(o.WorkspaceAPIGroup); err != nil {
		errs = append(errs, fmt.Errorf("--workspace-api-group: %w", err))
	}
	switch o.Controllers {
	case ControllersAll, ControllersInfrastructure, ControllersControlPlane:
	default:
		errs = append(errs, fmt.Errorf("--controllers must be all, infrastructure or controlplane, got %q", o.Controllers))
	}
	if err := o.Requeue.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
