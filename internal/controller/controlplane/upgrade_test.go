package controlplane

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/watch"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/testenv"
	"github.com/capt-dev/capt/internal/workspace"
)

// TestUpgradeStepsOneMinorAtATime: spec.version three minors ahead of the running
// version reaches the Workspace one minor at a time, each step only after the Workspace
// was Ready with the one before (checked on every Workspace revision), while
// status.version and RollingOut say where the upgrade is and the control plane stays
// Available. A version set before the control plane is initialized is applied as is.
func TestUpgradeStepsOneMinorAtATime(t *testing.T) {
	startControllers(t)
	ns := newNamespace(t)
	log := env.WatchRevisions(t, "", api.NewList())

	// Not initialized: nothing runs yet, the version is created as is.
	_, fresh := newClusterAt(t, ns, "fresh", "v1.29")
	waitWorkspaceVersion(t, fresh, "1.29")
	setVersion(t, fresh, "v1.32")
	waitWorkspaceVersion(t, fresh, "1.32")

	_, cp := newClusterAt(t, ns, "stepped", "v1.29")
	goodProvider(t).apply(t, cp)
	waitCP(t, cp, "running v1.29", func(c *controlplanev1.CAPTControlPlane) error {
		if c.Status.Version != "v1.29" || cond(c, infrav1.ReadyCondition).Status != metav1.ConditionTrue {
			return fmt.Errorf("version %q, Ready %+v", c.Status.Version, cond(c, infrav1.ReadyCondition))
		}
		return condIs(controlplanev1.RollingOutCondition, metav1.ConditionFalse, controlplanev1.NotRollingOutReason)(c)
	})

	setVersion(t, cp, "v1.32")
	for _, step := range []struct{ running, applying string }{{"v1.29", "1.30"}, {"v1.30", "1.31"}, {"v1.31", "1.32"}} {
		waitWorkspaceVersion(t, cp, step.applying)
		waitCP(t, cp, "rolling out "+step.applying, func(c *controlplanev1.CAPTControlPlane) error {
			rolling := cond(c, controlplanev1.RollingOutCondition)
			switch {
			case c.Status.Version != step.running:
				return fmt.Errorf("status.version %q, want %s", c.Status.Version, step.running)
			case rolling.Status != metav1.ConditionTrue || !strings.Contains(rolling.Message, "running "+step.running):
				return fmt.Errorf("RollingOut %+v", rolling)
			case cond(c, controlplanev1.AvailableCondition).Status != metav1.ConditionTrue:
				return fmt.Errorf("not Available during the upgrade: %+v", cond(c, controlplanev1.AvailableCondition))
			}
			return nil
		})
		goodProvider(t).apply(t, cp)
	}
	waitCP(t, cp, "upgraded to v1.32", func(c *controlplanev1.CAPTControlPlane) error {
		if c.Status.Version != "v1.32" || cond(c, infrav1.ReadyCondition).Status != metav1.ConditionTrue {
			return fmt.Errorf("version %q, Ready %+v", c.Status.Version, cond(c, infrav1.ReadyCondition))
		}
		return condIs(controlplanev1.RollingOutCondition, metav1.ConditionFalse, controlplanev1.NotRollingOutReason)(c)
	})

	// Every revision of the Workspace: its versions in order, and none before the
	// Workspace was Ready with the previous one (Ready for the generation that carried it).
	var versions []string
	readyWithCurrent := false
	for _, c := range log.Changes(api.NewList()) {
		if c.Object.GetName() != workspaceName(cp) || c.Type == watch.Deleted {
			continue
		}
		u := c.Object.(*unstructured.Unstructured)
		v := workspaceVersion(u)
		if len(versions) == 0 || versions[len(versions)-1] != v {
			if len(versions) > 0 && !readyWithCurrent {
				t.Errorf("revision %d: kubernetes_version %s before the Workspace was Ready with %s", c.Revision, v, versions[len(versions)-1])
			}
			versions = append(versions, v)
		}
		w, _ := workspace.FromUnstructured(u)
		ready := w.Condition(workspace.ConditionReady)
		readyWithCurrent = ready != nil && ready.Status == metav1.ConditionTrue && ready.ObservedGeneration == w.Generation
	}
	if want := []string{"1.29", "1.30", "1.31", "1.32"}; !slices.Equal(versions, want) {
		t.Errorf("Workspace versions %v, want %v", versions, want)
	}
}

