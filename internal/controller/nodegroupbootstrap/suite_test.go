package nodegroupbootstrap

import (
	"context"
	"testing"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"

	"github.com/capt-dev/capt/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	testenv.Run(m, func(e *testenv.Env) { env = e })
}

func startController(t *testing.T) *testenv.WriteCounter {
	t.Helper()
	return env.StartManager(t, func(ctx context.Context, mgr ctrl.Manager, c client.Client) error {
		return (&Reconciler{Client: c, APIReader: mgr.GetAPIReader()}).SetupWithManager(ctx, mgr, controller.Options{})
	})
}
