package workspaceapply

import (
	"encoding/json"
	"testing"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/workspace"
)

// TestOrphanPolicy: the spec change that makes each Workspace API group's provider skip
// the destroy (Crossplane's ShouldDelete is false), and its recognition, so that the
// policy is written once.
func TestOrphanPolicy(t *testing.T) {
	for _, group := range workspace.Groups {
		api, _ := workspace.NewAPI(group)
		raw, _ := json.Marshal(map[string]any{"spec": orphanPolicy(api)})
		w := &workspace.Workspace{}
		if err := json.Unmarshal(raw, w); err != nil {
			t.Fatal(err)
		}
		if !orphaned(api, w) {
			t.Errorf("%s: %s not recognised as orphaned", group, raw)
		}
		fresh := &workspace.Workspace{}
		if orphaned(api, fresh) {
			t.Errorf("%s: a Workspace without a policy counts as orphaned", group)
		}
		fresh.Spec.ManagementPolicies = []infrav1.ManagementAction{"*"}
		fresh.Spec.DeletionPolicy = "Delete"
		if orphaned(api, fresh) {
			t.Errorf("%s: the default policies count as orphaned", group)
		}
		if api.Namespaced() == (w.Spec.DeletionPolicy == "Orphan") {
			t.Errorf("%s: %s (deletionPolicy exists only on the cluster-scoped groups)", group, raw)
		}
	}
}
