package manager

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/util/flags"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	bootstrapv1 "github.com/capt-dev/capt/api/bootstrap/v1beta1"
	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
)

// Scheme returns the kinds the manager reads and writes. Workspaces are read through a
// typed view over unstructured objects, so their API group can be chosen at run time.
func Scheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		clientgoscheme.AddToScheme,
		clusterv1.AddToScheme,
		infrav1.AddToScheme,
		bootstrapv1.AddToScheme,
		controlplanev1.AddToScheme,
	} {
		if err := add(s); err != nil {
			return nil, fmt.Errorf("building scheme: %w", err)
		}
	}
	return s, nil
}

// Leader election and the metrics endpoint's authentication and authorization.
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;create;update
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create

// New builds the manager from validated options. The caller sets up the controllers and
// starts it. Tweaks adjust the controller-runtime options last; benchmarks use them to
// count the client's writes.
func New(cfg *rest.Config, o *Options, tweaks ...func(*ctrl.Options)) (ctrl.Manager, error) {
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("invalid options: %w", err)
	}
	scheme, err := Scheme()
	if err != nil {
		return nil, err
	}
	tlsOpts, metricsOpts, err := flags.GetManagerOptions(o.Diagnostics)
	if err != nil {
		return nil, fmt.Errorf("diagnostics options: %w", err)
	}

	cfg = rest.CopyConfig(cfg)
	cfg.QPS = o.KubeAPIQPS
	cfg.Burst = o.KubeAPIBurst
	cfg.UserAgent = "capt-manager"

	cacheOpts := cache.Options{SyncPeriod: &o.SyncPeriod}
	if o.WatchNamespace != "" {
		cacheOpts.DefaultNamespaces = map[string]cache.Config{o.WatchNamespace: {}}
	}

	shutdown := o.GracefulShutdownTimeout
	mgrOpts := ctrl.Options{
		Scheme:                        scheme,
		Metrics:                       *metricsOpts,
		HealthProbeBindAddress:        o.HealthAddr,
		LeaderElection:                o.LeaderElect,
		LeaderElectionID:              o.LeaderElectionID,
		LeaderElectionNamespace:       o.LeaderElectionNamespace,
		LeaderElectionReleaseOnCancel: true,
		LeaseDuration:                 &o.LeaderElectLeaseDuration,
		RenewDeadline:                 &o.LeaderElectRenewDeadline,
		RetryPeriod:                   &o.LeaderElectRetryPeriod,
		Cache:                         cacheOpts,
		// Workspaces are read as unstructured objects; serve those reads from the
		// informers the watches start instead of the API server.
		Client:                  client.Options{Cache: &client.CacheOptions{Unstructured: true}},
		GracefulShutdownTimeout: &shutdown,
		// The priority queue (the default since controller-runtime v0.22) can leave a
		// worker blocked forever at shutdown in v0.24.1 (kubernetes-sigs/controller-runtime
		// #3538, fixed after that release), turning every stop into a wait for the whole
		// grace period. The plain rate-limited queue has no such race.
		Controller: config.Controller{UsePriorityQueue: ptr.To(false)},
		// No webhooks yet; the TLS options still apply to any server added later.
		WebhookServer: webhook.NewServer(webhook.Options{TLSOpts: tlsOpts}),
	}
	for _, tweak := range tweaks {
		tweak(&mgrOpts)
	}
	mgr, err := ctrl.NewManager(cfg, mgrOpts)
	if err != nil {
		return nil, fmt.Errorf("creating manager: %w", err)
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return nil, fmt.Errorf("adding health check: %w", err)
	}
	if err := mgr.AddReadyzCheck("ping", healthz.Ping); err != nil {
		return nil, fmt.Errorf("adding ready check: %w", err)
	}
	return mgr, nil
}
