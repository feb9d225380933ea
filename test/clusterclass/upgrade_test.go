package clusterclass

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/util/conditions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/render"
	"github.com/capt-dev/capt/internal/testenv"
	"github.com/capt-dev/capt/internal/workspace"
)

// TestTopologyChainedUpgrade bumps a topology-managed Cluster three minors at once and
// lets Cluster API's topology controller step it. The ClusterClass lists its Kubernetes
// versions (spec.kubernetesVersions), so Cluster API v1.14 computes an upgrade plan
// through every minor (without the list it refuses more than one minor) and sets the
// CAPTControlPlane's spec.version to each version of the plan only once the control
// plane is no longer upgrading: status.version, which CAPT sets when the Workspace was
// Ready with spec.version, equal to spec.version. The test plays provider-terraform at
// every step and checks the order of all writes by etcd revision.
func TestTopologyChainedUpgrade(t *testing.T) {
	ctx := context.Background()
	startControllers(t)
	const ns = "chained-upgrade"
	versions := []string{"v1.29.0", "v1.30.0", "v1.31.0", "v1.32.0"}
	log := env.WatchRevisions(t, "", &controlplanev1.CAPTControlPlaneList{}, &clusterv1.ClusterList{}, api.NewList())

	if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"vpc", "eks"} {
		if err := env.Client.Create(ctx, &infrav1.WorkspaceTemplate{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: infrav1.WorkspaceTemplateSpec{Template: infrav1.WorkspaceTemplateDefinition{Spec: infrav1.WorkspaceSpec{
				ForProvider: infrav1.WorkspaceParameters{Source: "Inline", Module: `variable "cluster_name" {}`}}}}}); err != nil {
			t.Fatal(err)
		}
	}
	// The example ClusterClass and Cluster, with the versions the class offers and the
	// Cluster at the oldest of them.
	applyManifests(t, ns, "clusterclass.yaml", withoutWorkers, func(u *unstructured.Unstructured) {
		if u.GetKind() == "ClusterClass" {
			if err := unstructured.SetNestedStringSlice(u.Object, versions, "spec", "kubernetesVersions"); err != nil {
				t.Fatal(err)
			}
		}
	})
	applyManifests(t, ns, "cluster.yaml", withoutWorkers, func(u *unstructured.Unstructured) {
		if err := unstructured.SetNestedField(u.Object, versions[0], "spec", "topology", "version"); err != nil {
			t.Fatal(err)
		}
	})

	cluster := &clusterv1.Cluster{}
	testenv.Eventually(t, "topology creates the infrastructure and control plane", func() error {
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "demo"}, cluster); err != nil {
			return err
		}
		if !cluster.Spec.InfrastructureRef.IsDefined() || !cluster.Spec.ControlPlaneRef.IsDefined() {
			return fmt.Errorf("refs not set yet: %+v", cluster.Spec)
		}
		return nil
	})
	cc := &infrav1.CAPTCluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: cluster.Spec.InfrastructureRef.Name}}
	cp := &controlplanev1.CAPTControlPlane{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: cluster.Spec.ControlPlaneRef.Name}}
	cpWorkspace := render.WorkspaceName(api, ns, render.ChildName(cp.Name, "controlplane"))
	endpoint := map[string]any{"cluster_endpoint": "https://demo.eks.example.com"}

	// Create the cluster at v1.29.0: provider-terraform applies the VPC, then the control plane.
	provide(t, ns, render.WorkspaceName(api, ns, render.ChildName(cc.Name, "vpc")), map[string]any{
		"vpc_id": "vpc-0123456789abcdef0", "availability_zones": []any{"ap-northeast-1a"}}, nil)
	ca, err := testenv.NewCACertificatePEM()
	if err != nil {
		t.Fatal(err)
	}
	waitWorkspaceVersion(t, cpWorkspace, versions[0])
	provide(t, ns, cpWorkspace, endpoint,
		map[string]string{render.ChildName(cp.Name, "controlplane-outputs"): base64.StdEncoding.EncodeToString(ca)})
	waitSettled(t, cluster, cp, versions[0])

	// Three minors at once.
	testenv.Eventually(t, "set spec.topology.version "+versions[3], func() error {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(cluster), cluster); err != nil {
			return err
		}
		cluster.Spec.Topology.Version = versions[3]
		return env.Client.Update(ctx, cluster)
	})

	// Each step: the topology controller raises spec.version by one minor, CAPT renders it
	// into the Workspace, provider-terraform applies it, CAPT reports it in status.version.
	for i, v := range versions[1:] {
		waitWorkspaceVersion(t, cpWorkspace, v)
		testenv.Eventually(t, "rolling out "+v, func() error {
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(cp), cp); err != nil {
				return err
			}
			rolling := apimeta.FindStatusCondition(cp.Status.Conditions, controlplanev1.RollingOutCondition)
			if cp.Spec.Version != v || cp.Status.Version != versions[i] || rolling == nil || rolling.Status != metav1.ConditionTrue {
				return fmt.Errorf("spec.version %s, status.version %s, RollingOut %+v", cp.Spec.Version, cp.Status.Version, rolling)
			}
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(cluster), cluster); err != nil {
				return err
			}
			if !conditions.IsTrue(cluster, clusterv1.ClusterRollingOutCondition) {
				return fmt.Errorf("Cluster RollingOut %+v", conditions.Get(cluster, clusterv1.ClusterRollingOutCondition))
			}
			return nil
		})
		provide(t, ns, cpWorkspace, endpoint, nil)
		testenv.Eventually(t, "status.version "+v, func() error {
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(cp), cp); err != nil {
				return err
			}
			if cp.Status.Version != v {
				return fmt.Errorf("status.version %q", cp.Status.Version)
			}
			return nil
		})
	}
	waitSettled(t, cluster, cp, versions[3])

	// Every revision, in etcd order: spec.version took each version in turn, each only
	// after status.version had reached the one before; the Workspace followed, and
	// status.version moved only after the Workspace was Ready with the new version.
	var steps []testenv.Step
	for i, v := range versions[1:] {
		prev := versions[i]
		steps = append(steps,
			testenv.Step{What: "status.version " + prev, Match: cpMatch(cp.Name, func(c *controlplanev1.CAPTControlPlane) bool { return c.Status.Version == prev })},
			testenv.Step{What: "spec.version " + v, Match: cpMatch(cp.Name, func(c *controlplanev1.CAPTControlPlane) bool { return c.Spec.Version == v })},
			testenv.Step{What: "Workspace kubernetes_version " + v, Match: wsMatch(cpWorkspace, func(w *unstructured.Unstructured) bool { return workspaceVersion(w) == terraformVersion(v) })},
			testenv.Step{What: "Workspace Ready with " + v, Match: wsMatch(cpWorkspace, func(w *unstructured.Unstructured) bool {
				return workspaceVersion(w) == terraformVersion(v) && readyForGeneration(w)
			})},
		)
	}
	steps = append(steps, testenv.Step{What: "status.version " + versions[3],
		Match: cpMatch(cp.Name, func(c *controlplanev1.CAPTControlPlane) bool { return c.Status.Version == versions[3] })})
	log.InOrder(t, steps...)

	var specVersions, statusVersions []string
	for _, c := range log.Changes(&controlplanev1.CAPTControlPlaneList{}) {
		o, ok := c.Object.(*controlplanev1.CAPTControlPlane)
		if !ok || o.Namespace != ns || o.Name != cp.Name || c.Type == watch.Deleted {
			continue
		}
		if len(specVersions) == 0 || specVersions[len(specVersions)-1] != o.Spec.Version {
			// The revision that raises spec.version carries the status it was raised over.
			if len(specVersions) > 0 && o.Status.Version != specVersions[len(specVersions)-1] {
				t.Errorf("revision %d: spec.version %s while status.version is %q, want %s", c.Revision, o.Spec.Version, o.Status.Version, specVersions[len(specVersions)-1])
			}
			specVersions = append(specVersions, o.Spec.Version)
		}
		if o.Status.Version != "" && (len(statusVersions) == 0 || statusVersions[len(statusVersions)-1] != o.Status.Version) {
			statusVersions = append(statusVersions, o.Status.Version)
		}
	}
	if !slices.Equal(specVersions, versions) {
		t.Errorf("CAPTControlPlane spec.version took %v, want %v", specVersions, versions)
	}
	if !slices.Equal(statusVersions, versions) {
		t.Errorf("CAPTControlPlane status.version took %v, want %v", statusVersions, versions)
	}

	var wsVersions []string
	readyWithCurrent := false
	for _, c := range log.Changes(api.NewList()) {
		if c.Object.GetName() != cpWorkspace || c.Type == watch.Deleted {
			continue
		}
		u := c.Object.(*unstructured.Unstructured)
		if v := workspaceVersion(u); len(wsVersions) == 0 || wsVersions[len(wsVersions)-1] != v {
			if len(wsVersions) > 0 && !readyWithCurrent {
				t.Errorf("revision %d: Workspace kubernetes_version %s before it was Ready with %s", c.Revision, v, wsVersions[len(wsVersions)-1])
			}
			wsVersions = append(wsVersions, v)
		}
		readyWithCurrent = readyForGeneration(u)
	}
	if want := []string{"1.29.0", "1.30.0", "1.31.0", "1.32.0"}; !slices.Equal(wsVersions, want) {
		t.Errorf("Workspace kubernetes_version took %v, want %v", wsVersions, want)
	}

	// Cluster API planned the whole upgrade at once: the first plan it reported names
	// every minor in between.
	var firstPlan []string
	for _, c := range log.Changes(&clusterv1.ClusterList{}) {
		o, ok := c.Object.(*clusterv1.Cluster)
		if !ok || o.Namespace != ns || o.Name != cluster.Name || o.Status.ControlPlane == nil || len(o.Status.ControlPlane.UpgradePlan) == 0 {
			continue
		}
		for _, p := range o.Status.ControlPlane.UpgradePlan {
			firstPlan = append(firstPlan, p.Version)
		}
		break
	}
	if !slices.Equal(firstPlan, versions[1:]) {
		t.Errorf("the Cluster's first control plane upgrade plan %v, want %v", firstPlan, versions[1:])
	}
}

