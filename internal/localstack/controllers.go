package localstack

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
)

// startupTimeout bounds how long a child may take to answer its health check.
const startupTimeout = 2 * time.Minute

// ProviderConfigName is the provider-terraform ProviderConfig the local templates use.
const ProviderConfigName = "default"

// AWSProviderConfigName is the ProviderConfig the shipped templates/aws WorkspaceTemplates
// and the clusterctl eks flavor name by default; a stack with Options.AWS has it.
const AWSProviderConfigName = "aws"

// stateNamespace holds provider-terraform's Terraform state (kubernetes backend).
const stateNamespace = "crossplane-system"

// startKubeControllerManager runs the garbage collector (owner references delete
// dependents, as on a real cluster), the namespace controller and the node lifecycle
// controller: kube-apiserver taints every new Node node.kubernetes.io/not-ready, and it
// is this controller that lifts the taint once the Node is Ready (KWOK's fake Nodes), as
// on a real cluster; it also marks a Node whose lease KWOK no longer renews NotReady.
func (s *Stack) startKubeControllerManager(_ context.Context) error {
	_, err := s.startProcess("kube-controller-manager", []string{
		"--kubeconfig=" + s.Kubeconfig,
		"--controllers=garbagecollector,namespace,nodelifecycle",
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
	return p.waitHealthy(ctx, "http://127.0.0.1:"+health+"/readyz")
}

// EngineName is the Terraform engine's binary: Engine, or OpenTofu by default.
func (o Options) EngineName() string {
	if o.Engine == "" {
		return "tofu"
	}
	return o.Engine
}

// providerTerraformName is provider-terraform's binary in bin/ and its process's name.
const providerTerraformName = "provider-terraform"

// providerTerraformMetrics is where provider-terraform always serves metrics.
const providerTerraformMetrics = "127.0.0.1:8080"

// StartProviderTerraform starts provider-terraform on a stack started with
// NoProviderTerraform (or after StopProviderTerraform), as StartControllers would.
func (s *Stack) StartProviderTerraform(ctx context.Context) error {
	return s.startProviderTerraform(ctx)
}

// StopProviderTerraform stops the stack's provider-terraform and waits until it has
// exited, so that another stack's may start: its Workspaces stay as they are.
func (s *Stack) StopProviderTerraform() error {
	for i, p := range s.procs {
		if p.name == providerTerraformName {
			s.procs = append(s.procs[:i], s.procs[i+1:]...)
			return p.stop()
		}
	}
	return errors.New("provider-terraform is not running on this stack")
}

// startProviderTerraform creates the ProviderConfig (Terraform state in Secrets, through
// the kubernetes backend: local state does not work with provider-terraform) and runs
// provider-terraform with the chosen engine linked as `terraform` on its PATH, and capt
// as `capt` (the local node group module's provisioners run `capt dev-node`). The engine
// runs with provider-terraform's environment (its internal/terraform starts every
// command with os.Environ() and the Workspace's env), so local-exec provisioners see
// this PATH and KUBECONFIG, the stack's admin kubeconfig.
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
	captPath, err := s.captBinary()
	if err != nil {
		return err
	}
	if err := relink(enginePath, filepath.Join(engineDir, "terraform")); err != nil {
		return fmt.Errorf("linking the Terraform engine: %w", err)
	}
	if err := relink(captPath, filepath.Join(engineDir, "capt")); err != nil {
		return fmt.Errorf("linking capt: %w", err)
	}
	// An empty CLI configuration: no registry, no credentials helper, nothing from the
	// host. With the AWS stand-in: hashicorp/aws from its mirror, and nothing else.
	cliConfig := filepath.Join(work, "terraformrc")
	if err := os.WriteFile(cliConfig, nil, 0o600); err != nil {
		return fmt.Errorf("writing Terraform CLI configuration: %w", err)
	}
	var awsEnv []string
	if s.AWS {
		if cliConfig, awsEnv, err = s.awsStandIn(engineDir); err != nil {
			return err
		}
	}
	if err := s.createProviderConfigs(ctx); err != nil {
		return err
	}
	poll := s.ProviderTerraformPoll
	if poll == 0 {
		poll = time.Minute
	}
	// Its health check below would otherwise be answered by whatever listens there, such
	// as another stack's provider-terraform, while this one fails to bind and exits.
	if conn, err := net.DialTimeout("tcp", providerTerraformMetrics, time.Second); err == nil {
		_ = conn.Close()
		return fmt.Errorf("provider-terraform serves metrics on %s, where something (another stack's provider-terraform?) already listens", providerTerraformMetrics)
	}
	p, err := s.startProcess(providerTerraformName, []string{
		"--poll=" + poll.String(),
		"--poll-jitter=0s",
		"--max-reconcile-rate=5",
		"--timeout=5m",
	}, work, append([]string{
		"KUBECONFIG=" + s.Kubeconfig,
		// Relative: provider-terraform also creates it under /tmp, an absolute path doubles up.
		"XP_TF_DIR=workspaces",
		"PATH=" + engineDir + string(os.PathListSeparator) + os.Getenv("PATH"),
		"TF_CLI_CONFIG_FILE=" + cliConfig,
		"CHECKPOINT_DISABLE=1",
		"TF_IN_AUTOMATION=1",
	}, awsEnv...))
	if err != nil {
		return err
	}
	// It always serves metrics on :8080, and has no other endpoint to ask.
	return p.waitHealthy(ctx, "http://"+providerTerraformMetrics+"/metrics")
}

// captBinary is the absolute path of the capt binary provider-terraform's Terraform
// runs: Options.CAPTBinary, else BinDir/capt.
func (s *Stack) captBinary() (string, error) {
	path, hint := s.CAPTBinary, "Options.CAPTBinary"
	if path == "" {
		path, hint = filepath.Join(s.BinDir, "capt"), "run `make build` (make dev and make test do), which builds it"
	}
	path, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	if info, err := os.Stat(path); err != nil || info.IsDir() {
		return "", fmt.Errorf("capt binary %s not found (the local node group module runs `capt dev-node`): %s", path, hint)
	}
	return path, nil
}

// relink makes link a symbolic link to target, replacing what was there: a
// provider-terraform started again (StartProviderTerraform) finds the links in place.
func relink(target, link string) error {
	if err := os.Remove(link); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return os.Symlink(target, link)
}

// createProviderConfigs creates the state namespace and the ProviderConfig "default",
// and "aws" with the AWS stand-in: the same state backend, each its own state Secrets.
// With StateKubeconfig the state lives on that API server (the namespace is created
// there too) and the ProviderConfigs say it is shared.
func (s *Stack) createProviderConfigs(ctx context.Context) error {
	if err := createStateNamespace(ctx, s.Client); err != nil {
		return err
	}
	statePath := s.Kubeconfig
	if s.StateKubeconfig != "" {
		statePath = s.StateKubeconfig
		cfg, err := clientcmd.BuildConfigFromFlags("", statePath)
		if err != nil {
			return fmt.Errorf("loading the state kubeconfig %s: %w", statePath, err)
		}
		c, err := client.New(cfg, client.Options{})
		if err != nil {
			return fmt.Errorf("connecting to the state API server: %w", err)
		}
		if err := createStateNamespace(ctx, c); err != nil {
			return fmt.Errorf("on the state API server: %w", err)
		}
	}
	names := []string{ProviderConfigName}
	if s.AWS {
		names = append(names, AWSProviderConfigName)
	}
	for _, name := range names {
		backend := strings.Join([]string{
			`terraform {`,
			`  backend "kubernetes" {`,
			fmt.Sprintf(`    config_path   = %q`, statePath),
			fmt.Sprintf(`    namespace     = %q`, stateNamespace),
			fmt.Sprintf(`    secret_suffix = %q`, StateSecretSuffix(name)),
			`  }`,
			`}`,
		}, "\n")
		pc := &unstructured.Unstructured{}
		pc.SetGroupVersionKind(schema.GroupVersionKind{Group: "tf.upbound.io", Version: "v1beta1", Kind: "ProviderConfig"})
		pc.SetName(name)
		// The local stack is one person's: its ProviderConfigs are granted to every
		// namespace (docs/tenancy.md); a shared management cluster lists its teams'.
		annotations := map[string]string{infrav1.AllowedNamespacesAnnotation: "*"}
		if s.StateKubeconfig != "" {
			// Every stack given this state server finds what another applied: CAPT may
			// then create again a Workspace that clusterctl move left behind on the source.
			annotations[infrav1.SharedTerraformStateAnnotation] = "true"
		}
		pc.SetAnnotations(annotations)
		if err := unstructured.SetNestedField(pc.Object, backend, "spec", "configuration"); err != nil {
			return err
		}
		if err := unstructured.SetNestedField(pc.Object, false, "spec", "pluginCache"); err != nil {
			return err
		}
		if name == AWSProviderConfigName {
			// provider-terraform runs `init` with TF_CLI_CONFIG_FILE=./.terraformrc, the
			// Workspace's directory, where it writes the ProviderConfig's credentials: the
			// stand-in's CLI configuration goes there, as a platform team's would.
			creds := []any{map[string]any{"filename": ".terraformrc", "source": "Filesystem",
				"fs": map[string]any{"path": s.awsCLIConfig()}}}
			if err := unstructured.SetNestedSlice(pc.Object, creds, "spec", "credentials"); err != nil {
				return err
			}
		}
		if err := s.Client.Create(ctx, pc); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating ProviderConfig %s: %w", name, err)
		}
	}
	return nil
}

// StateSecretSuffix is the kubernetes backend's secret_suffix of ProviderConfig name: the
// state of Terraform workspace W is the Secret tfstate-W-<suffix> in crossplane-system.
func StateSecretSuffix(providerConfig string) string { return "providerconfig-" + providerConfig }

// createStateNamespace creates the namespace of the Terraform state Secrets.
func createStateNamespace(ctx context.Context, c client.Client) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: stateNamespace}}
	if err := c.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", stateNamespace, err)
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
