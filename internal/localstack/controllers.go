package localstack

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// startupTimeout bounds how long a child may take to answer its health check.
const startupTimeout = 2 * time.Minute

// ProviderConfigName is the provider-terraform ProviderConfig the local templates use.
const ProviderConfigName = "default"

// stateNamespace holds provider-terraform's Terraform state (kubernetes backend).
const stateNamespace = "crossplane-system"

// startKubeControllerManager runs the garbage collector (owner references delete
// dependents, as on a real cluster) and the namespace controller.
func (s *Stack) startKubeControllerManager(_ context.Context) error {
	_, err := s.startProcess("kube-controller-manager", []string{
		"--kubeconfig=" + s.Kubeconfig,
		"--controllers=garbagecollector,namespace",
		"--leader-elect=false",
		// Nothing needs its HTTPS endpoint here.
		"--secure-port=0",
	}, s.DataDir, nil)
	return err
}

// startClusterAPI runs Cluster API's core manager, the binary built from the module
// version in go.mod, with ClusterClass support. Its webhooks are served (it will not
// start without them) but not registered with the API server, as under envtest.
func (s *Stack) startClusterAPI(ctx context.Context) error {
	certDir := filepath.Join(s.DataDir, "capi-webhook")
	if err := writeServingCertificate(certDir); err != nil {
		return err
	}
	health, diagnostics, webhook, err := freePort3()
	if err != nil {
		return err
	}
	p, err := s.startProcess("capi-manager", []string{
		"--kubeconfig=" + s.Kubeconfig,
		"--leader-elect=false",
		"--feature-gates=ClusterTopology=true",
		"--health-addr=127.0.0.1:" + health,
		"--diagnostics-address=127.0.0.1:" + diagnostics,
		"--insecure-diagnostics",
		"--webhook-port=" + webhook,
		"--webhook-cert-dir=" + certDir,
	}, s.DataDir, nil)
	if err != nil {
		return err
	}
	return p.waitHealthy(ctx, "http://127.0.0.1:"+health+"/readyz", startupTimeout)
}

// EngineName is the Terraform engine's binary: Engine, or OpenTofu by default.
func (o Options) EngineName() string {
	if o.Engine == "" {
		return "tofu"
	}
	return o.Engine
}

// startProviderTerraform creates the ProviderConfig (Terraform state in Secrets, through
// the kubernetes backend: local state does not work with provider-terraform) and runs
// provider-terraform with the chosen engine linked as `terraform` on its PATH.
func (s *Stack) startProviderTerraform(ctx context.Context) error {
	engine := s.EngineName()
	if engine != "tofu" && engine != "terraform" {
		return fmt.Errorf("engine %q: want tofu or terraform", engine)
	}
	work := filepath.Join(s.DataDir, "provider-terraform")
	engineDir := filepath.Join(work, "engine")
	if err := os.MkdirAll(engineDir, 0o700); err != nil {
		return fmt.Errorf("creating provider-terraform directories: %w", err)
	}
	enginePath, err := filepath.Abs(filepath.Join(s.BinDir, engine))
	if err != nil {
		return err
	}
	if _, err := os.Stat(enginePath); err != nil {
		return fmt.Errorf("%s not found in %s: run `make dev`, which builds it", engine, s.BinDir)
	}
	if err := os.Symlink(enginePath, filepath.Join(engineDir, "terraform")); err != nil {
		return fmt.Errorf("linking the Terraform engine: %w", err)
	}
	// An empty CLI configuration: no registry, no credentials helper, nothing from the host.
	cliConfig := filepath.Join(work, "terraformrc")
	if err := os.WriteFile(cliConfig, nil, 0o600); err != nil {
		return fmt.Errorf("writing Terraform CLI configuration: %w", err)
	}
	if err := s.createProviderConfig(ctx); err != nil {
		return err
	}
	poll := s.ProviderTerraformPoll
	if poll == 0 {
		poll = time.Minute
	}
	p, err := s.startProcess("provider-terraform", []string{
		"--poll=" + poll.String(),
		"--poll-jitter=0s",
		"--max-reconcile-rate=5",
		"--timeout=5m",
	}, work, []string{
		"KUBECONFIG=" + s.Kubeconfig,
		// Relative: provider-terraform also creates it under /tmp, an absolute path doubles up.
		"XP_TF_DIR=workspaces",
		"PATH=" + engineDir + string(os.PathListSeparator) + os.Getenv("PATH"),
		"TF_CLI_CONFIG_FILE=" + cliConfig,
		"CHECKPOINT_DISABLE=1",
		"TF_IN_AUTOMATION=1",
	})
	if err != nil {
		return err
	}
	// It always serves metrics on :8080, and has no other endpoint to ask.
	return p.waitHealthy(ctx, "http://127.0.0.1:8080/metrics", startupTimeout)
}

// createProviderConfig creates the state namespace and the ProviderConfig "default".
func (s *Stack) createProviderConfig(ctx context.Context) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: stateNamespace}}
	if err := s.Client.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", stateNamespace, err)
	}
	backend := strings.Join([]string{
		`terraform {`,
		`  backend "kubernetes" {`,
		fmt.Sprintf(`    config_path   = %q`, s.Kubeconfig),
		fmt.Sprintf(`    namespace     = %q`, stateNamespace),
		`    secret_suffix = "providerconfig-default"`,
		`  }`,
		`}`,
	}, "\n")
	pc := &unstructured.Unstructured{}
	pc.SetGroupVersionKind(schema.GroupVersionKind{Group: "tf.upbound.io", Version: "v1beta1", Kind: "ProviderConfig"})
	pc.SetName(ProviderConfigName)
	if err := unstructured.SetNestedField(pc.Object, backend, "spec", "configuration"); err != nil {
		return err
	}
	if err := unstructured.SetNestedField(pc.Object, false, "spec", "pluginCache"); err != nil {
		return err
	}
	if err := s.Client.Create(ctx, pc); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating ProviderConfig %s: %w", ProviderConfigName, err)
	}
	return nil
}

func freePort3() (a, b, c string, err error) {
	if a, err = FreePort(); err != nil {
		return
	}
	if b, err = FreePort(); err != nil {
		return
	}
	c, err = FreePort()
	return
}
