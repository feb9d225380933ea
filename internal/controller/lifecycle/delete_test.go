package lifecycle

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/capt-dev/capt/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	testenv.Run(m, func(e *testenv.Env) { env = e }, testenv.Reusable)
}

// TestDeleteUnchangedRefusesAStaleCopy: a pass working from a copy older than the object
// (a stale cache) deletes nothing; the current copy is deleted.
func TestDeleteUnchangedRefusesAStaleCopy(t *testing.T) {
	ctx := context.Background()
	s := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "delete-unchanged"}}
	if err := env.Client.Create(ctx, s); err != nil {
		t.Fatal(err)
	}
	stale := s.DeepCopy()
	s.Data = map[string]string{"changed": "yes"}
	if err := env.Client.Update(ctx, s); err != nil {
		t.Fatal(err)
	}
	if deleted, err := DeleteUnchanged(ctx, env.Client, stale); deleted || err != nil {
		t.Fatalf("stale copy: deleted %v, err %v", deleted, err)
	}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(s), &corev1.ConfigMap{}); err != nil {
		t.Fatalf("a stale copy deleted the object: %v", err)
	}
	if deleted, err := DeleteUnchanged(ctx, env.Client, s); !deleted || err != nil {
		t.Fatalf("current copy: deleted %v, err %v", deleted, err)
	}
}
