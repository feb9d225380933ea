package reliability

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/util/conditions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/kubeconfig"
	"github.com/capt-dev/capt/internal/render"
	"github.com/capt-dev/capt/internal/testenv"
	"github.com/capt-dev/capt/internal/workspace"
)

// scenario is one Cluster in its own namespace (both named name), its objects and the
// record of every change to them.
type scenario struct {
	t    testing.TB
	name string
	rec  *recorder
	// timeout bounds each wait: testenv.WaitTimeout unless a fault needs longer.
	timeout time.Duration
}

// eventually retries check until it returns nil, failing the test after s.timeout.
func (s *scenario) eventually(what string, check func() error) {
	s.t.Helper()
	var err error
	start := time.Now()
	for deadline := start.Add(s.timeout); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if err = check(); err == nil {
			testenv.Converged(s.t, what, time.Since(start))
			return
		}
	}
	s.t.Fatalf("%s: still not true after %s: %v", what, s.timeout, err)
}

// newScenario creates the namespace, the two WorkspaceTemplates and starts recording.
func newScenario(t testing.TB, name string) *scenario {
	t.Helper()
	ctx := context.Background()
	s := &scenario{t: t, name: name, timeout: testenv.WaitTimeout}
	mustCreate(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	for _, tmpl := range []string{"vpc", "eks"} {
		mustCreate(t, &infrav1.WorkspaceTemplate{
			ObjectMeta: metav1.ObjectMeta{Namespace: name, Name: tmpl},
			Spec: infrav1.WorkspaceTemplateSpec{Template: infrav1.WorkspaceTemplateDefinition{Spec: infrav1.WorkspaceSpec{
				ForProvider: infrav1.WorkspaceParameters{Source: "Inline", Module: `variable "cluster_name" {}`}}}},
		})
	}
	rec, err := startRecorder(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		rec.stop()
		if missed := rec.missed(); len(missed) > 0 {
			t.Errorf("the recorder could not follow every change, so nothing shows that no object was lost or created again: %s",
				strings.Join(missed, "; "))
		}
	})
	s.rec = rec
	return s
}

func mustCreate(t testing.TB, obj client.Object) {
	t.Helper()
	if err := stack.Client.Create(context.Background(), obj); err != nil {
		t.Fatalf("creating %T %s: %v", obj, obj.GetName(), err)
	}
}

// The scenario's object names.
func (s *scenario) key() client.ObjectKey { return client.ObjectKey{Namespace: s.name, Name: s.name} }
func (s *scenario) cpApply() string       { return render.ChildName(s.name, "controlplane") }
func (s *scenario) vpcApply() string      { return render.ChildName(s.name, "vpc") }
func (s *scenario) workspace(apply string) string {
	return render.WorkspaceName(workspace.DefaultAPI(), s.name, apply)
}

// createCluster creates the Cluster, its CAPTCluster and CAPTControlPlane, owned and
// labelled as Cluster API's core does it.
func (s *scenario) createCluster() {
	s.t.Helper()
	cluster := &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: s.name, Name: s.name},
		Spec: clusterv1.ClusterSpec{
			InfrastructureRef: clusterv1.ContractVersionedObjectReference{APIGroup: infrav1.GroupVersion.Group, Kind: "CAPTCluster", Name: s.name},
			ControlPlaneRef:   clusterv1.ContractVersionedObjectReference{APIGroup: controlplanev1.GroupVersion.Group, Kind: "CAPTControlPlane", Name: s.name},
		}}
	mustCreate(s.t, cluster)
	meta := metav1.ObjectMeta{Namespace: s.name, Name: s.name, Labels: map[string]string{clusterv1.ClusterNameLabel: s.name},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: clusterv1.GroupVersion.String(), Kind: "Cluster", Name: s.name, UID: cluster.UID}}}
	mustCreate(s.t, &infrav1.CAPTCluster{ObjectMeta: meta, Spec: infrav1.CAPTClusterSpec{Region: "zz-local-1",
		VPCTemplateRef: &infrav1.WorkspaceTemplateReference{Name: "vpc"}}})
	mustCreate(s.t, &controlplanev1.CAPTControlPlane{ObjectMeta: *meta.DeepCopy(),
		Spec: controlplanev1.CAPTControlPlaneSpec{Version: "v1.31.2", WorkspaceTemplateRef: infrav1.WorkspaceTemplateReference{Name: "eks"}}})
}

