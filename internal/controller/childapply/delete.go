package childapply

import (
	"context"
	"fmt"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	"sigs.k8s.io/cluster-api/util/conditions"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/lifecycle"
	"github.com/capt-dev/capt/internal/controller/observed"
)

// Deletion is what an owner being deleted asks of one of its applies.
type Deletion struct {
	// Name of the apply, in the owner's namespace.
	Name string
	// Retain, when set, is put on the apply's retainWorkspaceOnDelete before the apply
	// is deleted: retention must be in force when the apply's controller sees the
	// deletion. Nil leaves the apply as it is.
	Retain *bool
	// Wait is the owner's own reason and message while it waits for the apply to go.
	Wait observed.Step
}

// Delete is the owner's half of its apply's deletion, the one place every owner deletes
// an apply: it deletes the apply once (DeleteUnchanged: a pass from a cache that has not
// seen its own deletion gets a conflict, not a second delete), passes the owner's
// abandon annotation to an apply being deleted, and returns the step the owner waits at
// (deletionStep). gone says there is nothing of the owner's left to wait for: the apply
// does not exist, or another object controls it. The apply keeps its finalizer until its
// Workspace is destroyed; its deletion and Ready events wake the owner. The step is
// recorded in pass before each action, so that a failure shows on the owner's Deleting
// condition with the step's reason.
func Delete(ctx context.Context, c client.Client, owner client.Object, d Deletion, pass *observed.Pass) (gone bool, err error) {
	pass.Deleting(d.Wait.Reason, d.Wait.Message)
	apply := &infrav1.WorkspaceTemplateApply{}
	err = c.Get(ctx, client.ObjectKey{Namespace: owner.GetNamespace(), Name: d.Name}, apply)
	switch {
	case apierrors.IsNotFound(err):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("getting WorkspaceTemplateApply %s: %w", d.Name, err)
	case !metav1.IsControlledBy(apply, owner):
		return true, nil
	}
	if d.Retain != nil && apply.Spec.RetainWorkspaceOnDelete != *d.Retain {
		base := apply.DeepCopy()
		apply.Spec.RetainWorkspaceOnDelete = *d.Retain
		if err := c.Patch(ctx, apply, client.MergeFrom(base)); err != nil {
			return false, fmt.Errorf("setting retention on WorkspaceTemplateApply %s: %w", apply.Name, err)
		}
	}
	step := deletionStep(apply, d.Wait.Reason, d.Wait.Message)
	pass.Deletion = &step
	if !apply.DeletionTimestamp.IsZero() {
		return false, passAbandon(ctx, c, owner, apply)
	}
	deleted, err := lifecycle.DeleteUnchanged(ctx, c, apply)
	if err != nil {
		return false, fmt.Errorf("deleting WorkspaceTemplateApply %s: %w", apply.Name, err)
	}
	if deleted {
		// No event: the owner's Deleting condition names the step and the apply.
		ctrl.LoggerFrom(ctx).Info("Deleting WorkspaceTemplateApply", "WorkspaceTemplateApply", klog.KObj(apply),
			"retainWorkspace", apply.Spec.RetainWorkspaceOnDelete)
	}
	return false, nil
}

// surfacedDeletionReasons are the Deleting reasons of an apply that its owner carries as
// the apply says them: what a person has to read on the owner (the Cluster's tree in
// clusterctl describe), not only on the apply.
var surfacedDeletionReasons = []string{
	infrav1.WorkspaceDestroyFailedReason, infrav1.AbandonIgnoredReason, infrav1.WorkspaceAbandonedReason,
}

// deletionStep is what an owner waiting for apply's deletion says: its own reason and
// message, with since when the apply is being deleted, unless the apply reports its
// Workspace's destroy failing or being abandoned, which the owner says with the apply's
// reason and message. A stalled apply stalls the owner, with the apply's message.
func deletionStep(apply *infrav1.WorkspaceTemplateApply, reason, message string) observed.Step {
	step := observed.Step{Reason: reason, Message: message}
	if apply.DeletionTimestamp != nil {
		step.Message += " (deleting since " + apply.DeletionTimestamp.UTC().Format(time.RFC3339) + ")"
	}
	if d := conditions.Get(apply, infrav1.DeletingCondition); d != nil && d.Status == metav1.ConditionTrue && slices.Contains(surfacedDeletionReasons, d.Reason) {
		step.Reason, step.Message = d.Reason, fmt.Sprintf("WorkspaceTemplateApply %s: %s", apply.Name, d.Message)
	}
	if c := conditions.Get(apply, infrav1.DeletionStalledCondition); c != nil && c.Status == metav1.ConditionTrue {
		step.Stalled = fmt.Sprintf("WorkspaceTemplateApply %s: %s", apply.Name, c.Message)
	}
	return step
}

// passAbandon copies the owner's AbandonWorkspaceAnnotation onto its apply being deleted,
// so that a person may annotate the object they read (the CAPTControlPlane or
// CAPTCluster on the Cluster's tree) rather than its WorkspaceTemplateApply. The apply's
// controller checks the value against its Workspace's UID, as for its own annotation;
// this writes only when the values differ.
func passAbandon(ctx context.Context, c client.Client, owner client.Object, apply *infrav1.WorkspaceTemplateApply) error {
	uid, ok := owner.GetAnnotations()[infrav1.AbandonWorkspaceAnnotation]
	if !ok || apply.Annotations[infrav1.AbandonWorkspaceAnnotation] == uid {
		return nil
	}
	base := apply.DeepCopy()
	if apply.Annotations == nil {
		apply.Annotations = map[string]string{}
	}
	apply.Annotations[infrav1.AbandonWorkspaceAnnotation] = uid
	if err := c.Patch(ctx, apply, client.MergeFrom(base)); err != nil {
		return fmt.Errorf("passing annotation %s to WorkspaceTemplateApply %s: %w", infrav1.AbandonWorkspaceAnnotation, apply.Name, err)
	}
	return nil
}
