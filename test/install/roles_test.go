package install

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spf13/pflag"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/yaml"

	"github.com/capt-dev/capt/internal/localstack"
	"github.com/capt-dev/capt/internal/manager"
)

// syncTimeout bounds how long a controller waits for its informers.
const syncTimeout = 5 * time.Second

// TestProviderRolesAreEnough runs each clusterctl provider's manager (--controllers) as a
// user bound only to that provider's generated role: every informer its controllers
// start must sync, which a missing list or watch permission would stop.
func TestProviderRolesAreEnough(t *testing.T) {
	root, err := localstack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	for _, provider := range []string{manager.ControllersInfrastructure, manager.ControllersControlPlane} {
		t.Run(provider, func(t *testing.T) {
			ctx := context.Background()
			data, err := os.ReadFile(filepath.Join(root, "config", provider, "rbac", "role.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			role := &rbacv1.ClusterRole{}
			if err := yaml.UnmarshalStrict(data, role); err != nil {
				t.Fatal(err)
			}
			user := "capt-" + provider
			role.Name = user
			if err := env.Client.Create(ctx, role); err != nil {
				t.Fatal(err)
			}
			binding := &rbacv1.ClusterRoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: user},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: user},
				Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
			}
			if err := env.Client.Create(ctx, binding); err != nil {
				t.Fatal(err)
			}
			cfg, err := env.UserConfig(user)
			if err != nil {
				t.Fatal(err)
			}
			o := manager.NewOptions()
			fs := pflag.NewFlagSet("capt manager", pflag.ContinueOnError)
			o.AddFlags(fs)
			if err := fs.Parse([]string{"--health-addr=0", "--diagnostics-address=0", "--controllers=" + provider}); err != nil {
				t.Fatal(err)
			}
			mgr, err := manager.New(cfg, o, func(co *ctrl.Options) {
				co.Controller.SkipNameValidation = ptr.To(true)
				// A controller whose informers do not sync in time stops the manager.
				co.Controller.CacheSyncTimeout = syncTimeout
			})
			if err != nil {
				t.Fatal(err)
			}
			runCtx, cancel := context.WithCancel(ctx)
			defer cancel()
			if err := manager.SetupControllers(runCtx, mgr, o); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- mgr.Start(runCtx) }()
			select {
			case err := <-done:
				t.Errorf("the %s manager stopped under its role (a list or watch permission is missing?): %v", provider, err)
			case <-time.After(syncTimeout + 3*time.Second):
				cancel()
				if err := <-done; err != nil {
					t.Errorf("manager stopped with %v", err)
				}
			}
		})
	}
}
