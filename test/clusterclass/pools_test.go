package clusterclass

import (
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bootstrapv1 "github.com/capt-dev/capt/api/bootstrap/v1beta1"
	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/render"
	"github.com/capt-dev/capt/internal/testenv"
)

// TestTopologyMachinePool creates the example ClusterClass's Cluster with its machine
// pool: Cluster API's topology controller stamps out the MachinePool, its
// CAPTMachinePool (with the instance types a Cluster variable gives the class's patch)
// and its CAPTNodeGroupBootstrap; Cluster API's MachinePool controller takes the
// bootstrap config's empty data secret; the pool's node group is created once the control
// plane is up. A version bump of the topology then upgrades the control plane first and
// the pool after it: checked by etcd revision, no node group Workspace carries the new
// minor before the control plane's status.version has it.
func TestTopologyMachinePool(t *testing.T) {
	ctx := context.Background()
	startControllers(t)
	const ns = "topology-pools"
	log := env.WatchRevisions(t, "", &controlplanev1.CAPTControlPlaneList{}, &clusterv1.MachinePoolList{}, api.NewList())
	if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"vpc", "eks", "nodegroup"} {
		if err := env.Client.Create(ctx, &infrav1.WorkspaceTemplate{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: infrav1.WorkspaceTemplateSpec{Template: infrav1.WorkspaceTemplateDefinition{Spec: infrav1.WorkspaceSpec{
				ForProvider: infrav1.WorkspaceParameters{Source: "Inline", Module: `variable "cluster_name" {}`}}}}}); err != nil {
			t.Fatal(err)
		}
	}
	applyManifests(t, ns, "clusterclass.yaml")
	applyManifests(t, ns, "cluster.yaml", func(u *unstructured.Unstructured) {
		if err := unstructured.SetNestedField(u.Object, "v1.30.0", "spec", "topology", "version"); err != nil {
			t.Fatal(err)
		}
		vars, _, _ := unstructured.NestedSlice(u.Object, "spec", "topology", "variables")
		vars = append(vars, map[string]any{"name": "nodeInstanceTypes", "value": []any{"m7g.large"}})
		if err := unstructured.SetNestedSlice(u.Object, vars, "spec", "topology", "variables"); err != nil {
			t.Fatal(err)
		}
	})

	// The topology controller stamps out the pool.
	cluster := &clusterv1.Cluster{}
	mp := &clusterv1.MachinePool{}
	testenv.Eventually(t, "topology creates the MachinePool", func() error {
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "demo"}, cluster); err != nil {
			return err
		}
		pools := &clusterv1.MachinePoolList{}
		if err := env.Client.List(ctx, pools, client.InNamespace(ns), client.MatchingLabels{clusterv1.ClusterNameLabel: "demo"}); err != nil {
			return err
		}
		if len(pools.Items) != 1 || !cluster.Spec.ControlPlaneRef.IsDefined() {
			return fmt.Errorf("%d MachinePools, control plane ref %+v", len(pools.Items), cluster.Spec.ControlPlaneRef)
		}
		*mp = pools.Items[0]
		return nil
	})
	spec := mp.Spec.Template.Spec
	if spec.InfrastructureRef.Kind != "CAPTMachinePool" || spec.Bootstrap.ConfigRef.Kind != "CAPTNodeGroupBootstrap" || ptr.Deref(mp.Spec.Replicas, 0) != 2 {
		t.Fatalf("MachinePool %s: infrastructure %+v, bootstrap %+v, replicas %v", mp.Name, spec.InfrastructureRef, spec.Bootstrap.ConfigRef, mp.Spec.Replicas)
	}
	pool := &infrav1.CAPTMachinePool{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: spec.InfrastructureRef.Name}}
	testenv.Eventually(t, "the CAPTMachinePool from the template and the class's patch", func() error {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(pool), pool); err != nil {
			return err
		}
		s := pool.Spec
		if s.WorkspaceTemplateRef.Name != "nodegroup" || !slices.Equal(s.InstanceTypes, []string{"m7g.large"}) ||
			s.Scaling == nil || ptr.Deref(s.Scaling.MinSize, -1) != 1 || ptr.Deref(s.Scaling.MaxSize, -1) != 10 {
			return fmt.Errorf("spec %+v", s)
		}
		return nil
	})

	// Cluster API's MachinePool controller owns the bootstrap config; CAPT says it needs
	// no data; Cluster API takes the empty data secret.
	boot := &bootstrapv1.CAPTNodeGroupBootstrap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: spec.Bootstrap.ConfigRef.Name}}
	testenv.Eventually(t, "the bootstrap contract fulfilled", func() error {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(boot), boot); err != nil {
			return err
		}
		if !ptr.Deref(boot.Status.Initialization.DataSecretCreated, false) || !boot.Status.Ready || boot.Status.DataSecretName == nil {
			return fmt.Errorf("bootstrap status %+v", boot.Status)
		}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(mp), mp); err != nil {
			return err
		}
		if !ptr.Deref(mp.Status.Initialization.BootstrapDataSecretCreated, false) || ptr.Deref(mp.Spec.Template.Spec.Bootstrap.DataSecretName, "x") != "" {
			return fmt.Errorf("MachinePool bootstrap %+v, status %+v", mp.Spec.Template.Spec.Bootstrap, mp.Status.Initialization)
		}
		return nil
	})

	// The VPC, the control plane at v1.30.0, then the node group at v1.30.0.
	cc := &infrav1.CAPTCluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: cluster.Spec.InfrastructureRef.Name}}
	cp := &controlplanev1.CAPTControlPlane{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: cluster.Spec.ControlPlaneRef.Name}}
	cpWorkspace := render.WorkspaceName(api, ns, render.ChildName(cp.Name, "controlplane"))
	ngWorkspace := render.WorkspaceName(api, ns, render.ChildName(pool.Name, "nodegroup"))
	endpoint := map[string]any{"cluster_endpoint": "https://demo.eks.example.com"}
	provide(t, ns, render.WorkspaceName(api, ns, render.ChildName(cc.Name, "vpc")), map[string]any{
		"vpc_id": "vpc-0123456789abcdef0", "private_subnet_ids": []any{"subnet-a"}, "availability_zones": []any{"ap-northeast-1a"}}, nil)
	ca, err := testenv.NewCACertificatePEM()
	if err != nil {
		t.Fatal(err)
	}
	waitWorkspaceVersion(t, cpWorkspace, "v1.30.0")
	provide(t, ns, cpWorkspace, endpoint, map[string]string{render.ChildName(cp.Name, "controlplane-outputs"): base64.StdEncoding.EncodeToString(ca)})
	waitWorkspaceVersion(t, ngWorkspace, "v1.30.0")
	nodeGroup := func(minor string) map[string]any {
		return map[string]any{"node_group_name": "pool-0", "kubernetes_version": minor}
	}
	provide(t, ns, ngWorkspace, nodeGroup("1.30"), nil)
	waitPool(t, pool, "v1.30.0")

	// One minor up: the control plane first, then the pool.
	testenv.Eventually(t, "set spec.topology.version v1.31.0", func() error {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(cluster), cluster); err != nil {
			return err
		}
		cluster.Spec.Topology.Version = "v1.31.0"
		return env.Client.Update(ctx, cluster)
	})
	waitWorkspaceVersion(t, cpWorkspace, "v1.31.0")
	provide(t, ns, cpWorkspace, endpoint, nil)
	waitWorkspaceVersion(t, ngWorkspace, "v1.31.0")
	provide(t, ns, ngWorkspace, nodeGroup("1.31"), nil)
	waitPool(t, pool, "v1.31.0")

	// In etcd order: the control plane reported v1.31.0 before the MachinePool asked for
	// it and before the node group Workspace carried it, and the node group Workspace never
	// carried a minor the control plane's status did not have.
	log.InOrder(t,
		testenv.Step{What: "CAPTControlPlane status.version v1.31.0", Match: cpMatch(cp.Name, func(c *controlplanev1.CAPTControlPlane) bool { return c.Status.Version == "v1.31.0" })},
		testenv.Step{What: "MachinePool version v1.31.0", Match: func(c testenv.Change) bool {
			o, ok := c.Object.(*clusterv1.MachinePool)
			return ok && o.Namespace == ns && o.Spec.Template.Spec.Version == "v1.31.0"
		}},
		testenv.Step{What: "node group Workspace kubernetes_version 1.31.0", Match: wsMatch(ngWorkspace, func(w *unstructured.Unstructured) bool { return workspaceVersion(w) == "1.31.0" })},
	)
	changes := append(log.Changes(&controlplanev1.CAPTControlPlaneList{}), log.Changes(api.NewList())...)
	slices.SortFunc(changes, func(a, b testenv.Change) int { return cmp.Compare(a.Revision, b.Revision) })
	cpRunning := ""
	for _, c := range changes {
		switch o := c.Object.(type) {
		case *controlplanev1.CAPTControlPlane:
			if o.Namespace == ns && o.Status.Version != "" {
				cpRunning = o.Status.Version
			}
		case *unstructured.Unstructured:
			if o.GetName() != ngWorkspace {
				continue
			}
			if v := workspaceVersion(o); v != "" && !strings.HasPrefix(strings.TrimPrefix(cpRunning, "v"), minorOf(v)) {
				t.Errorf("revision %d: node group Workspace at %s while the control plane's status.version is %q", c.Revision, v, cpRunning)
			}
		}
	}
}

// minorOf cuts "1.31.0" to "1.31".
func minorOf(v string) string {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return v
	}
	return parts[0] + "." + parts[1]
}

// waitPool waits until the CAPTMachinePool runs version, with nothing rolling out.
func waitPool(t *testing.T, pool *infrav1.CAPTMachinePool, version string) {
	t.Helper()
	testenv.Eventually(t, "CAPTMachinePool at "+version, func() error {
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(pool), pool); err != nil {
			return err
		}
		if pool.Status.Version != version || !ptr.Deref(pool.Status.Initialization.Provisioned, false) {
			return fmt.Errorf("status %+v", pool.Status)
		}
		for _, c := range pool.Status.Conditions {
			if c.Type == infrav1.MachinePoolRollingOutCondition && c.Status != metav1.ConditionFalse {
				return fmt.Errorf("RollingOut %+v", c)
			}
		}
		return nil
	})
}
