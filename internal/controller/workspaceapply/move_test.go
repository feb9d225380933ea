package workspaceapply

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	clusterctlv1 "sigs.k8s.io/cluster-api/cmd/clusterctl/api/v1alpha3"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/render"
	"github.com/capt-dev/capt/internal/testenv"
	"github.com/capt-dev/capt/internal/workspace"
)

// TestPausedClusterPausesWorkspace: clusterctl move pauses the Cluster and waits while
// an object carries block-move. CAPT pauses the Workspace for the provider first, then
// lets move go on (in that order, by etcd revision), records where the Workspace is, and
// lifts only its own pause when the Cluster is unpaused.
func TestPausedClusterPausesWorkspace(t *testing.T) {
	api := workspace.DefaultAPI()
	startControllers(t, api)
	ns := newNamespace(t)
	cluster := &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "moved"},
		Spec: clusterv1.ClusterSpec{Paused: ptr.To(false)}}
	apply := newApply(ns, "vpc", "tmpl", nil)
	held := newApply(ns, "held", "tmpl", nil)
	for _, a := range []*infrav1.WorkspaceTemplateApply{apply, held} {
		a.Labels = map[string]string{clusterv1.ClusterNameLabel: cluster.Name}
	}
	create(t, cluster, newTemplate(ns, "tmpl"), apply, held)
	w := waitWorkspace(t, api, ns, apply.Name)
	heldWorkspace := waitWorkspace(t, api, ns, held.Name)
	testenv.Eventually(t, "block-move on the live apply", func() error {
		if _, ok := getApply(t, ns, apply.Name).Annotations[clusterctlv1.BlockMoveAnnotation]; !ok {
			return fmt.Errorf("no %s annotation", clusterctlv1.BlockMoveAnnotation)
		}
		return nil
	})
	// A person paused this one before the Cluster was: it stays paused after.
	annotateWorkspace(t, api, heldWorkspace.Name, map[string]any{infrav1.CrossplanePausedAnnotation: "true"})

	log := env.WatchRevisions(t, ns, &infrav1.WorkspaceTemplateApplyList{})
	workspaces := env.WatchRevisions(t, "", api.NewList())
	setPaused(t, cluster, true)
	testenv.Eventually(t, "Workspace paused and block-move lifted", func() error {
		a, got := getApply(t, ns, apply.Name), getWorkspace(t, api, ns, w.Name)
		if _, ok := a.Annotations[clusterctlv1.BlockMoveAnnotation]; ok {
			return fmt.Errorf("apply still blocks clusterctl move")
		}
		if got.Annotations[infrav1.CrossplanePausedAnnotation] != "true" || got.Annotations[infrav1.PausedWithClusterAnnotation] != "true" {
			return fmt.Errorf("Workspace annotations %v", got.Annotations)
		}
		return nil
	})
	paused := testenv.Step{What: "Workspace paused", Match: func(c testenv.Change) bool {
		return c.Object.GetName() == w.Name && c.Object.GetAnnotations()[infrav1.CrossplanePausedAnnotation] == "true"
	}}
	released := testenv.Step{What: "block-move removed from the apply", Match: func(c testenv.Change) bool {
		_, blocks := c.Object.GetAnnotations()[clusterctlv1.BlockMoveAnnotation]
		return c.Object.GetName() == apply.Name && c.Type == watch.Modified && !blocks
	}}
	workspaces.Await(t, paused.What, paused.Match)
	log.Await(t, released.What, released.Match)
	workspaces.Stop()
	log.Stop()
	pausedAt, ok := workspaces.First(paused.Match)
	releasedAt, ok2 := log.First(released.Match)
	if !ok || !ok2 || pausedAt >= releasedAt {
		t.Errorf("Workspace paused at revision %d (seen %v), block-move removed at %d (seen %v): the pause must come first", pausedAt, ok, releasedAt, ok2)
	}
	id := managementClusterID(t)
	if got := getApply(t, ns, apply.Name).Annotations[infrav1.WorkspaceManagementClusterAnnotation]; got != id {
		t.Errorf("apply records management cluster %q, want kube-system's UID %q", got, id)
	}
	if got := getWorkspace(t, api, ns, heldWorkspace.Name).Annotations; got[infrav1.PausedWithClusterAnnotation] != "" {
		t.Errorf("a Workspace a person paused was marked as paused by CAPT: %v", got)
	}

	setPaused(t, cluster, false)
	testenv.Eventually(t, "pause lifted and block-move back", func() error {
		a, got := getApply(t, ns, apply.Name), getWorkspace(t, api, ns, w.Name)
		if _, ok := a.Annotations[clusterctlv1.BlockMoveAnnotation]; !ok {
			return fmt.Errorf("no block-move on the unpaused apply")
		}
		if _, ok := a.Annotations[infrav1.WorkspaceManagementClusterAnnotation]; ok {
			return fmt.Errorf("the record of the pause is still there with the Workspace")
		}
		for _, k := range []string{infrav1.CrossplanePausedAnnotation, infrav1.PausedWithClusterAnnotation} {
			if _, ok := got.Annotations[k]; ok {
				return fmt.Errorf("Workspace still has %s", k)
			}
		}
		return nil
	})
	waitCondition(t, ns, held.Name, infrav1.PausedCondition, metav1.ConditionFalse, clusterv1.NotPausedReason)
	if got := getWorkspace(t, api, ns, heldWorkspace.Name).Annotations[infrav1.CrossplanePausedAnnotation]; got != "true" {
		t.Errorf("a person's pause was lifted with the Cluster's: %s=%q", infrav1.CrossplanePausedAnnotation, got)
	}
}

