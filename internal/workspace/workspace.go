package workspace

import (
	"encoding/json"
	"fmt"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
)

// Crossplane condition types a Workspace reports.
const (
	// ConditionReady is true when the last apply succeeded and the resource is available.
	ConditionReady = "Ready"
	// ConditionSynced is true when provider-terraform's last reconcile succeeded.
	ConditionSynced = "Synced"
)

// Workspace is the part of a Workspace CAPT reads and writes.
type Workspace struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   Spec   `json:"spec"`
	Status Status `json:"status,omitempty"`
}

// Spec is the Workspace spec CAPT sets.
type Spec struct {
	ForProvider                infrav1.WorkspaceParameters      `json:"forProvider"`
	ProviderConfigRef          *infrav1.ProviderConfigReference `json:"providerConfigRef,omitempty"`
	DeletionPolicy             string                           `json:"deletionPolicy,omitempty"`
	ManagementPolicies         []infrav1.ManagementAction       `json:"managementPolicies,omitempty"`
	WriteConnectionSecretToRef *ConnectionSecretReference       `json:"writeConnectionSecretToRef,omitempty"`
}

// ConnectionSecretReference is where the Workspace writes its outputs. Namespaced
// Workspaces write next to themselves and carry only the name.
type ConnectionSecretReference struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
}

// Status is what provider-terraform reports.
type Status struct {
	AtProvider         Observation `json:"atProvider,omitempty"`
	Conditions         []Condition `json:"conditions,omitempty"`
	ObservedGeneration int64       `json:"observedGeneration,omitempty"`
}

// Observation holds the module's non-sensitive outputs, as JSON values.
type Observation struct {
	Outputs  map[string]apiextensionsv1.JSON `json:"outputs,omitempty"`
	Checksum string                          `json:"checksum,omitempty"`
}

// Condition is a Crossplane condition.
type Condition struct {
	Type               string                 `json:"type"`
	Status             metav1.ConditionStatus `json:"status"`
	Reason             string                 `json:"reason,omitempty"`
	Message            string                 `json:"message,omitempty"`
	LastTransitionTime metav1.Time            `json:"lastTransitionTime,omitempty"`
	ObservedGeneration int64                  `json:"observedGeneration,omitempty"`
}

// FromUnstructured reads the typed view of a Workspace.
func FromUnstructured(u *unstructured.Unstructured) (*Workspace, error) {
	w := &Workspace{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, w); err != nil {
		return nil, fmt.Errorf("reading Workspace %s: %w", u.GetName(), err)
	}
	return w, nil
}

// ToUnstructured returns the Workspace as an object the client can send.
func (w *Workspace) ToUnstructured() (*unstructured.Unstructured, error) {
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(w)
	if err != nil {
		return nil, fmt.Errorf("encoding Workspace %s: %w", w.Name, err)
	}
	return &unstructured.Unstructured{Object: obj}, nil
}

// Condition returns the condition of the given type, or nil.
func (w *Workspace) Condition(conditionType string) *Condition {
	for i := range w.Status.Conditions {
		if w.Status.Conditions[i].Type == conditionType {
			return &w.Status.Conditions[i]
		}
	}
	return nil
}

// IsTrue reports whether the condition is present and True.
func (w *Workspace) IsTrue(conditionType string) bool {
	c := w.Condition(conditionType)
	return c != nil && c.Status == metav1.ConditionTrue
}

// IsFalse reports whether the condition is present and False.
func (w *Workspace) IsFalse(conditionType string) bool {
	c := w.Condition(conditionType)
	return c != nil && c.Status == metav1.ConditionFalse
}

// ObservedCurrentSpec reports whether provider-terraform has acted on the current
// generation. Providers that do not report a generation are taken at their word.
func (w *Workspace) ObservedCurrentSpec() bool {
	observed := w.AppliedGeneration()
	return observed == 0 || observed >= w.Generation
}

// AppliedGeneration is the generation the provider reports it acted on, 0 when it reports
// none (provider-terraform v0.21: crossplane-runtime v1.16 sets no observedGeneration).
func (w *Workspace) AppliedGeneration() int64 {
	observed := w.Status.ObservedGeneration
	if c := w.Condition(ConditionReady); c != nil && c.ObservedGeneration > observed {
		observed = c.ObservedGeneration
	}
	return observed
}

// SyncFailed reports whether the provider's last reconcile of the current spec failed:
// Synced is False, for the current generation when the condition says which it is for
// (crossplane-runtime v2), else when the provider reports having acted on the current
// generation or reports no generation at all (taken at its word). A failure reported
// for an earlier generation is not the current spec's: a Workspace CAPT has just changed
// still carries the failure of the spec before until the provider has tried the new one.
func (w *Workspace) SyncFailed() bool {
	c := w.Condition(ConditionSynced)
	if c == nil || c.Status != metav1.ConditionFalse {
		return false
	}
	if c.ObservedGeneration > 0 {
		return c.ObservedGeneration >= w.Generation
	}
	return w.ObservedCurrentSpec()
}

// IsReady reports whether the Workspace applied its current spec: Ready is True, the
// last reconcile did not fail and the current generation has been observed.
func (w *Workspace) IsReady() bool {
	return w.DeletionTimestamp == nil && w.IsTrue(ConditionReady) && !w.IsFalse(ConditionSynced) && w.ObservedCurrentSpec()
}

// Variable is the value the Workspace passes Terraform for key: from vars, or a string
// of varmap; ok is false when it passes none.
func (w *Workspace) Variable(key string) (value string, ok bool) {
	for _, v := range w.Spec.ForProvider.Vars {
		if v.Key == key {
			return v.Value, true
		}
	}
	if w.Spec.ForProvider.VarMap == nil {
		return "", false
	}
	var m map[string]any
	if json.Unmarshal(w.Spec.ForProvider.VarMap.Raw, &m) != nil {
		return "", false
	}
	value, ok = m[key].(string)
	return value, ok
}

// Output returns a non-sensitive output's JSON value from the status.
func (w *Workspace) Output(name string) (json.RawMessage, bool) {
	v, ok := w.Status.AtProvider.Outputs[name]
	if !ok || len(v.Raw) == 0 {
		return nil, false
	}
	return v.Raw, true
}
