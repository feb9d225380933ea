package workspaceapply

import (
	"context"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/testenv"
	"github.com/capt-dev/capt/internal/workspace"
)

// TestPausedApplyBeingDeletedKeepsItsWorkspace (docs/install.md, "The source destroys
// nothing"): clusterctl move deletes the moved objects from the source while their
// Cluster is paused. An apply deleted then, its finalizer still on, neither deletes its
// Workspace nor lifts the Workspace's pause: the Workspace and the Terraform state it
// tracks stay for the target. Unpaused (a move given up), the deletion goes on.
func TestPausedApplyBeingDeletedKeepsItsWorkspace(t *testing.T) {
	api := workspace.DefaultAPI()
	startControllers(t, api)
	ns := newNamespace(t)
	cluster := &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "moving"},
		Spec: clusterv1.ClusterSpec{Paused: ptr.To(false)}}
	apply := newApply(ns, "vpc", "tmpl", nil)
	apply.Labels = map[string]string{clusterv1.ClusterNameLabel: cluster.Name}
	create(t, cluster, newTemplate(ns, "tmpl"), apply)
	w := waitWorkspace(t, api, ns, apply.Name)

	setPaused(t, cluster, true)
	testenv.Eventually(t, "Workspace paused", func() error {
		if got := getWorkspace(t, api, ns, w.Name); got.Annotations[infrav1.CrossplanePausedAnnotation] != "true" {
			return fmt.Errorf("not paused: %v", got.Annotations)
		}
		return nil
	})
	if err := env.Client.Delete(context.Background(), getApply(t, ns, apply.Name)); err != nil {
		t.Fatal(err)
	}
	testenv.Consistently(t, "the paused apply's Workspace kept, paused", 2*time.Second, func() error {
		got := getWorkspace(t, api, ns, w.Name)
		switch {
		case got == nil || got.DeletionTimestamp != nil:
			return fmt.Errorf("the Workspace of a paused apply is deleted: %+v", got)
		case got.Annotations[infrav1.CrossplanePausedAnnotation] != "true":
			return fmt.Errorf("the Workspace's pause was lifted while its Cluster is paused: %v", got.Annotations)
		}
		return nil
	})

	setPaused(t, cluster, false)
	testenv.Eventually(t, "Workspace gone after the unpause", func() error {
		if got := getWorkspace(t, api, ns, w.Name); got != nil {
			return fmt.Errorf("Workspace %s still there", w.Name)
		}
		return nil
	})
	testenv.Eventually(t, "apply gone", func() error {
		return gone(&infrav1.WorkspaceTemplateApply{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: apply.Name}})
	})
}
