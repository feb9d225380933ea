package controlplane

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/testenv"
)

const providerFinalizer = "finalizer.managedresource.crossplane.io"

// readyCluster creates a Cluster whose control plane is Ready, with provider-terraform's
// finalizer on the Workspace.
func readyCluster(t *testing.T, ns, name string) (*clusterv1.Cluster, *controlplanev1.CAPTControlPlane) {
	t.Helper()
	cluster, cp := newCluster(t, ns, name)
	waitWorkspace(t, cp)
	setWorkspaceFinalizers(t, cp, []string{providerFinalizer})
	goodProvider(t).apply(t, cp)
	waitReady(t, cp, name+" Ready")
	return cluster, cp
}

// TestDeletionOrder deletes a Ready control plane whose Workspace takes 10 s to destroy,
// and checks CAPTEP-0041's order by etcd revision: the Cluster's endpoint is cleared,
// then the WorkspaceTemplateApply is deleted, then the Workspace, and only then the
// control plane goes; the Deleting condition names what is left; nothing is leaked.
func TestDeletionOrder(t *testing.T) {
	ctx := context.Background()
	startControllers(t)
	ns := newNamespace(t)
	cluster, cp := readyCluster(t, ns, "ordered")

	log := env.WatchRevisions(t, "", &clusterv1.ClusterList{}, &infrav1.WorkspaceTemplateApplyList{}, api.NewList(), &controlplanev1.CAPTControlPlaneList{})
	if err := env.Client.Delete(ctx, getCP(t, cp)); err != nil {
		t.Fatal(err)
	}
	waitCP(t, cp, "waiting for the Workspace", func(c *controlplanev1.CAPTControlPlane) error {
		if err := condIs(infrav1.DeletingCondition, metav1.ConditionTrue, controlplanev1.DeletingWorkspaceTemplateApplyReason)(c); err != nil {
			return err
		}
		if c.Status.Phase != controlplanev1.PhaseDeleting || c.Status.Ready || !c.Spec.ControlPlaneEndpoint.IsZero() {
			return fmt.Errorf("phase %s, ready %v, endpoint %+v", c.Status.Phase, c.Status.Ready, c.Spec.ControlPlaneEndpoint)
		}
		return contains(cond(c, infrav1.DeletingCondition).Message, workspaceName(cp))
	})
	time.Sleep(destroyTime()) // terraform destroy
	if gone(getCP(t, cp)) == nil {
		t.Fatal("control plane gone while its Workspace still exists")
	}
	setWorkspaceFinalizers(t, cp, nil)
	testenv.Eventually(t, "control plane gone", func() error { return gone(&controlplanev1.CAPTControlPlane{ObjectMeta: cp.ObjectMeta}) })
	log.Await(t, "control plane gone", testenv.Deleted(cp.Name))
	log.Stop()

	log.InOrder(t,
		testenv.Step{What: "Cluster endpoint cleared", Match: func(c testenv.Change) bool {
			cl, ok := c.Object.(*clusterv1.Cluster)
			return ok && cl.Name == cluster.Name && cl.Spec.ControlPlaneEndpoint.IsZero() && c.Type == watch.Modified
		}},
		testenv.Step{What: "WorkspaceTemplateApply deleting", Match: testenv.Deleting(applyName(cp))},
		testenv.Step{What: "Workspace deleting", Match: testenv.Deleting(workspaceName(cp))},
		testenv.Step{What: "Workspace gone", Match: testenv.Deleted(workspaceName(cp))},
		testenv.Step{What: "WorkspaceTemplateApply gone", Match: testenv.Deleted(applyName(cp))},
		testenv.Step{What: "control plane gone", Match: testenv.Deleted(cp.Name)},
	)
	assertNothingLeft(t, ns, "ordered")
}