func setVersion(t *testing.T, cp *controlplanev1.CAPTControlPlane, v string) {
	t.Helper()
	testenv.Eventually(t, "set spec.version "+v, func() error {
		c := getCP(t, cp)
		c.Spec.Version = v
		return env.Client.Update(context.Background(), c)
	})
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

func waitWorkspaceVersion(t *testing.T, cp *controlplanev1.CAPTControlPlane, want string) {
	t.Helper()
	testenv.Eventually(t, "Workspace at kubernetes_version "+want, func() error {
		if got := workspaceVersion(waitWorkspace(t, cp)); got != want {
			return fmt.Errorf("kubernetes_version %q", got)
		}
		return nil
	})
}

// TestUpgradeWaitsForTheVersionOutput plays provider-terraform v0.21, which reports no
// generation and keeps Ready=True from the previous apply while it applies a change: a
// step counts as applied only when the module's cluster_version output shows it, and a
// module without that output leaves the upgrade waiting with a message saying so.
func TestUpgradeWaitsForTheVersionOutput(t *testing.T) {
	startControllers(t)
	ns := newNamespace(t)
	_, cp := newClusterAt(t, ns, "old-provider", "v1.29")
	goodProvider(t).apply(t, cp)
	waitCP(t, cp, "running v1.29", func(c *controlplanev1.CAPTControlPlane) error {
		if c.Status.Version != "v1.29" {
			return fmt.Errorf("status.version %q", c.Status.Version)
		}
		return nil
	})

	// No version output, no generation: Ready proves nothing, the upgrade waits and says why.
	oldProvider(t, cp, "", true)
	setVersion(t, cp, "v1.31")
	waitWorkspaceVersion(t, cp, "1.30")
	oldProvider(t, cp, "", true)
	waitCP(t, cp, "waiting, saying why", func(c *controlplanev1.CAPTControlPlane) error {
		if c.Status.Version != "v1.29" || !strings.Contains(cond(c, controlplanev1.RollingOutCondition).Message, "cluster_version") {
			return fmt.Errorf("status.version %q, RollingOut %+v", c.Status.Version, cond(c, controlplanev1.RollingOutCondition))
		}
		return nil
	})
	// The output still says the previous version: not applied yet.
	oldProvider(t, cp, "1.29", true)
	testenv.Consistently(t, "no step before the output shows 1.30", 2*time.Second, func() error {
		c := getCP(t, cp)
		if v := workspaceVersion(waitWorkspace(t, cp)); v != "1.30" || c.Status.Version != "v1.29" {
			return fmt.Errorf("Workspace at %s, status.version %s", v, c.Status.Version)
		}
		return nil
	})
	// The output shows 1.30 but the apply failed afterwards (a later resource): the
	// Workspace is not Ready with it, no step.
	oldProvider(t, cp, "1.30", false)
	testenv.Consistently(t, "no step while the apply that shows 1.30 failed", 2*time.Second, func() error {
		if v := workspaceVersion(waitWorkspace(t, cp)); v != "1.30" {
			return fmt.Errorf("Workspace at %s", v)
		}
		return nil
	})
	oldProvider(t, cp, "1.30", true)
	waitWorkspaceVersion(t, cp, "1.31")
	oldProvider(t, cp, "1.31", true)
	waitCP(t, cp, "upgraded to v1.31", func(c *controlplanev1.CAPTControlPlane) error {
		if c.Status.Version != "v1.31" || cond(c, infrav1.ReadyCondition).Status != metav1.ConditionTrue {
			return fmt.Errorf("status.version %q, Ready %+v", c.Status.Version, cond(c, infrav1.ReadyCondition))
		}
		return nil
	})
}

// oldProvider sets the Workspace's status as provider-terraform v0.21 does: Ready True
// without observedGeneration, Synced True (or False after a failed apply, Ready kept), and
// the outputs, with cluster_version when version is set.
func oldProvider(t *testing.T, cp *controlplanev1.CAPTControlPlane, version string, synced bool) {
	t.Helper()
	testenv.Eventually(t, "set Workspace status", func() error {
		u := waitWorkspace(t, cp)
		now := "2026-01-01T00:00:00Z" // unchanged since the first apply, as Crossplane keeps it
		conds := []any{
			map[string]any{"type": "Synced", "status": "True", "reason": "ReconcileSuccess", "lastTransitionTime": now},
			map[string]any{"type": "Ready", "status": "True", "reason": "Available", "lastTransitionTime": now},
		}
		if !synced {
			conds[0] = map[string]any{"type": "Synced", "status": "False", "reason": "ReconcileError", "message": "apply failed: Error: creating addon", "lastTransitionTime": now}
		}
		outputs := map[string]any{"cluster_endpoint": "https://ABCDEF.gr7.us-west-2.eks.amazonaws.com"}
		if version != "" {
			outputs["cluster_version"] = version
		}
		_ = unstructured.SetNestedSlice(u.Object, conds, "status", "conditions")
		_ = unstructured.SetNestedMap(u.Object, outputs, "status", "atProvider", "outputs")
		return env.Client.Status().Update(context.Background(), u)
	})
}
