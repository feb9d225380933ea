package workspaceapply

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/workspace"
)

// getWorkspace reads the apply's Workspace from the cache; nil when it does not exist.
func (r *Reconciler) getWorkspace(ctx context.Context, apply *infrav1.WorkspaceTemplateApply, name string) (*workspace.Workspace, error) {
	return r.readWorkspace(ctx, r.Client, apply, name)
}

// getWorkspaceLive reads the apply's Workspace from the API server; nil when it does not
// exist.
func (r *Reconciler) getWorkspaceLive(ctx context.Context, apply *infrav1.WorkspaceTemplateApply, name string) (*workspace.Workspace, error) {
	return r.readWorkspace(ctx, r.APIReader, apply, name)
}

func (r *Reconciler) readWorkspace(ctx context.Context, reader client.Reader, apply *infrav1.WorkspaceTemplateApply, name string) (*workspace.Workspace, error) {
	u := r.API.NewObject()
	key := client.ObjectKey{Name: name}
	if r.API.Namespaced() {
		key.Namespace = apply.Namespace
	}
	if err := reader.Get(ctx, key, u); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("getting Workspace %s: %w", name, err)
	}
	return workspace.FromUnstructured(u)
}

// ownedBy reports whether w was created for apply: its owner annotation names it.
// Retained Workspaces keep the annotation, so a re-created apply adopts them again.
func ownedBy(w *workspace.Workspace, apply *infrav1.WorkspaceTemplateApply) bool {
	return w.Annotations[infrav1.WorkspaceTemplateApplyAnnotation] == apply.Namespace+"/"+apply.Name
}

// syncWorkspace creates or updates the Workspace when it differs from desired, by
// server-side apply, and returns what the API server stored; nil when nothing was
// written. A Workspace is updated when the spec CAPT last applied (its hash) changed, or
// when someone changed a field CAPT sets.
func (r *Reconciler) syncWorkspace(ctx context.Context, apply *infrav1.WorkspaceTemplateApply, desired, current *workspace.Workspace) (*workspace.Workspace, error) {
	if r.API.Namespaced() {
		desired.OwnerReferences = []metav1.OwnerReference{{
			APIVersion: infrav1.GroupVersion.String(), Kind: "WorkspaceTemplateApply",
			Name: apply.Name, UID: apply.UID, Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
		}}
	}
	want, err := desired.ToUnstructured()
	if err != nil {
		return nil, err
	}
	delete(want.Object, "status")
	unstructured.RemoveNestedField(want.Object, "metadata", "creationTimestamp")
	// The rollout hash is not part of the comparison: a Workspace written before CAPT
	// recorded it gets it with its next change, not in a write of its own.
	hash, err := specHash(rendering(want))
	if err != nil {
		return nil, err
	}
	annotations := want.GetAnnotations()
	annotations[infrav1.SpecHashAnnotation] = hash
	want.SetAnnotations(annotations)

	if current != nil && current.Annotations[infrav1.SpecHashAnnotation] == hash {
		have, err := current.ToUnstructured()
		if err != nil {
			return nil, err
		}
		if contains(have.Object, rendering(want).Object) {
			return nil, nil
		}
	}
	if err := r.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(want), client.FieldOwner(FieldOwner), client.ForceOwnership); err != nil {
		return nil, fmt.Errorf("applying Workspace %s: %w", want.GetName(), err)
	}
	return workspace.FromUnstructured(want)
}

// specHash is a hash of everything CAPT sets on the Workspace.
func specHash(want *unstructured.Unstructured) (string, error) {
	b, err := json.Marshal(want.Object)
	if err != nil {
		return "", fmt.Errorf("hashing Workspace spec: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16]), nil
}

// contains reports whether every field of want is in have with the same value; other
// fields of have (defaults, status, fields of other managers) are ignored. Numbers are
// compared as JSON numbers.
func contains(have, want any) bool {
	switch w := want.(type) {
	case map[string]any:
		h, ok := have.(map[string]any)
		if !ok {
			return false
		}
		for k, wv := range w {
			if !contains(h[k], wv) {
				return false
			}
		}
		return true
	case []any:
		h, ok := have.([]any)
		if !ok || len(h) != len(w) {
			return false
		}
		for i := range w {
			if !contains(h[i], w[i]) {
				return false
			}
		}
		return true
	case nil:
		return true
	default:
		return jsonEqual(have, want)
	}
}

func jsonEqual(a, b any) bool {
	if reflect.DeepEqual(a, b) {
		return true
	}
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(ja) == string(jb)
}