// TestStrippedApplyFinalizer: someone removes the WorkspaceTemplateApply's finalizer while
// its Workspace is being destroyed. The apply goes at once, but the control plane waits
// for the Workspace itself (CAPTEP-0041 step 3), says so, and goes only after it.
func TestStrippedApplyFinalizer(t *testing.T) {
	ctx := context.Background()
	startControllers(t)
	ns := newNamespace(t)
	_, cp := readyCluster(t, ns, "stripped")
	if err := env.Client.Delete(ctx, getCP(t, cp)); err != nil {
		t.Fatal(err)
	}
	waitCP(t, cp, "waiting for the apply", condIs(infrav1.DeletingCondition, metav1.ConditionTrue, controlplanev1.DeletingWorkspaceTemplateApplyReason))
	testenv.Eventually(t, "strip the apply's finalizer", func() error {
		a := getApply(t, cp)
		a.Finalizers = nil
		return env.Client.Update(ctx, a)
	})
	testenv.Eventually(t, "apply gone", func() error {
		return gone(&infrav1.WorkspaceTemplateApply{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: applyName(cp)}})
	})
	// Either the control plane waits for the Workspace, or (the promise broken) it is gone.
	var waiting *controlplanev1.CAPTControlPlane
	testenv.Eventually(t, "the control plane past the apply", func() error {
		c := &controlplanev1.CAPTControlPlane{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(cp), c); err != nil {
			return client.IgnoreNotFound(err)
		}
		if err := deletingSays(infrav1.WaitingForWorkspaceDeletionReason, workspaceName(cp))(c); err != nil {
			return err
		}
		waiting = c
		return nil
	})
	if waiting == nil {
		t.Fatal("the control plane went while its Workspace was still being destroyed")
	}
	if u := api.NewObject(); env.Client.Get(ctx, client.ObjectKey{Name: workspaceName(cp)}, u) != nil {
		t.Fatal("set-up: the Workspace is gone already")
	}
	setWorkspaceFinalizers(t, cp, nil)
	testenv.Eventually(t, "control plane gone", func() error { return gone(&controlplanev1.CAPTControlPlane{ObjectMeta: cp.ObjectMeta}) })
	assertNothingLeft(t, ns, "stripped")
}

// destroyTime is how long the simulated terraform destroy takes; shorter under make
// mutate, where the order is what is checked, not the wait.
func destroyTime() time.Duration {
	if os.Getenv("CAPT_MUTATE") != "" {
		return 2 * time.Second
	}
	return 10 * time.Second
}

// assertNothingLeft checks that no WorkspaceTemplateApply, Workspace or secret of the
// cluster is left.
func assertNothingLeft(t *testing.T, ns, cluster string) {
	t.Helper()
	ctx := context.Background()
	applies := &infrav1.WorkspaceTemplateApplyList{}
	if err := env.Client.List(ctx, applies, client.InNamespace(ns)); err != nil || len(applies.Items) != 0 {
		t.Errorf("WorkspaceTemplateApplies left: %d (%v)", len(applies.Items), err)
	}
	secrets := &corev1.SecretList{}
	if err := env.Client.List(ctx, secrets, client.InNamespace(ns)); err != nil || len(secrets.Items) != 0 {
		names := make([]string, 0, len(secrets.Items))
		for _, s := range secrets.Items {
			names = append(names, s.Name)
		}
		t.Errorf("secrets left: %v (%v)", names, err)
	}
	ws := api.NewList()
	if err := env.Client.List(ctx, ws); err != nil {
		t.Fatal(err)
	}
	for _, w := range ws.Items {
		if w.GetLabels()[clusterv1.ClusterNameLabel] == cluster && w.GetAnnotations()[infrav1.WorkspaceTemplateApplyAnnotation] != "" &&
			w.GetLabels()[infrav1.WorkspaceTemplateApplyNamespaceLabel] == ns {
			t.Errorf("Workspace left: %s", w.GetName())
		}
	}
}

// TestDeletionAfterTheClusterIsGone deletes the Cluster first: the control plane skips
// the endpoint step quietly and still deletes everything else.
func TestDeletionAfterTheClusterIsGone(t *testing.T) {
	ctx := context.Background()
	startControllers(t)
	ns := newNamespace(t)
	cluster, cp := readyCluster(t, ns, "orphaned")
	setWorkspaceFinalizers(t, cp, nil)
	if err := env.Client.Delete(ctx, cluster); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "Cluster gone", func() error { return gone(&clusterv1.Cluster{ObjectMeta: cluster.ObjectMeta}) })
	if err := env.Client.Delete(ctx, getCP(t, cp)); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "control plane gone", func() error { return gone(&controlplanev1.CAPTControlPlane{ObjectMeta: cp.ObjectMeta}) })
	assertNothingLeft(t, ns, "orphaned")
}