// waitSettled waits until the Cluster's topology and the control plane are at version
// with nothing left to do: status.version is version, no upgrade plan, nothing rolling out.
func waitSettled(t *testing.T, cluster *clusterv1.Cluster, cp *controlplanev1.CAPTControlPlane, version string) {
	t.Helper()
	ctx := context.Background()
	testenv.Eventually(t, "settled at "+version, func() error {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(cp), cp); err != nil {
			return err
		}
		rolling := apimeta.FindStatusCondition(cp.Status.Conditions, controlplanev1.RollingOutCondition)
		switch {
		case !ptr.Deref(cp.Status.Initialization.ControlPlaneInitialized, false) || !cp.Status.SecretsReady:
			return fmt.Errorf("control plane not initialized: %+v", cp.Status)
		case cp.Spec.Version != version || cp.Status.Version != version:
			return fmt.Errorf("control plane spec.version %s, status.version %q", cp.Spec.Version, cp.Status.Version)
		case rolling == nil || rolling.Status != metav1.ConditionFalse:
			return fmt.Errorf("control plane RollingOut %+v", rolling)
		}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(cluster), cluster); err != nil {
			return err
		}
		topology := conditions.Get(cluster, clusterv1.ClusterTopologyReconciledCondition)
		switch {
		case cluster.Spec.Topology.Version != version:
			return fmt.Errorf("Cluster topology version %s", cluster.Spec.Topology.Version)
		case topology == nil || topology.Status != metav1.ConditionTrue || topology.ObservedGeneration != cluster.Generation:
			return fmt.Errorf("Cluster TopologyReconciled %+v at generation %d", topology, cluster.Generation)
		case cluster.Status.ControlPlane != nil && len(cluster.Status.ControlPlane.UpgradePlan) > 0:
			return fmt.Errorf("Cluster upgrade plan %+v", cluster.Status.ControlPlane.UpgradePlan)
		case !conditions.IsFalse(cluster, clusterv1.ClusterRollingOutCondition):
			return fmt.Errorf("Cluster RollingOut %+v", conditions.Get(cluster, clusterv1.ClusterRollingOutCondition))
		case cluster.Spec.ControlPlaneEndpoint.Host != "demo.eks.example.com":
			return fmt.Errorf("Cluster endpoint %+v", cluster.Spec.ControlPlaneEndpoint)
		}
		return nil
	})
}

