package manager

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/controller"

	"github.com/capt-dev/capt/internal/controller/captcluster"
	"github.com/capt-dev/capt/internal/controller/controlplane"
	"github.com/capt-dev/capt/internal/controller/machinepool"
	"github.com/capt-dev/capt/internal/controller/nodegroupbootstrap"
	"github.com/capt-dev/capt/internal/controller/workspaceapply"
	"github.com/capt-dev/capt/internal/controller/workspacetemplate"
	"github.com/capt-dev/capt/internal/crdgate"
	"github.com/capt-dev/capt/internal/workspace"
)

// SetupControllers registers the controllers --controllers selects, each through the CRD
// gate: at once when the API server serves the kinds it watches, else once it does, so
// that a missing CRD (Cluster API without machine pools, provider-terraform installed
// later) stops only the controllers that watch its kind, never the manager. Readiness
// names the missing kinds meanwhile.
func SetupControllers(ctx context.Context, mgr ctrl.Manager, o *Options) error {
	api, err := workspace.NewAPI(o.WorkspaceAPIGroup)
	if err != nil {
		return err
	}
	gate := crdgate.New(mgr)
	infrastructure, controlPlane := o.providers()
	if infrastructure {
		if err := setupInfrastructure(ctx, mgr, gate, o, api); err != nil {
			return err
		}
	}
	if controlPlane {
		creds, region := defaultAWS(ctx)
		r := &controlplane.Reconciler{
			DefaultCredentials: creds, DefaultRegion: region,
			Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: mgr.GetEventRecorder("captcontrolplane-controller"),
			API: api, Intervals: o.Requeue, WatchFilterValue: o.WatchFilterValue,
			TokenRefreshInterval: o.EKSTokenRefreshInterval,
		}
		if err := gate.Add(ctx, crdgate.Controller{Name: "captcontrolplane", Kinds: r.WatchedKinds(), Setup: func(ctx context.Context) error {
			if err := r.SetupWithManager(ctx, mgr, controller.Options{MaxConcurrentReconciles: o.Concurrency.CAPTControlPlane}); err != nil {
				return fmt.Errorf("setting up CAPTControlPlane controller: %w", err)
			}
			return nil
		}}); err != nil {
			return err
		}
	}
	if err := mgr.Add(gate); err != nil {
		return fmt.Errorf("adding the CRD gate: %w", err)
	}
	return nil
}

// defaultAWS is the AWS SDK's default credential chain (environment, shared config, web
// identity for IRSA, container credentials for EKS Pod Identity, IMDS), cached and
// refreshed by the SDK, and its region. Nothing is fetched until a token is minted. An
// AWS configuration that does not load leaves the manager without default credentials:
// clusters that need them say so on TokenReady, the others are not affected.
func defaultAWS(ctx context.Context) (aws.CredentialsProvider, string) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Loading the AWS default configuration: EKS tokens need spec.identityRef")
		return nil, ""
	}
	return cfg.Credentials, cfg.Region
}

// setupInfrastructure registers the infrastructure provider's controllers.
func setupInfrastructure(ctx context.Context, mgr ctrl.Manager, gate *crdgate.Gate, o *Options, api workspace.API) error {
	templates := &workspacetemplate.Reconciler{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), API: api, WatchFilterValue: o.WatchFilterValue,
	}
	if err := gate.Add(ctx, crdgate.Controller{Name: "workspacetemplate", Kinds: templates.WatchedKinds(), Setup: func(context.Context) error {
		if err := templates.SetupWithManager(mgr, controller.Options{MaxConcurrentReconciles: o.Concurrency.WorkspaceTemplate}); err != nil {
			return fmt.Errorf("setting up WorkspaceTemplate controller: %w", err)
		}
		return nil
	}}); err != nil {
		return err
	}
	applies := &workspaceapply.Reconciler{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), API: api, WatchFilterValue: o.WatchFilterValue,
		Recorder: mgr.GetEventRecorder("workspacetemplateapply-controller"), DeletionStallTimeout: o.DeletionStallTimeout,
		WatchNamespace: o.WatchNamespace,
	}
	if err := gate.Add(ctx, crdgate.Controller{Name: "workspacetemplateapply", Kinds: applies.WatchedKinds(), Setup: func(ctx context.Context) error {
		if err := applies.SetupWithManager(ctx, mgr, controller.Options{MaxConcurrentReconciles: o.Concurrency.WorkspaceTemplateApply}); err != nil {
			return fmt.Errorf("setting up WorkspaceTemplateApply controller: %w", err)
		}
		return nil
	}}); err != nil {
		return err
	}
	if err := setupMachinePools(ctx, mgr, gate, o, api); err != nil {
		return err
	}
	clusters := &captcluster.Reconciler{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: mgr.GetEventRecorder("captcluster-controller"),
		API: api, Intervals: o.Requeue, WatchFilterValue: o.WatchFilterValue,
	}
	return gate.Add(ctx, crdgate.Controller{Name: "captcluster", Kinds: clusters.WatchedKinds(), Setup: func(ctx context.Context) error {
		if err := clusters.SetupWithManager(ctx, mgr, controller.Options{MaxConcurrentReconciles: o.Concurrency.CAPTCluster}); err != nil {
			return fmt.Errorf("setting up CAPTCluster controller: %w", err)
		}
		return nil
	}})
}

// setupMachinePools registers the CAPTMachinePool controller and the ClusterCache it
// reads the workload clusters' Nodes through, and the CAPTNodeGroupBootstrap controller
// (the pools' bootstrap config), unless the MachinePool feature gate is off.
func setupMachinePools(ctx context.Context, mgr ctrl.Manager, gate *crdgate.Gate, o *Options, api workspace.API) error {
	if !o.FeatureGates.Enabled(MachinePool) {
		mgr.GetLogger().Info("The MachinePool feature gate is off: CAPTMachinePools are not reconciled")
		return nil
	}
	bootstraps := &nodegroupbootstrap.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), WatchFilterValue: o.WatchFilterValue}
	if err := gate.Add(ctx, crdgate.Controller{Name: "captnodegroupbootstrap", Kinds: bootstraps.WatchedKinds(), Setup: func(ctx context.Context) error {
		if err := bootstraps.SetupWithManager(ctx, mgr, controller.Options{MaxConcurrentReconciles: o.Concurrency.CAPTMachinePool}); err != nil {
			return fmt.Errorf("setting up CAPTNodeGroupBootstrap controller: %w", err)
		}
		return nil
	}}); err != nil {
		return err
	}
	pools := &machinepool.Reconciler{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: mgr.GetEventRecorder("captmachinepool-controller"),
		API: api, WatchFilterValue: o.WatchFilterValue,
	}
	options := controller.Options{MaxConcurrentReconciles: o.Concurrency.CAPTMachinePool}
	return gate.Add(ctx, crdgate.Controller{Name: "captmachinepool", Kinds: pools.WatchedKinds(), Setup: func(ctx context.Context) error {
		cc, err := machinepool.NewClusterCache(ctx, mgr, o.WatchFilterValue, options)
		if err != nil {
			return err
		}
		pools.ClusterCache = cc
		if err := pools.SetupWithManager(ctx, mgr, options); err != nil {
			return fmt.Errorf("setting up CAPTMachinePool controller: %w", err)
		}
		return nil
	}})
}

// providers says which providers' controllers --controllers selects.
func (o *Options) providers() (infrastructure, controlPlane bool) {
	return o.Controllers != ControllersControlPlane, o.Controllers != ControllersInfrastructure
}
