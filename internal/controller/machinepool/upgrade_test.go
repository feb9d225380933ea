package machinepool

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/watch"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/testenv"
	"github.com/capt-dev/capt/internal/workspace"
)

// newFixtureWithControlPlane is newFixture whose Cluster names a CAPTControlPlane that
// reports version (status.version, as CAPT's control plane does once applied) and whose
// MachinePool asks for poolVersion. No control plane controller runs here: the test
// plays it by writing the control plane's status.
func newFixtureWithControlPlane(t *testing.T, ns, name, version, poolVersion string) (*fixture, *controlplanev1.CAPTControlPlane) {
	t.Helper()
	ctx := context.Background()
	f := newFixtureBeforeControlPlane(t, ns, name, 1, infrav1.CAPTMachinePoolSpec{}, nil)
	cp := &controlplanev1.CAPTControlPlane{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{clusterv1.ClusterNameLabel: name}},
		Spec:       controlplanev1.CAPTControlPlaneSpec{Version: version, WorkspaceTemplateRef: infrav1.WorkspaceTemplateReference{Name: "eks"}},
	}
	create(t, cp)
	setControlPlaneVersion(t, cp, version, version)
	testenv.Eventually(t, "the Cluster names its control plane", func() error {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(f.cluster), f.cluster); err != nil {
			return err
		}
		f.cluster.Spec.ControlPlaneRef = clusterv1.ContractVersionedObjectReference{APIGroup: controlplanev1.GroupVersion.Group, Kind: "CAPTControlPlane", Name: name}
		return env.Client.Update(ctx, f.cluster)
	})
	setPoolVersion(t, f.owner, poolVersion)
	markControlPlaneInitialized(t, f.cluster)
	return f, cp
}

// setControlPlaneVersion plays the control plane: spec.version asked, status.version run.
func setControlPlaneVersion(t *testing.T, cp *controlplanev1.CAPTControlPlane, spec, status string) {
	t.Helper()
	ctx := context.Background()
	testenv.Eventually(t, "control plane at "+status, func() error {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(cp), cp); err != nil {
			return err
		}
		if cp.Spec.Version != spec {
			cp.Spec.Version = spec
			if err := env.Client.Update(ctx, cp); err != nil {
				return err
			}
		}
		cp.Status.Version = status
		return env.Client.Status().Update(ctx, cp)
	})
}

func setPoolVersion(t *testing.T, owner *clusterv1.MachinePool, v string) {
	t.Helper()
	ctx := context.Background()
	testenv.Eventually(t, "MachinePool version "+v, func() error {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(owner), owner); err != nil {
			return err
		}
		owner.Spec.Template.Spec.Version = v
		return env.Client.Update(ctx, owner)
	})
}

func waitWorkspaceVersion(t *testing.T, mp *infrav1.CAPTMachinePool, v string) {
	t.Helper()
	testenv.Eventually(t, "node group Workspace at kubernetes_version "+v, func() error {
		got, err := workspaceVar(t, mp, "kubernetes_version")
		if err != nil {
			return err
		}
		if got != v {
			return fmt.Errorf("kubernetes_version %q", got)
		}
		return nil
	})
}

// applyVersion plays provider-terraform applying the node group at minor: Ready for the
// Workspace's generation, and the module's kubernetes_version output.
func applyVersion(t *testing.T, mp *infrav1.CAPTMachinePool, minor string) {
	t.Helper()
	provide(t, mp, map[string]any{NodeGroupNameOutput: "ng-" + mp.Name, VersionOutput: minor})
}

