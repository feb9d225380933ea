// Package reliability puts CAPT's production manager through faults on a real
// kube-apiserver and etcd: crashes after every write, lost owner references and
// finalizers, a second writer, an API server restart, stuck dependencies, and a
// lifecycle at the most verbose log level with canary secrets. The manager runs as its
// own user with only the generated ClusterRole (config/rbac/role.yaml), so every test
// also shows that the role is enough.
//
// provider-terraform and Cluster API's core are played by the test (testenv.Provider;
// owner references and CAPI's deletion order below): the real ones run in test/e2e, and
// here each lifecycle must take seconds, not a minute.
//
// CAPT_SOAK=1 runs every fault more often (make test-soak); CAPT_RELIABILITY_REPORT=<file>
// rewrites the table of docs/reliability.md from the run.
package reliability

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/yaml"

	"github.com/capt-dev/capt/internal/localstack"
	"github.com/capt-dev/capt/internal/testenv"
	"github.com/capt-dev/capt/internal/workspace"
)

// managerUser is the identity CAPT's manager runs as in these tests.
const managerUser = "capt-manager"

// applyDelay is how long the simulated provider takes per apply and destroy.
const applyDelay = 200 * time.Millisecond

var (
	stack    *localstack.Stack
	provider *testenv.Provider
	// managerConfig reaches the API server as managerUser.
	managerConfig *rest.Config
	soak          = os.Getenv("CAPT_SOAK") != ""
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	root, err := localstack.RepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "reliability:", err)
		return 1
	}
	binDir := os.Getenv("KUBEBUILDER_ASSETS")
	if binDir == "" {
		binDir = filepath.Join(root, "bin")
	}
	// Informers outside the manager (the simulated provider's) log through this one.
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.Level(zapcore.ErrorLevel), zap.StacktraceLevel(zapcore.PanicLevel)))
	dataDir, err := os.MkdirTemp("", "capt-reliability-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "reliability:", err)
		return 1
	}
	defer os.RemoveAll(dataDir)
	// Fixed certificates in the data directory: kube-apiserver can be restarted.
	// A restart kills kube-apiserver after 3 s instead of waiting out its drain.
	stack, err = localstack.StartAPIServer(localstack.Options{Root: root, BinDir: binDir, DataDir: dataDir, APIServerStopTimeout: 3 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, "reliability:", err)
		return 1
	}
	defer func() {
		if err := stack.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "reliability:", err)
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if managerConfig, err = bindManagerRole(ctx, root); err != nil {
		fmt.Fprintln(os.Stderr, "reliability:", err)
		return 1
	}
	provider, err = testenv.StartProvider(ctx, stack.Config, stack.Client.Scheme(),
		testenv.ProviderOptions{API: workspace.DefaultAPI(), Delay: applyDelay, Resync: 2 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, "reliability:", err)
		return 1
	}
	code := m.Run()
	if err := report.write(os.Stdout, os.Getenv("CAPT_RELIABILITY_REPORT")); err != nil {
		fmt.Fprintln(os.Stderr, "reliability:", err)
		code = 1
	}
	return code
}

// bindManagerRole installs the generated ClusterRole, binds it to managerUser and
// returns that user's configuration.
func bindManagerRole(ctx context.Context, root string) (*rest.Config, error) {
	data, err := os.ReadFile(filepath.Join(root, "config", "rbac", "role.yaml"))
	if err != nil {
		return nil, fmt.Errorf("reading the generated role: %w", err)
	}
	role := &rbacv1.ClusterRole{}
	if err := yaml.UnmarshalStrict(data, role); err != nil {
		return nil, fmt.Errorf("reading the generated role: %w", err)
	}
	if err := stack.Client.Create(ctx, role); err != nil {
		return nil, fmt.Errorf("creating the manager's ClusterRole: %w", err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: managerUser},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: managerUser}},
	}
	if err := stack.Client.Create(ctx, binding); err != nil {
		return nil, fmt.Errorf("binding the manager's ClusterRole: %w", err)
	}
	return stack.UserConfig(managerUser)
}

// rounds is how many times a fault is tried: more under CAPT_SOAK.
func rounds(normal, soaked int) int {
	if soak {
		return soaked
	}
	return normal
}
