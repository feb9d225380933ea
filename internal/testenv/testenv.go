// Package testenv starts a real kube-apiserver and etcd (controller-runtime envtest) with
// every CRD CAPT works with: CAPT's own, Cluster API's (from the module version in
// go.mod) and provider-terraform's Workspace CRDs (from its module zip). The binaries
// come from bin/, built from Go modules by hack/tools/build.sh (make test does that).
package testenv

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/localstack"
	"github.com/capt-dev/capt/internal/workspace"
)

// Env is a running API server with all CRDs installed.
type Env struct {
	env    *envtest.Environment
	Config *rest.Config
	Client client.Client
	Scheme *runtime.Scheme
}

// Start starts etcd and kube-apiserver and installs the CRDs.
func Start() (*Env, error) {
	root, err := localstack.RepoRoot()
	if err != nil {
		return nil, err
	}
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		assets = filepath.Join(root, "bin")
	}
	env, err := localstack.NewEnvironment(root, assets)
	if err != nil {
		return nil, err
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("starting kube-apiserver and etcd: %w", err)
	}
	c, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		_ = env.Stop()
		return nil, fmt.Errorf("creating client: %w", err)
	}
	if err := CreateDefaultProviderConfig(context.Background(), c, workspace.DefaultAPI()); err != nil {
		_ = env.Stop()
		return nil, err
	}
	return &Env{env: env, Config: cfg, Client: c, Scheme: env.Scheme}, nil
}

// DefaultProviderConfig is the ProviderConfig every suite finds: "default", granted to
// every namespace, as the local stack's is. A Workspace is created only once its
// ProviderConfig exists and grants the template's namespace (docs/tenancy.md); the
// tenancy suite makes ProviderConfigs of its own to test grants.
const DefaultProviderConfig = "default"

// CreateDefaultProviderConfig creates DefaultProviderConfig in api's group, granted to
// every namespace, unless it exists. Namespaced groups need none: their ProviderConfig is
// the apply's namespace's own, and CAPT checks no grant there.
func CreateDefaultProviderConfig(ctx context.Context, c client.Client, api workspace.API) error {
	if api.Namespaced() {
		return nil
	}
	pc := &unstructured.Unstructured{}
	pc.SetGroupVersionKind(api.GroupVersionKind().GroupVersion().WithKind("ProviderConfig"))
	pc.SetName(DefaultProviderConfig)
	pc.SetAnnotations(map[string]string{infrav1.AllowedNamespacesAnnotation: "*"})
	if err := unstructured.SetNestedField(pc.Object, "", "spec", "configuration"); err != nil {
		return err
	}
	if err := c.Create(ctx, pc); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating ProviderConfig %s: %w", DefaultProviderConfig, err)
	}
	return nil
}

// Stop stops the API server and etcd, unless they are a shared server's (the next test
// binary resets it).
func (e *Env) Stop() error {
	if e.env == nil {
		return nil
	}
	if err := e.env.Stop(); err != nil {
		return fmt.Errorf("stopping kube-apiserver and etcd: %w", err)
	}
	return nil
}

// UserConfig returns the client configuration of a new user named name, with only the
// permissions RBAC gives it.
func (e *Env) UserConfig(name string) (*rest.Config, error) {
	if e.env == nil {
		return nil, fmt.Errorf("creating user %s: a shared server adds no users (a Reusable package cannot use UserConfig)", name)
	}
	user, err := e.env.AddUser(envtest.User{Name: name}, nil)
	if err != nil {
		return nil, fmt.Errorf("creating user %s: %w", name, err)
	}
	return user.Config(), nil
}