// TestPoolUpgradeStepsOneMinorAtATime: a MachinePool three minors ahead of its node group
// (the control plane already there) reaches the Workspace one minor at a time, each step
// only after the Workspace was Ready with the one before and its kubernetes_version output
// showed it (checked on every Workspace revision), while status.version and RollingOut
// say where it is. A Ready Workspace whose output still shows the previous minor (as
// provider-terraform v0.21 keeps Ready while it applies) is not a step done.
func TestPoolUpgradeStepsOneMinorAtATime(t *testing.T) {
	startControllers(t)
	ns := newNamespace(t)
	log := env.WatchRevisions(t, "", api.NewList())
	f, cp := newFixtureWithControlPlane(t, ns, "steps", "v1.30.0", "v1.30.0")
	waitWorkspaceVersion(t, f.mp, "1.30.0")
	applyVersion(t, f.mp, "1.30")
	waitMP(t, f.mp, "running v1.30.0", func(mp *infrav1.CAPTMachinePool) error {
		if mp.Status.Version != "v1.30.0" {
			return fmt.Errorf("status.version %q", mp.Status.Version)
		}
		return condIs(infrav1.MachinePoolRollingOutCondition, metav1.ConditionFalse, infrav1.MachinePoolNotRollingOutReason)(mp)
	})

	// The control plane went to v1.33 by itself; the MachinePool follows, three minors at once.
	setControlPlaneVersion(t, cp, "v1.33.0", "v1.33.0")
	setPoolVersion(t, f.owner, "v1.33.0")
	steps := []struct{ running, applying, minor string }{{"v1.30.0", "1.31", "1.31"}, {"v1.31", "1.32", "1.32"}, {"v1.32", "1.33.0", "1.33"}}
	for i, step := range steps {
		waitWorkspaceVersion(t, f.mp, step.applying)
		waitMP(t, f.mp, "rolling out "+step.applying, func(mp *infrav1.CAPTMachinePool) error {
			rolling := cond(mp, infrav1.MachinePoolRollingOutCondition)
			if mp.Status.Version != step.running || rolling.Status != metav1.ConditionTrue || !strings.Contains(rolling.Message, "running "+step.running) {
				return fmt.Errorf("status.version %q, RollingOut %+v", mp.Status.Version, rolling)
			}
			return nil
		})
		if i == 0 {
			// Ready again, the output still at the previous minor: not applied yet.
			applyVersion(t, f.mp, "1.30")
			waitMP(t, f.mp, "the apply's Ready seen", condIs(infrav1.WorkspaceReadyCondition, metav1.ConditionTrue, infrav1.ReadyReason))
			if got := getMP(t, f.mp); got.Status.Version != "v1.30.0" {
				t.Fatalf("status.version %q after a Ready that shows v1.30, want v1.30.0", got.Status.Version)
			}
			if got, _ := workspaceVar(t, f.mp, "kubernetes_version"); got != "1.31" {
				t.Fatalf("kubernetes_version %q before 1.31 was shown applied", got)
			}
		}
		applyVersion(t, f.mp, step.minor)
	}
	waitMP(t, f.mp, "running v1.33.0", func(mp *infrav1.CAPTMachinePool) error {
		if mp.Status.Version != "v1.33.0" {
			return fmt.Errorf("status.version %q", mp.Status.Version)
		}
		return condIs(infrav1.MachinePoolRollingOutCondition, metav1.ConditionFalse, infrav1.MachinePoolNotRollingOutReason)(mp)
	})

	// Every revision of the Workspace, in etcd order: each version only after the
	// Workspace was Ready with the one before and showed it.
	name := workspaceName(f.mp)
	var versions []string
	shown := false
	for _, c := range log.Changes(api.NewList()) {
		if c.Object.GetName() != name || c.Type == watch.Deleted {
			continue
		}
		w, err := workspace.FromUnstructured(c.Object.(*unstructured.Unstructured))
		if err != nil {
			t.Fatal(err)
		}
		v := varOf(w, "kubernetes_version")
		if len(versions) == 0 || versions[len(versions)-1] != v {
			if len(versions) > 0 && !shown {
				t.Errorf("revision %d: kubernetes_version %s before the Workspace showed %s applied", c.Revision, v, versions[len(versions)-1])
			}
			versions = append(versions, v)
		}
		ready := w.Condition(workspace.ConditionReady)
		shown = ready != nil && ready.Status == metav1.ConditionTrue && ready.ObservedGeneration == w.Generation &&
			strings.HasPrefix(v, workspace.ReadOutputs(w, nil)[VersionOutput])
	}
	if want := []string{"1.30.0", "1.31", "1.32", "1.33.0"}; !slices.Equal(versions, want) {
		t.Errorf("kubernetes_version took %v, want %v", versions, want)
	}
}

// TestPoolWaitsForTheControlPlane: a MachinePool bumped together with its control plane
// (no topology controller to order them) stays at the version the control plane runs,
// and says so in RollingOut, until the control plane reports the new one; its report alone
// (a status.version change) brings the step.
func TestPoolWaitsForTheControlPlane(t *testing.T) {
	startControllers(t)
	ns := newNamespace(t)
	f, cp := newFixtureWithControlPlane(t, ns, "waits", "v1.30.0", "v1.30.0")
	waitWorkspaceVersion(t, f.mp, "1.30.0")
	applyVersion(t, f.mp, "1.30")
	waitMP(t, f.mp, "running v1.30.0", func(mp *infrav1.CAPTMachinePool) error {
		if mp.Status.Version != "v1.30.0" {
			return fmt.Errorf("status.version %q", mp.Status.Version)
		}
		return nil
	})

	// Both bumped at once: the control plane is still upgrading (status.version v1.30.0).
	setControlPlaneVersion(t, cp, "v1.31.0", "v1.30.0")
	setPoolVersion(t, f.owner, "v1.31.0")
	waitMP(t, f.mp, "held behind the control plane", func(mp *infrav1.CAPTMachinePool) error {
		rolling := cond(mp, infrav1.MachinePoolRollingOutCondition)
		if rolling.Reason != infrav1.WaitingForControlPlaneUpgradeReason || !strings.Contains(rolling.Message, "the control plane runs v1.30.0") {
			return fmt.Errorf("RollingOut %+v", rolling)
		}
		return nil
	})
	if got, err := applyVar(t, f.mp, "kubernetes_version"); err != nil || got != "1.30.0" {
		t.Fatalf("the node group's apply asks for %q (%v) while the control plane runs v1.30.0", got, err)
	}

	// The control plane reports v1.31.0: the node group follows.
	setControlPlaneVersion(t, cp, "v1.31.0", "v1.31.0")
	waitWorkspaceVersion(t, f.mp, "1.31.0")
	applyVersion(t, f.mp, "1.31")
	waitMP(t, f.mp, "running v1.31.0", func(mp *infrav1.CAPTMachinePool) error {
		if mp.Status.Version != "v1.31.0" {
			return fmt.Errorf("status.version %q", mp.Status.Version)
		}
		return condIs(infrav1.MachinePoolRollingOutCondition, metav1.ConditionFalse, infrav1.MachinePoolNotRollingOutReason)(mp)
	})
}

// varOf reads one string variable of a Workspace.
func varOf(w *workspace.Workspace, key string) string {
	vars := map[string]any{}
	if m := w.Spec.ForProvider.VarMap; m != nil {
		_ = json.Unmarshal(m.Raw, &vars)
	}
	v, _ := vars[key].(string)
	return v
}
