package captcluster

import (
	"slices"
	"testing"
)

// TestFinalizerNames pins the finalizer's name and the name objects written by CAPT up
// to v0.1 carry, which it must keep honouring (TestLegacyFinalizer in workspaceapply
// checks on the API server that a legacy name is replaced, and deletes cleanly).
func TestFinalizerNames(t *testing.T) {
	if finalizer.Name != "infrastructure.cluster.x-k8s.io/captcluster" || !slices.Equal(finalizer.Legacy, []string{"captcluster.infrastructure.cluster.x-k8s.io"}) {
		t.Errorf("finalizer %+v", finalizer)
	}
}
