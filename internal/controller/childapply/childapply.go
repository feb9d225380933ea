// Package childapply is the one home of the WorkspaceTemplateApply a CAPT object owns
// (the CAPTCluster's VPC, the CAPTControlPlane's control plane): creating and updating
// it with the labels and owner reference every child carries, announcing its creation,
// reading its Ready condition for its current generation, telling its failures from its
// waits, reading its Workspace, and mapping the Workspace's events back to the owner.
package childapply

import (
	"context"
	"fmt"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	clusterctlv1 "sigs.k8s.io/cluster-api/cmd/clusterctl/api/v1alpha3"
	"sigs.k8s.io/cluster-api/util/conditions"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/observed"
)

// Spec is what an owner wants its WorkspaceTemplateApply to be.
type Spec struct {
	// Name of the apply, in the owner's namespace.
	Name string
	// ClusterName is the Cluster the owner belongs to: the apply's cluster-name label.
	ClusterName string
	// TemplateRef names the WorkspaceTemplate; its namespace is set.
	TemplateRef infrav1.WorkspaceTemplateReference
	// Variables are the template's inputs.
	Variables map[string]string
	// ConnectionSecret is where the Workspace writes its outputs, or nil.
	ConnectionSecret *infrav1.SecretReference
	// Retain keeps the Workspace when the apply is deleted.
	Retain bool
}

// Ensure creates or updates the owner's WorkspaceTemplateApply; it writes only when the
// spec, the labels or the owner reference differ. The apply carries the Cluster's name
// label and the owner's watch-filter label, so that a manager with --watch-filter sees
// it, and is created with its controller's finalizer and clusterctl's block-move
// annotation, which saves that controller a write. Creating it makes no event: the owner's conditions name it.
func Ensure(ctx context.Context, c client.Client, reader client.Reader, owner client.Object, want Spec) (*infrav1.WorkspaceTemplateApply, error) {
	apply := &infrav1.WorkspaceTemplateApply{ObjectMeta: metav1.ObjectMeta{Namespace: owner.GetNamespace(), Name: want.Name}}
	mutate := func() error {
		if apply.CreationTimestamp.IsZero() {
			controllerutil.AddFinalizer(apply, infrav1.WorkspaceTemplateApplyFinalizer)
			// clusterctl move waits while it is there: the apply's controller removes it
			// once it has paused the Workspace (workspaceapply/move.go).
			apply.Annotations = map[string]string{clusterctlv1.BlockMoveAnnotation: ""}
		}
		if apply.Labels == nil {
			apply.Labels = map[string]string{}
		}
		apply.Labels[clusterv1.ClusterNameLabel] = want.ClusterName
		if v, ok := owner.GetLabels()[clusterv1.WatchLabel]; ok {
			apply.Labels[clusterv1.WatchLabel] = v
		}
		apply.Spec.TemplateRef = want.TemplateRef
		apply.Spec.Variables = want.Variables
		apply.Spec.WriteConnectionSecretToRef = want.ConnectionSecret
		apply.Spec.RetainWorkspaceOnDelete = want.Retain
		return controllerutil.SetControllerReference(owner, apply, c.Scheme())
	}
	_, err := controllerutil.CreateOrPatch(ctx, c, apply, mutate)
	if apierrors.IsAlreadyExists(err) {
		// The cache has not seen the apply this owner created moments ago: compare with
		// the API server's copy instead of failing the pass.
		err = patchLive(ctx, c, reader, apply, mutate)
	}
	if err != nil {
		return nil, fmt.Errorf("writing WorkspaceTemplateApply %s: %w", apply.Name, err)
	}
	return apply, nil
}

// patchLive reads apply from the API server and patches it when mutate changes it.
func patchLive(ctx context.Context, c client.Client, reader client.Reader, apply *infrav1.WorkspaceTemplateApply, mutate func() error) error {
	fresh := &infrav1.WorkspaceTemplateApply{}
	if err := reader.Get(ctx, client.ObjectKeyFromObject(apply), fresh); err != nil {
		return err
	}
	*apply = *fresh
	base := apply.DeepCopy()
	if err := mutate(); err != nil {
		return err
	}
	if equality.Semantic.DeepEqual(base, apply) {
		return nil
	}
	return c.Patch(ctx, apply, client.MergeFrom(base))
}

// TemplateRef is ref with its namespace defaulted to the owner's.
func TemplateRef(ref infrav1.WorkspaceTemplateReference, ownerNamespace string) infrav1.WorkspaceTemplateReference {
	if ref.Namespace == "" {
		ref.Namespace = ownerNamespace
	}
	return ref
}

// Ready is the apply's Ready condition when it reports on its current generation; nil
// when it has not yet (a change it has not seen, or a new apply).
func Ready(apply *infrav1.WorkspaceTemplateApply) *metav1.Condition {
	c := conditions.Get(apply, infrav1.ReadyCondition)
	if c == nil || c.ObservedGeneration != apply.Generation {
		return nil
	}
	return c
}

// WaitMessage is what an owner says while its apply has not reported on its current spec,
// or reports not Ready without a failure: one message for the whole wait, whatever step
// the apply is at (its own conditions name the step), so that the owner's status changes
// once when the wait begins and once when it ends, not at each step of the apply. The
// one wait that only a person ends, a moved apply's wait for shared Terraform state, is
// said with the apply's own message, so that it shows up to the Cluster.
func WaitMessage(apply *infrav1.WorkspaceTemplateApply) string {
	if c := Ready(apply); c != nil && c.Reason == infrav1.WaitingForSharedStateReason {
		return fmt.Sprintf("WorkspaceTemplateApply %s: %s", apply.Name, c.Message)
	}
	return fmt.Sprintf("Waiting for WorkspaceTemplateApply %s to apply its Workspace", apply.Name)
}

// IsFailure says a Ready=False reason of an apply is a failure, not a wait.
func IsFailure(reason string) bool {
	return slices.Contains(infrav1.WorkspaceTemplateApplyFailureReasons, reason)
}

// surfacedDeletionReasons are the Deleting reasons of an apply that its owner carries as
// the apply says them: what a person has to read on the owner (the Cluster's tree in
// clusterctl describe), not only on the apply.
var surfacedDeletionReasons = []string{
	infrav1.WorkspaceDestroyFailedReason, infrav1.AbandonIgnoredReason, infrav1.WorkspaceAbandonedReason,
}

// DeletionStep is what an owner waiting for apply's deletion says: its own reason and
// message, with since when the apply is being deleted, unless the apply reports its
// Workspace's destroy failing or being abandoned, which the owner says with the apply's
// reason and message. A stalled apply stalls the owner, with the apply's message.
func DeletionStep(apply *infrav1.WorkspaceTemplateApply, reason, message string) observed.Step {
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

// PassAbandon copies the owner's AbandonWorkspaceAnnotation onto its apply being deleted,
// so that a person may annotate the object they read (the CAPTControlPlane or
// CAPTCluster on the Cluster's tree) rather than its WorkspaceTemplateApply. The apply's
// controller checks the value against its Workspace's UID, as for its own annotation;
// this writes only when the values differ.
func PassAbandon(ctx context.Context, c client.Client, owner client.Object, apply *infrav1.WorkspaceTemplateApply) error {
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
