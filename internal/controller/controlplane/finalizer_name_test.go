package controlplane

import (
	"slices"
	"testing"
)

// TestFinalizerNames pins the finalizer's name and the name objects written by CAPT up
// to v0.1 carry, which it must keep honouring (TestLegacyFinalizer in workspaceapply
// checks on the API server that a legacy name is replaced, and deletes cleanly).
func TestFinalizerNames(t *testing.T) {
	if finalizer.Name != "controlplane.cluster.x-k8s.io/captcontrolplane" || !slices.Equal(finalizer.Legacy, []string{"captcontrolplane.controlplane.cluster.x-k8s.io"}) {
		t.Errorf("finalizer %+v", finalizer)
	}
}
