package testenv

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/capt-dev/capt/internal/workspace"
)

// SetDestroyResult plays provider-terraform after a destroy attempt on the Workspace at
// key, once its deletion has begun: Synced False with failure (True when failure is ""),
// Ready False while it is being deleted.
func (e *Env) SetDestroyResult(t testing.TB, api workspace.API, key client.ObjectKey, failure string) {
	t.Helper()
	Eventually(t, "set the Workspace's destroy result", func() error {
		u := api.NewObject()
		if err := e.Client.Get(context.Background(), key, u); err != nil {
			return err
		}
		if u.GetDeletionTimestamp() == nil {
			return fmt.Errorf("the Workspace %s is not being deleted yet", key.Name)
		}
		now := time.Now().UTC().Format(time.RFC3339)
		synced := map[string]any{"type": "Synced", "status": "True", "reason": "ReconcileSuccess", "lastTransitionTime": now}
		if failure != "" {
			synced = map[string]any{"type": "Synced", "status": "False", "reason": "ReconcileError", "message": failure, "lastTransitionTime": now}
		}
		ready := map[string]any{"type": "Ready", "status": "False", "reason": "Deleting", "lastTransitionTime": now}
		if err := unstructured.SetNestedSlice(u.Object, []any{synced, ready}, "status", "conditions"); err != nil {
			return err
		}
		return e.Client.Status().Update(context.Background(), u)
	})
}

// ContainsAll returns nil when s contains every part, else an error naming the first
// missing one.
func ContainsAll(s string, parts ...string) error {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return fmt.Errorf("%q does not contain %q", s, p)
		}
	}
	return nil
}
