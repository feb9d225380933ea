// Package devnode registers and removes the fake worker Nodes of the local stack: Nodes
// with no kubelet, which the stack's KWOK marks Ready and keeps alive because they carry
// its annotation. templates/local's node group module calls it, through `capt dev-node`,
// from its local-exec provisioners, one Node per desired node of a group.
package devnode

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	applycorev1 "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/capt-dev/capt/internal/localstack"
)

// FieldManager owns what Apply sets on a Node (server-side apply): the Node's labels and
// taints are exactly the last ones applied, and what other writers set (KWOK's status,
// a user's own label) stays.
const FieldManager = "capt-dev-node"

// Node is what the node group module asks for: one fake worker Node.
type Node struct {
	Name       string
	ProviderID string
	Labels     map[string]string
	Taints     []corev1.Taint
}

// ParseLabels reads a JSON object of strings, as Terraform's jsonencode writes a
// map(string). Empty text and null mean no labels.
func ParseLabels(text string) (map[string]string, error) {
	labels := map[string]string{}
	if t := strings.TrimSpace(text); t == "" || t == "null" {
		return labels, nil
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(text), &raw); err != nil {
		return nil, fmt.Errorf("labels: want a JSON object of strings, such as {\"team\":\"a\"}: %w", err)
	}
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		v, ok := raw[k].(string)
		if !ok {
			return nil, fmt.Errorf("labels: the value of %q is %s, want a string", k, jsonKind(raw[k]))
		}
		labels[k] = v
	}
	return labels, nil
}

// eksTaint is one taint as EKS's node group API (and so the module) writes it.
type eksTaint struct {
	Key    string `json:"key"`
	Value  string `json:"value"`
	Effect string `json:"effect"`
}

// ParseTaints reads a JSON list of {"key", "value", "effect"} objects, the effect in
// EKS's form (NO_SCHEDULE, NO_EXECUTE, PREFER_NO_SCHEDULE) or Kubernetes' own. Empty
// text and null mean no taints.
func ParseTaints(text string) ([]corev1.Taint, error) {
	if t := strings.TrimSpace(text); t == "" || t == "null" {
		return nil, nil
	}
	dec := json.NewDecoder(strings.NewReader(text))
	dec.DisallowUnknownFields()
	var raw []eksTaint
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf(`taints: want a JSON list of {"key","value","effect"} objects: %w`, err)
	}
	if dec.More() {
		return nil, errors.New("taints: unexpected text after the JSON list")
	}
	taints := make([]corev1.Taint, 0, len(raw))
	for i, t := range raw {
		effect, err := Effect(t.Effect)
		if err != nil {
			return nil, fmt.Errorf("taints[%d] (key %q): %w", i, t.Key, err)
		}
		taints = append(taints, corev1.Taint{Key: t.Key, Value: t.Value, Effect: effect})
	}
	return taints, nil
}

// Effect converts a taint effect from EKS's form to Kubernetes'; Kubernetes' own form is
// accepted as it is.
func Effect(effect string) (corev1.TaintEffect, error) {
	switch effect {
	case "NO_SCHEDULE", string(corev1.TaintEffectNoSchedule):
		return corev1.TaintEffectNoSchedule, nil
	case "NO_EXECUTE", string(corev1.TaintEffectNoExecute):
		return corev1.TaintEffectNoExecute, nil
	case "PREFER_NO_SCHEDULE", string(corev1.TaintEffectPreferNoSchedule):
		return corev1.TaintEffectPreferNoSchedule, nil
	default:
		return "", fmt.Errorf("effect %q: want NO_SCHEDULE, NO_EXECUTE or PREFER_NO_SCHEDULE", effect)
	}
}