// TestMovedApplyWaitsForSharedState: an apply clusterctl moved from another management
// cluster, whose Workspace is not here, creates nothing until its ProviderConfig declares
// the Terraform state shared; then it creates the Workspace and forgets where it came from.
func TestMovedApplyWaitsForSharedState(t *testing.T) {
	api := workspace.DefaultAPI()
	startControllers(t, api)
	ctx := context.Background()
	ns := newNamespace(t)
	pcName := ns + "-state"
	tmpl := newTemplate(ns, "tmpl")
	tmpl.Spec.Template.Spec.ProviderConfigRef = &infrav1.ProviderConfigReference{Name: pcName}
	apply := newApply(ns, "moved", "tmpl", nil)
	apply.Annotations = map[string]string{infrav1.WorkspaceManagementClusterAnnotation: "uid-of-another-management-cluster"}
	name := render.WorkspaceName(api, ns, apply.Name)

	workspaces := env.WatchRevisions(t, "", api.NewList())
	defer workspaces.Stop()
	create(t, tmpl, apply)
	a := waitCondition(t, ns, apply.Name, infrav1.DependenciesReadyCondition, metav1.ConditionFalse, infrav1.WaitingForSharedStateReason)
	if msg := condition(a, infrav1.DependenciesReadyCondition).Message; !strings.Contains(msg, "ProviderConfig "+pcName+" (not found)") {
		t.Errorf("DependenciesReady message %q does not say the ProviderConfig is missing", msg)
	}
	if r := condition(a, infrav1.ReadyCondition); r.Reason != infrav1.WaitingForSharedStateReason || !strings.Contains(r.Message, name) {
		t.Errorf("Ready is %s: %s", r.Reason, r.Message)
	}

	pc := &unstructured.Unstructured{}
	pc.SetGroupVersionKind(schema.GroupVersionKind{Group: workspace.GroupTerraform, Version: "v1beta1", Kind: "ProviderConfig"})
	pc.SetName(pcName)
	pc.SetAnnotations(map[string]string{infrav1.AllowedNamespacesAnnotation: ns})
	if err := unstructured.SetNestedField(pc.Object, "", "spec", "configuration"); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Create(ctx, pc); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), pc) })
	testenv.Eventually(t, "waiting for the annotation of an existing ProviderConfig", func() error {
		msg := condition(getApply(t, ns, apply.Name), infrav1.DependenciesReadyCondition).Message
		if !strings.Contains(msg, infrav1.SharedTerraformStateAnnotation) || strings.Contains(msg, "not found") {
			return fmt.Errorf("message %q", msg)
		}
		return nil
	})
	if w := getWorkspace(t, api, ns, name); w != nil {
		t.Fatalf("Workspace %s created before the state was declared shared", name)
	}

	patch := client.RawPatch("application/merge-patch+json",
		[]byte(fmt.Sprintf(`{"metadata":{"annotations":{%q:"true"}}}`, infrav1.SharedTerraformStateAnnotation)))
	if err := env.Client.Patch(ctx, pc, patch); err != nil {
		t.Fatal(err)
	}
	declaredAt := mustRevision(t, pc.GetResourceVersion())
	waitWorkspace(t, api, ns, apply.Name)
	workspaces.Await(t, "Workspace created", func(c testenv.Change) bool { return c.Type == watch.Added && c.Object.GetName() == name })
	createdAt, ok := workspaces.First(func(c testenv.Change) bool { return c.Type == watch.Added && c.Object.GetName() == name })
	if !ok || createdAt <= declaredAt {
		t.Errorf("Workspace created at revision %d (seen %v), state declared shared at %d", createdAt, ok, declaredAt)
	}
	testenv.Eventually(t, "the record of the other cluster dropped", func() error {
		if v, ok := getApply(t, ns, apply.Name).Annotations[infrav1.WorkspaceManagementClusterAnnotation]; ok {
			return fmt.Errorf("still %q", v)
		}
		return nil
	})
}

func setPaused(t *testing.T, cluster *clusterv1.Cluster, paused bool) {
	t.Helper()
	base := cluster.DeepCopy()
	cluster.Spec.Paused = ptr.To(paused)
	if err := env.Client.Patch(context.Background(), cluster, client.MergeFrom(base)); err != nil {
		t.Fatal(err)
	}
}

func annotateWorkspace(t *testing.T, api workspace.API, name string, annotations map[string]any) {
	t.Helper()
	u := api.NewObject()
	u.SetName(name)
	patch := map[string]any{"metadata": map[string]any{"annotations": annotations}}
	if err := env.Client.Patch(context.Background(), u, client.RawPatch("application/merge-patch+json", mustJSON(t, patch))); err != nil {
		t.Fatal(err)
	}
}

func managementClusterID(t *testing.T) string {
	t.Helper()
	ns := &corev1.Namespace{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Name: metav1.NamespaceSystem}, ns); err != nil {
		t.Fatal(err)
	}
	if ns.UID == "" {
		t.Fatal("kube-system has no UID")
	}
	return string(ns.UID)
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mustRevision is the etcd revision of a resourceVersion.
func mustRevision(t *testing.T, rv string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(rv, 10, 64)
	if err != nil {
		t.Fatalf("resourceVersion %q: %v", rv, err)
	}
	return n
}