// provisioned returns nil once the Cluster is provisioned as Cluster API sees it: the
// infrastructure provisioned, the control plane initialized and available, the endpoint
// on the Cluster, both contract secrets written.
func (s *scenario) provisioned() error {
	ctx := context.Background()
	cc, cp, cluster := &infrav1.CAPTCluster{}, &controlplanev1.CAPTControlPlane{}, &clusterv1.Cluster{}
	for _, obj := range []client.Object{cc, cp, cluster} {
		if err := stack.Client.Get(ctx, s.key(), obj); err != nil {
			return err
		}
	}
	switch {
	case cc.Status.Initialization.Provisioned == nil || !*cc.Status.Initialization.Provisioned:
		return fmt.Errorf("CAPTCluster not provisioned: %v", cc.Status.Conditions)
	case !conditions.IsTrue(cc, infrav1.ReadyCondition):
		return fmt.Errorf("CAPTCluster not Ready: %v", cc.Status.Conditions)
	case cp.Status.Initialization.ControlPlaneInitialized == nil || !*cp.Status.Initialization.ControlPlaneInitialized:
		return fmt.Errorf("control plane not initialized: %v", cp.Status.Conditions)
	case !conditions.IsTrue(cp, controlplanev1.AvailableCondition) || !conditions.IsTrue(cp, infrav1.ReadyCondition):
		return fmt.Errorf("control plane not Available and Ready: %v", cp.Status.Conditions)
	case cluster.Spec.ControlPlaneEndpoint.IsZero():
		return fmt.Errorf("no endpoint on the Cluster")
	}
	for _, name := range []string{kubeconfig.SecretName(s.name), kubeconfig.CASecretName(s.name)} {
		secret := &corev1.Secret{}
		if err := stack.Client.Get(ctx, client.ObjectKey{Namespace: s.name, Name: name}, secret); err != nil {
			return err
		}
		if !metav1.IsControlledBy(secret, cp) {
			return fmt.Errorf("secret %s is not controlled by the control plane", name)
		}
	}
	return nil
}

func (s *scenario) waitProvisioned() {
	s.t.Helper()
	s.eventually(s.name+" provisioned", s.provisioned)
}

// deleteAsClusterAPI deletes as Cluster API's core does: the control plane, and once it
// is gone the infrastructure, and once that is gone the Cluster.
func (s *scenario) deleteAsClusterAPI() {
	s.t.Helper()
	for _, obj := range []client.Object{
		&controlplanev1.CAPTControlPlane{}, &infrav1.CAPTCluster{}, &clusterv1.Cluster{},
	} {
		obj.SetNamespace(s.name)
		obj.SetName(s.name)
		if err := stack.Client.Delete(context.Background(), obj); client.IgnoreNotFound(err) != nil {
			s.t.Fatalf("deleting %T: %v", obj, err)
		}
		s.eventually(fmt.Sprintf("%T %s gone", obj, s.name), func() error { return gone(obj) })
	}
}

func gone(obj client.Object) error {
	err := stack.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj)
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return err
	default:
		return fmt.Errorf("%T %s still exists (finalizers %v, conditions %s)", obj, obj.GetName(), obj.GetFinalizers(), conditionSummary(obj))
	}
}

// conditionSummary shows an object's conditions for a failure message.
func conditionSummary(obj client.Object) string {
	getter, ok := obj.(conditions.Getter)
	if !ok {
		return "-"
	}
	var parts []string
	for _, c := range getter.GetConditions() {
		parts = append(parts, fmt.Sprintf("%s=%s/%s: %s", c.Type, c.Status, c.Reason, c.Message))
	}
	return strings.Join(parts, "; ")
}