// Validate says what the API server would refuse, in the terms of the module's inputs,
// before anything is sent.
func (n Node) Validate() error {
	var errs []error
	if n.Name == "" {
		errs = append(errs, errors.New("name: required"))
	} else if msgs := validation.IsDNS1123Subdomain(n.Name); len(msgs) > 0 {
		errs = append(errs, fmt.Errorf("name %q: %s", n.Name, strings.Join(msgs, "; ")))
	}
	if n.ProviderID == "" {
		errs = append(errs, errors.New("provider ID: required"))
	}
	for _, k := range slices.Sorted(maps.Keys(n.Labels)) {
		if msgs := validation.IsQualifiedName(k); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("label key %q: %s", k, strings.Join(msgs, "; ")))
		}
		if msgs := validation.IsValidLabelValue(n.Labels[k]); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("label %q value %q: %s", k, n.Labels[k], strings.Join(msgs, "; ")))
		}
	}
	seen := map[string]bool{}
	for i, t := range n.Taints {
		if msgs := validation.IsQualifiedName(t.Key); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("taints[%d] key %q: %s", i, t.Key, strings.Join(msgs, "; ")))
		}
		if msgs := validation.IsValidLabelValue(t.Value); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("taints[%d] value %q: %s", i, t.Value, strings.Join(msgs, "; ")))
		}
		if id := t.Key + ":" + string(t.Effect); seen[id] {
			errs = append(errs, fmt.Errorf("taints[%d]: key %q with effect %s given twice", i, t.Key, t.Effect))
		} else {
			seen[id] = true
		}
	}
	return errors.Join(errs...)
}

// Apply creates the Node, or brings an existing one to n: labels and taints are those of
// n (the ones an earlier Apply set and n no longer has are removed). A Node of that name
// that is not one of the stack's fake Nodes (no KWOK annotation: a real kubelet's) is
// left alone, with an error. It returns whether the Node was created.
func Apply(ctx context.Context, cs kubernetes.Interface, n Node) (created bool, err error) {
	if err := n.Validate(); err != nil {
		return false, err
	}
	existing, err := cs.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		created = true
	case err != nil:
		return false, fmt.Errorf("reading Node %s: %w", n.Name, err)
	case !isFake(existing):
		return false, fmt.Errorf("node %s exists and is not a fake Node of the local stack (no annotation %s=%s): left alone",
			n.Name, localstack.KWOKNodeAnnotation, localstack.KWOKNodeAnnotationValue)
	case existing.Spec.ProviderID != "" && existing.Spec.ProviderID != n.ProviderID:
		// The API server refuses to change a Node's providerID.
		return false, fmt.Errorf("node %s exists with provider ID %s, not %s: delete it first", n.Name, existing.Spec.ProviderID, n.ProviderID)
	}
	labels := map[string]string{
		// What every kubelet sets, so that the usual node selectors find these Nodes.
		corev1.LabelHostname: n.Name,
		corev1.LabelOSStable: "linux",
	}
	maps.Copy(labels, n.Labels)
	spec := applycorev1.NodeSpec().WithProviderID(n.ProviderID)
	for _, t := range n.Taints {
		spec.WithTaints(applycorev1.Taint().WithKey(t.Key).WithValue(t.Value).WithEffect(t.Effect))
	}
	node := applycorev1.Node(n.Name).
		WithAnnotations(map[string]string{localstack.KWOKNodeAnnotation: localstack.KWOKNodeAnnotationValue}).
		WithLabels(labels).
		WithSpec(spec)
	if _, err := cs.CoreV1().Nodes().Apply(ctx, node, metav1.ApplyOptions{FieldManager: FieldManager, Force: true}); err != nil {
		return false, fmt.Errorf("applying Node %s: %w", n.Name, err)
	}
	return created, nil
}

// Delete deletes the named Node if it is one of the stack's fake Nodes; a Node that is
// already gone is not an error (a destroy may run again), a real one is.
func Delete(ctx context.Context, cs kubernetes.Interface, name string) (deleted bool, err error) {
	if name == "" {
		return false, errors.New("name: required")
	}
	existing, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading Node %s: %w", name, err)
	}
	if !isFake(existing) {
		return false, fmt.Errorf("node %s is not a fake Node of the local stack (no annotation %s=%s): not deleted",
			name, localstack.KWOKNodeAnnotation, localstack.KWOKNodeAnnotationValue)
	}
	// The UID precondition: if the Node was replaced meanwhile, the new one stays.
	err = cs.CoreV1().Nodes().Delete(ctx, name, metav1.DeleteOptions{Preconditions: metav1.NewUIDPreconditions(string(existing.UID))})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("deleting Node %s: %w", name, err)
	}
	return true, nil
}

func isFake(n *corev1.Node) bool {
	return n.Annotations[localstack.KWOKNodeAnnotation] == localstack.KWOKNodeAnnotationValue
}

// jsonKind names the JSON type of a decoded value, for error messages.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case float64:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	default:
		return fmt.Sprintf("%T", v)
	}
}