func cpMatch(name string, match func(*controlplanev1.CAPTControlPlane) bool) func(testenv.Change) bool {
	return func(c testenv.Change) bool {
		o, ok := c.Object.(*controlplanev1.CAPTControlPlane)
		return ok && o.Name == name && c.Type != watch.Deleted && match(o)
	}
}

func wsMatch(name string, match func(*unstructured.Unstructured) bool) func(testenv.Change) bool {
	return func(c testenv.Change) bool {
		u, ok := c.Object.(*unstructured.Unstructured)
		return ok && u.GetName() == name && c.Type != watch.Deleted && match(u)
	}
}

// terraformVersion is a version as the Workspace's kubernetes_version variable takes it.
func terraformVersion(v string) string {
	return v[1:]
}

// workspaceVersion is the kubernetes_version the Workspace passes to Terraform.
func workspaceVersion(u *unstructured.Unstructured) string {
	w, err := workspace.FromUnstructured(u)
	if err != nil || w.Spec.ForProvider.VarMap == nil {
		return ""
	}
	var vars map[string]any
	_ = json.Unmarshal(w.Spec.ForProvider.VarMap.Raw, &vars)
	v, _ := vars["kubernetes_version"].(string)
	return v
}

// readyForGeneration: provider-terraform reported the Workspace Ready for its current spec.
func readyForGeneration(u *unstructured.Unstructured) bool {
	w, err := workspace.FromUnstructured(u)
	if err != nil {
		return false
	}
	ready := w.Condition(workspace.ConditionReady)
	return ready != nil && ready.Status == metav1.ConditionTrue && ready.ObservedGeneration == w.Generation
}

// waitWorkspaceVersion waits until the Workspace exists with the kubernetes_version of v.
func waitWorkspaceVersion(t *testing.T, name, v string) {
	t.Helper()
	testenv.Eventually(t, "Workspace "+name+" at kubernetes_version "+terraformVersion(v), func() error {
		u := api.NewObject()
		if err := env.Client.Get(context.Background(), client.ObjectKey{Name: name}, u); err != nil {
			return err
		}
		if got := workspaceVersion(u); got != terraformVersion(v) {
			return fmt.Errorf("kubernetes_version %q", got)
		}
		return nil
	})
}
