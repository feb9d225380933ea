package devnode_test

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/capt-dev/capt/internal/devnode"
	"github.com/capt-dev/capt/internal/localstack"
	"github.com/capt-dev/capt/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Run(m, func(e *testenv.Env) { env = e }) }

func clientset(t *testing.T) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// Apply creates the fake Node; applied again it brings labels and taints to exactly what
// it is given (a label or taint dropped from the module goes), and leaves what another
// writer set; Delete removes it, and a second Delete is no error.
func TestApplyAndDelete(t *testing.T) {
	ctx, cs := t.Context(), clientset(t)
	n := devnode.Node{Name: "local-workers-0", ProviderID: "aws:///zz-local-1a/i-0123456789abcdef0",
		Labels: map[string]string{"eks.amazonaws.com/nodegroup": "local-workers", "team": "a", "tier": "web"},
		Taints: []corev1.Taint{{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule}}}
	created, err := devnode.Apply(ctx, cs, n)
	if err != nil || !created {
		t.Fatalf("Apply: created %v, %v", created, err)
	}
	node := getNode(ctx, t, cs, n.Name)
	if node.Annotations[localstack.KWOKNodeAnnotation] != localstack.KWOKNodeAnnotationValue || node.Spec.ProviderID != n.ProviderID {
		t.Errorf("Node: annotations %v, providerID %q", node.Annotations, node.Spec.ProviderID)
	}
	wantLabels := map[string]string{corev1.LabelHostname: n.Name, corev1.LabelOSStable: "linux"}
	maps.Copy(wantLabels, n.Labels)
	if !maps.Equal(node.Labels, wantLabels) {
		t.Errorf("labels %v, want %v", node.Labels, wantLabels)
	}
	// kube-apiserver adds node.kubernetes.io/not-ready to every new Node (admission); on
	// the stack, kube-controller-manager's node lifecycle controller lifts it once KWOK
	// has made the Node Ready. There is no such controller here.
	taints := slices.DeleteFunc(slices.Clone(node.Spec.Taints), func(t corev1.Taint) bool { return t.Key == corev1.TaintNodeNotReady })
	if len(taints) != 1 || taints[0].Key != "dedicated" || taints[0].Effect != corev1.TaintEffectNoSchedule {
		t.Errorf("taints %+v", node.Spec.Taints)
	}

	// Someone else labels the Node (KWOK, a user): that stays.
	if _, err := cs.CoreV1().Nodes().Patch(ctx, n.Name, types.MergePatchType, []byte(`{"metadata":{"labels":{"other":"x"}}}`),
		metav1.PatchOptions{FieldManager: "someone"}); err != nil {
		t.Fatal(err)
	}
	n.Labels = map[string]string{"eks.amazonaws.com/nodegroup": "local-workers", "team": "b"}
	n.Taints = []corev1.Taint{{Key: "spot", Effect: corev1.TaintEffectPreferNoSchedule}}
	if created, err := devnode.Apply(ctx, cs, n); err != nil || created {
		t.Fatalf("Apply again: created %v, %v", created, err)
	}
	node = getNode(ctx, t, cs, n.Name)
	wantLabels = map[string]string{corev1.LabelHostname: n.Name, corev1.LabelOSStable: "linux", "other": "x"}
	maps.Copy(wantLabels, n.Labels)
	if !maps.Equal(node.Labels, wantLabels) {
		t.Errorf("labels after the second Apply %v, want %v", node.Labels, wantLabels)
	}
	if len(node.Spec.Taints) != 1 || node.Spec.Taints[0].Key != "spot" || node.Spec.Taints[0].Effect != corev1.TaintEffectPreferNoSchedule {
		t.Errorf("taints after the second Apply %+v", node.Spec.Taints)
	}
	n.Taints = nil
	if _, err := devnode.Apply(ctx, cs, n); err != nil {
		t.Fatal(err)
	}
	if node = getNode(ctx, t, cs, n.Name); len(node.Spec.Taints) != 0 {
		t.Errorf("taints after an Apply without any %+v", node.Spec.Taints)
	}

	// The API server would refuse to change the provider ID: said before it is asked.
	other := n
	other.ProviderID = "aws:///zz-local-1a/i-fedcba9876543210f"
	if _, err := devnode.Apply(ctx, cs, other); err == nil || !strings.Contains(err.Error(), "exists with provider ID") {
		t.Errorf("Apply with another provider ID: %v", err)
	}

	if deleted, err := devnode.Delete(ctx, cs, n.Name); err != nil || !deleted {
		t.Fatalf("Delete: deleted %v, %v", deleted, err)
	}
	if _, err := cs.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("Node after Delete: %v", err)
	}
	if deleted, err := devnode.Delete(ctx, cs, n.Name); err != nil || deleted {
		t.Errorf("Delete of a Node already gone: deleted %v, %v", deleted, err)
	}
}

// A Node without the KWOK annotation is a real kubelet's: neither taken over nor deleted.
func TestRealNodesAreLeftAlone(t *testing.T) {
	ctx, cs := t.Context(), clientset(t)
	real := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "real-node", Labels: map[string]string{"kept": "yes"}}}
	if _, err := cs.CoreV1().Nodes().Create(ctx, real, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.CoreV1().Nodes().Delete(context.Background(), real.Name, metav1.DeleteOptions{}) })
	_, err := devnode.Apply(ctx, cs, devnode.Node{Name: real.Name, ProviderID: "aws:///zz-local-1a/i-0", Labels: map[string]string{"kept": "no"}})
	if err == nil || !strings.Contains(err.Error(), "not a fake Node") {
		t.Errorf("Apply over a real Node: %v", err)
	}
	if _, err := devnode.Delete(ctx, cs, real.Name); err == nil || !strings.Contains(err.Error(), "not a fake Node") {
		t.Errorf("Delete of a real Node: %v", err)
	}
	node := getNode(ctx, t, cs, real.Name)
	if node.Labels["kept"] != "yes" || node.Annotations[localstack.KWOKNodeAnnotation] != "" || node.Spec.ProviderID != "" {
		t.Errorf("the real Node was changed: %+v", node.ObjectMeta)
	}
}

// Bad input is refused before any request, with the reason.
func TestApplyRefusesBadInput(t *testing.T) {
	_, err := devnode.Apply(t.Context(), clientset(t), devnode.Node{Name: "Bad_Name"})
	if err == nil || !strings.Contains(err.Error(), `name "Bad_Name"`) || !strings.Contains(err.Error(), "provider ID: required") {
		t.Errorf("Apply of a bad Node: %v", err)
	}
}

func getNode(ctx context.Context, t *testing.T, cs kubernetes.Interface, name string) *corev1.Node {
	t.Helper()
	node, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return node
}
