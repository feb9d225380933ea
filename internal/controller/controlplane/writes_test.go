package controlplane

import (
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
)

// TestOneWritePerTransition: a creation costs one status write per pass at most, each
// write changes what the API server has (none repeats a write the cache had not seen
// yet, none is a conflict retried), the first status carries Paused together with the
// rest, and the apply is created with its finalizer (issue: one write per transition).
func TestOneWritePerTransition(t *testing.T) {
	writes := startControllers(t)
	ns := newNamespace(t)
	revisions := env.WatchRevisions(t, ns, &controlplanev1.CAPTControlPlaneList{}, &infrav1.WorkspaceTemplateApplyList{})
	_, cp := newCluster(t, ns, "once")
	waitWorkspace(t, cp)
	goodProvider(t).apply(t, cp)
	waitReady(t, cp, "Ready")
	writes.Settle(time.Second)
	revisions.Stop()

	for kind, list := range map[string]client.ObjectList{
		"CAPTControlPlane": &controlplanev1.CAPTControlPlaneList{}, "WorkspaceTemplateApply": &infrav1.WorkspaceTemplateApplyList{},
	} {
		if most := writes.MostInOnePass("patch/status " + kind); most != 1 {
			t.Errorf("most status writes of a %s in one pass: %d, want 1", kind, most)
		}
		changes := revisions.StatusChanges(list)
		if n := writes.Count("patch/status " + kind); n != changes {
			t.Errorf("%s: %d status writes for %d status changes: a write changed nothing (a stale cache, a conflict); all writes: %s", kind, n, changes, writes)
		}
	}
	if n := writes.Count("patch WorkspaceTemplateApply"); n != 0 {
		t.Errorf("%d patches of the WorkspaceTemplateApply: it is created with its finalizer and spec", n)
	}
	for _, c := range revisions.Changes(&controlplanev1.CAPTControlPlaneList{}) {
		obj := c.Object.(*controlplanev1.CAPTControlPlane)
		if cs := obj.Status.Conditions; len(cs) == 1 && cs[0].Type == infrav1.PausedCondition {
			t.Errorf("revision %d has the Paused condition alone: the first pass writes it together with the rest", c.Revision)
		}
		// The endpoint is ready in the pass that sets it, because that pass writes the
		// spec before the status (CAPTEP-0014: never initialized without the endpoint).
		if obj.Status.Initialized && obj.Spec.ControlPlaneEndpoint.IsZero() {
			t.Errorf("revision %d: initialized without spec.controlPlaneEndpoint", c.Revision)
		}
	}
}