// left lists what deletion must have removed and is still there.
func (s *scenario) left() []string {
	ctx := context.Background()
	var out []string
	for _, l := range []client.ObjectList{
		&clusterv1.ClusterList{}, &infrav1.CAPTClusterList{}, &controlplanev1.CAPTControlPlaneList{}, &infrav1.WorkspaceTemplateApplyList{},
	} {
		if err := stack.Client.List(ctx, l, client.InNamespace(s.name)); err != nil {
			return []string{err.Error()}
		}
		items, _ := metaItems(l)
		out = append(out, items...)
	}
	workspaces := workspace.DefaultAPI().NewList()
	if err := stack.Client.List(ctx, workspaces, client.MatchingLabels{clusterv1.ClusterNameLabel: s.name}); err != nil {
		return []string{err.Error()}
	}
	for _, w := range workspaces.Items {
		out = append(out, "Workspace "+w.GetName())
	}
	secrets := &corev1.SecretList{}
	if err := stack.Client.List(ctx, secrets, client.InNamespace(s.name), client.HasLabels{clusterv1.ClusterNameLabel}); err != nil {
		return []string{err.Error()}
	}
	for _, sec := range secrets.Items {
		out = append(out, "Secret "+sec.Name)
	}
	return out
}

func metaItems(l client.ObjectList) ([]string, error) {
	objs, err := meta.ExtractList(l)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, o := range objs {
		if m, ok := o.(client.Object); ok {
			out = append(out, fmt.Sprintf("%T %s", o, m.GetName()))
		}
	}
	return out, nil
}

// checkNothingLeft fails when deletion left anything behind.
func (s *scenario) checkNothingLeft() {
	s.t.Helper()
	s.eventually(s.name+": nothing left", func() error {
		if l := s.left(); len(l) > 0 {
			return fmt.Errorf("left: %v", l)
		}
		return nil
	})
}

// checkNotRecreated fails when an object was created again after its deletion, and
// returns how many objects count as lost. A change the recorder could not follow counts
// too (the scenario's cleanup fails the test for it): nothing then shows that no object
// was lost.
func (s *scenario) checkNotRecreated() int {
	s.t.Helper()
	again := s.rec.recreated()
	if len(again) > 0 {
		s.t.Errorf("created again after deletion: %s", strings.Join(again, ", "))
	}
	return len(again) + len(s.rec.missed())
}

func deletingOf(kind, name string) func(recorded) bool {
	return func(e recorded) bool { return e.kind == kind && e.name == name && e.deleting }
}

func goneOf(kind, name string) func(recorded) bool {
	return func(e recorded) bool { return e.kind == kind && e.name == name && e.typ == watch.Deleted }
}

// checkDeletionOrder checks CAPTEP-0041's order for both of the Cluster's Workspaces by
// etcd revision: endpoint cleared, apply deleting, Workspace deleting, Workspace gone,
// apply gone, owner gone; the VPC only after the control plane is gone.
func (s *scenario) checkDeletionOrder() {
	s.t.Helper()
	cp, cc := "CAPTControlPlane", "CAPTCluster"
	apply, ws := "WorkspaceTemplateApply", workspace.Kind
	steps := []struct {
		what  string
		match func(recorded) bool
	}{
		{"control plane endpoint cleared", func(e recorded) bool { return e.kind == cp && e.deleting && e.endpoint == "" }},
		{"control plane apply deleting", deletingOf(apply, s.cpApply())},
		{"control plane Workspace deleting", deletingOf(ws, s.workspace(s.cpApply()))},
		{"control plane Workspace gone", goneOf(ws, s.workspace(s.cpApply()))},
		{"control plane apply gone", goneOf(apply, s.cpApply())},
		{"CAPTControlPlane gone", goneOf(cp, s.name)},
		{"VPC apply deleting", deletingOf(apply, s.vpcApply())},
		{"VPC Workspace deleting", deletingOf(ws, s.workspace(s.vpcApply()))},
		{"VPC Workspace gone", goneOf(ws, s.workspace(s.vpcApply()))},
		{"VPC apply gone", goneOf(apply, s.vpcApply())},
		{"CAPTCluster gone", goneOf(cc, s.name)},
	}
	var prev int64
	var prevWhat string
	for _, step := range steps {
		rev := s.rec.first(step.match)
		if rev == 0 {
			s.t.Errorf("%s: step %q never seen", s.name, step.what)
			continue
		}
		if rev < prev {
			s.t.Errorf("%s: %q (revision %d) before %q (revision %d)", s.name, step.what, rev, prevWhat, prev)
		}
		prev, prevWhat = rev, step.what
	}
}
