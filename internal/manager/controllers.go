package manager

import (
	"context"
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/controller"

	"github.com/capt-dev/capt/internal/controller/captcluster"
	"github.com/capt-dev/capt/internal/controller/controlplane"
	"github.com/capt-dev/capt/internal/controller/workspaceapply"
	"github.com/capt-dev/capt/internal/controller/workspacetemplate"
	"github.com/capt-dev/capt/internal/workspace"
)

// SetupControllers registers the controllers --controllers selects.
func SetupControllers(ctx context.Context, mgr ctrl.Manager, o *Options) error {
	api, err := workspace.NewAPI(o.WorkspaceAPIGroup)
	if err != nil {
		return err
	}
	infrastructure, controlPlane := o.providers()
	if infrastructure {
		if err := setupInfrastructure(ctx, mgr, o, api); err != nil {
			return err
		}
	}
	if controlPlane {
		if err := (&controlplane.Reconciler{
			Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: mgr.GetEventRecorder("captcontrolplane-controller"),
			API: api, Intervals: o.Requeue, WatchFilterValue: o.WatchFilterValue,
		}).SetupWithManager(ctx, mgr, controller.Options{MaxConcurrentReconciles: o.Concurrency.CAPTControlPlane}); err != nil {
			return fmt.Errorf("setting up CAPTControlPlane controller: %w", err)
		}
	}
	return nil
}

// setupInfrastructure registers the infrastructure provider's controllers.
func setupInfrastructure(ctx context.Context, mgr ctrl.Manager, o *Options, api workspace.API) error {
	if err := (&workspacetemplate.Reconciler{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), API: api, WatchFilterValue: o.WatchFilterValue,
	}).SetupWithManager(mgr, controller.Options{MaxConcurrentReconciles: o.Concurrency.WorkspaceTemplate}); err != nil {
		return fmt.Errorf("setting up WorkspaceTemplate controller: %w", err)
	}
	if err := (&workspaceapply.Reconciler{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), API: api, WatchFilterValue: o.WatchFilterValue,
		Recorder: mgr.GetEventRecorder("workspacetemplateapply-controller"), DeletionStallTimeout: o.DeletionStallTimeout,
	}).SetupWithManager(ctx, mgr, controller.Options{MaxConcurrentReconciles: o.Concurrency.WorkspaceTemplateApply}); err != nil {
		return fmt.Errorf("setting up WorkspaceTemplateApply controller: %w", err)
	}
	if err := (&captcluster.Reconciler{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: mgr.GetEventRecorder("captcluster-controller"),
		API: api, Intervals: o.Requeue, WatchFilterValue: o.WatchFilterValue,
	}).SetupWithManager(ctx, mgr, controller.Options{MaxConcurrentReconciles: o.Concurrency.CAPTCluster}); err != nil {
		return fmt.Errorf("setting up CAPTCluster controller: %w", err)
	}
	return nil
}

// providers says which providers' controllers --controllers selects.
func (o *Options) providers() (infrastructure, controlPlane bool) {
	return o.Controllers != ControllersControlPlane, o.Controllers != ControllersInfrastructure
}
