// Package childapply is the owner's half of the contract every CAPT owner (the
// CAPTCluster's VPC, the CAPTControlPlane's control plane, the CAPTMachinePool's node
// group) has with its WorkspaceTemplateApply: Observe writes the apply as the owner wants
// it and reads back what the owner reports (the apply's Ready for its current
// generation, its Workspace, a failure told from a wait in the owner's words); Delete
// deletes it once, passes the owner's abandon annotation on, and says the deletion step
// the owner waits at; ToControllerOfApply maps the Workspace's events back to the owner.
// Each owner keeps only what is its own: its variables and how it reads its outputs.
package childapply

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	clusterctlv1 "sigs.k8s.io/cluster-api/cmd/clusterctl/api/v1alpha3"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
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
	// Adopt is the owner's spec.adopt: the apply takes over existing Terraform state.
	Adopt *infrav1.Adoption
}

// ensure creates or updates the owner's WorkspaceTemplateApply; it writes only when the
// spec, the labels or the owner reference differ. The apply carries the Cluster's name
// label and the owner's watch-filter label, so that a manager with --watch-filter sees
// it, and is created with its controller's finalizer and clusterctl's block-move
// annotation, which saves that controller a write. Creating it makes no event: the owner's conditions name it.
func ensure(ctx context.Context, c client.Client, reader client.Reader, owner client.Object, want Spec) (*infrav1.WorkspaceTemplateApply, error) {
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
		apply.Spec.Adopt = want.Adopt.DeepCopy()
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