// TestRestartMidDeletion stops the manager while the Workspace is being destroyed and
// starts a new one: it resumes and finishes, deleting nothing twice.
func TestRestartMidDeletion(t *testing.T) {
	ctx := context.Background()
	_, stop := startControllersStoppable(t)
	ns := newNamespace(t)
	_, cp := readyCluster(t, ns, "restarted")
	if err := env.Client.Delete(ctx, getCP(t, cp)); err != nil {
		t.Fatal(err)
	}
	waitCP(t, cp, "waiting for the Workspace", condIs(infrav1.DeletingCondition, metav1.ConditionTrue, controlplanev1.DeletingWorkspaceTemplateApplyReason))
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	setWorkspaceFinalizers(t, cp, nil)
	writes := startControllers(t)
	testenv.Eventually(t, "control plane gone after restart", func() error { return gone(&controlplanev1.CAPTControlPlane{ObjectMeta: cp.ObjectMeta}) })
	assertNothingLeft(t, ns, "restarted")
	if s := writes.String(); contains(s, "delete WorkspaceTemplateApply") == nil {
		t.Errorf("the restarted manager deleted the WorkspaceTemplateApply again: %s", s)
	}
}

// TestPause checks that a paused Cluster stops all work but the Paused condition.
func TestPause(t *testing.T) {
	ctx := context.Background()
	writes := startControllers(t)
	ns := newNamespace(t)
	cluster := &clusterv1.Cluster{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "paused"},
		Spec: clusterv1.ClusterSpec{Paused: ptr.To(true), ControlPlaneRef: clusterv1.ContractVersionedObjectReference{
			APIGroup: controlplanev1.GroupVersion.Group, Kind: "CAPTControlPlane", Name: "paused-cp"}},
	}
	create(t, cluster)
	writes.Settle(time.Second)
	cp := &controlplanev1.CAPTControlPlane{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "paused-cp", Labels: map[string]string{clusterv1.ClusterNameLabel: "paused"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: clusterv1.GroupVersion.String(), Kind: "Cluster", Name: "paused", UID: cluster.UID}}},
		Spec: controlplanev1.CAPTControlPlaneSpec{Version: "v1.31.2", WorkspaceTemplateRef: infrav1.WorkspaceTemplateReference{Name: "eks"}},
	}
	writes.Reset()
	create(t, cp)
	got := waitCP(t, cp, "paused", condIs(infrav1.PausedCondition, metav1.ConditionTrue, clusterv1.PausedReason))
	writes.Settle(time.Second)
	if len(got.Finalizers) != 0 || writes.Total() != 1 {
		t.Errorf("paused control plane: finalizers %v, writes %s; want only the Paused condition", got.Finalizers, writes)
	}
	if err := gone(&infrav1.WorkspaceTemplateApply{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: applyName(cp)}}); err != nil {
		t.Error("WorkspaceTemplateApply created while paused")
	}
	testenv.Eventually(t, "unpause", func() error {
		c := getCluster(t, cluster)
		c.Spec.Paused = ptr.To(false)
		return env.Client.Update(ctx, c)
	})
	waitCP(t, cp, "unpaused", condIs(infrav1.PausedCondition, metav1.ConditionFalse, clusterv1.NotPausedReason))
	waitWorkspace(t, cp)
}

// TestTwentyClustersAtOnce creates 20 clusters, brings them Ready, deletes them all at
// once and checks that nothing is left.
func TestTwentyClustersAtOnce(t *testing.T) {
	ctx := context.Background()
	startControllers(t)
	ns := newNamespace(t)
	cps := make([]*controlplanev1.CAPTControlPlane, 0, 20)
	for i := range 20 {
		_, cp := newCluster(t, ns, fmt.Sprintf("c%02d", i))
		cps = append(cps, cp)
	}
	for _, cp := range cps {
		goodProvider(t).apply(t, cp)
	}
	for _, cp := range cps {
		waitReady(t, cp, cp.Name+" Ready")
	}
	for _, cp := range cps {
		if err := env.Client.Delete(ctx, getCP(t, cp)); err != nil {
			t.Fatal(err)
		}
	}
	for _, cp := range cps {
		testenv.Eventually(t, cp.Name+" gone", func() error { return gone(&controlplanev1.CAPTControlPlane{ObjectMeta: cp.ObjectMeta}) })
	}
	for i := range 20 {
		assertNothingLeft(t, ns, fmt.Sprintf("c%02d", i))
	}
}

// TestDeletionWaitsForNodeGroups: a control plane deleted while a node group apply of its
// Cluster (one a CAPTMachinePool controls) is left does not start CAPTEP-0041's steps:
// the endpoint stays and its Deleting condition says what it waits for. Once the node
// group apply is gone, the deletion runs and the control plane goes, after it by etcd
// revision.
func TestDeletionWaitsForNodeGroups(t *testing.T) {
	ctx := context.Background()
	startControllers(t)
	ns := newNamespace(t)
	_, cp := readyCluster(t, ns, "workers")

	// A node group apply of the same Cluster, held by its own finalizer as the
	// WorkspaceTemplateApply controller holds it while its Workspace is destroyed.
	pool := &infrav1.WorkspaceTemplateApply{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "workers-pool-nodegroup", Labels: map[string]string{clusterv1.ClusterNameLabel: "workers"},
			Finalizers: []string{"test.capt.dev/destroying"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: infrav1.GroupVersion.String(), Kind: "CAPTMachinePool", Name: "workers-pool",
				UID: "00000000-0000-0000-0000-000000000001", Controller: ptr.To(true)}}},
		Spec: infrav1.WorkspaceTemplateApplySpec{TemplateRef: infrav1.WorkspaceTemplateReference{Name: "nodegroup"}},
	}
	create(t, pool)
	log := env.WatchRevisions(t, ns, &infrav1.WorkspaceTemplateApplyList{}, &controlplanev1.CAPTControlPlaneList{})
	if err := env.Client.Delete(ctx, getCP(t, cp)); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Delete(ctx, pool); err != nil {
		t.Fatal(err)
	}
	waitCP(t, cp, "waiting for the node groups", func(c *controlplanev1.CAPTControlPlane) error {
		if err := condIs(infrav1.DeletingCondition, metav1.ConditionTrue, controlplanev1.WaitingForNodeGroupsDeletionReason)(c); err != nil {
			return err
		}
		return contains(cond(c, infrav1.DeletingCondition).Message, pool.Name)
	})
	testenv.Consistently(t, "nothing of the control plane is deleted meanwhile", 2*time.Second, func() error {
		c := getCP(t, cp)
		if c.Spec.ControlPlaneEndpoint.IsZero() {
			return fmt.Errorf("the endpoint was cleared while a node group is left")
		}
		a := &infrav1.WorkspaceTemplateApply{}
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: applyName(cp)}, a); err != nil {
			return err
		}
		if !a.DeletionTimestamp.IsZero() {
			return fmt.Errorf("the control plane's apply is being deleted while a node group is left")
		}
		return nil
	})
	fresh := &infrav1.WorkspaceTemplateApply{}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(pool), fresh); err != nil {
		t.Fatal(err)
	}
	fresh.Finalizers = nil
	if err := env.Client.Update(ctx, fresh); err != nil {
		t.Fatal(err)
	}
	setWorkspaceFinalizers(t, cp, nil)
	testenv.Eventually(t, "control plane gone", func() error { return gone(&controlplanev1.CAPTControlPlane{ObjectMeta: cp.ObjectMeta}) })
	log.Await(t, "control plane gone", testenv.Deleted(cp.Name))
	log.Stop()
	log.InOrder(t,
		testenv.Step{What: "node group apply gone", Match: testenv.Deleted(pool.Name)},
		testenv.Step{What: "control plane apply deleting", Match: testenv.Deleting(applyName(cp))},
		testenv.Step{What: "control plane gone", Match: testenv.Deleted(cp.Name)},
	)
}
