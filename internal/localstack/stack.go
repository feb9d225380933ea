package localstack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// Options say where the stack keeps its files and which binaries it runs.
type Options struct {
	// Root is the CAPT checkout (CRDs, templates); BinDir holds the tools (bin/).
	Root, BinDir string
	// DataDir holds etcd's data, certificates, kubeconfigs, logs and the Terraform
	// working directories. It is emptied at start: every run begins from a new cluster.
	DataDir string
	// APIServerPort is the kube-apiserver's port on 127.0.0.1; 0 picks a free one.
	APIServerPort int
	// Engine is the Terraform engine provider-terraform runs: "tofu" or "terraform".
	Engine string
	// ProviderTerraformPoll is how often provider-terraform re-plans a Workspace.
	ProviderTerraformPoll time.Duration
	// APIServerStopTimeout, when set, is how long kube-apiserver gets to stop before it
	// is killed (envtest's default is 20 s).
	APIServerStopTimeout time.Duration
	// AuditLog, when set, is where kube-apiserver writes an audit event (metadata only)
	// for every request it completes: who called which verb on which resource.
	AuditLog string
	// EKS, when set, makes kube-apiserver authenticate EKS bearer tokens too, as EKS does
	// (eks.go); Stack.EKSAuth then says for which cluster name, region and identity.
	// Client certificates keep working: the admin kubeconfig is unchanged.
	EKS *EKSOptions
	// StateKubeconfig, when set, is the kubeconfig of the API server that keeps the
	// Terraform state (the kubernetes backend), in place of the stack's own: a third API
	// server standing in for S3, which several stacks reach, as management clusters
	// sharing a state backend do (test/move). The ProviderConfig then says its state is
	// shared (infrav1.SharedTerraformStateAnnotation).
	StateKubeconfig string
	// NoProviderTerraform leaves provider-terraform out of StartControllers, which still
	// creates its ProviderConfig; StartProviderTerraform starts it later. provider-terraform
	// always serves metrics on 127.0.0.1:8080, so two stacks on one machine cannot run it
	// at the same time.
	NoProviderTerraform bool
	// CAPTCRDDir, when set, is where CAPT's CRDs are installed from instead of
	// config/crd/bases: charts/capt/crds, for CAPT as Helm installs it (test/move).
	CAPTCRDDir string
	// AWS makes the AWS provider stand-in (bin/aws-standin, hack/tools/aws-standin) the
	// hashicorp/aws provider-terraform's engine installs, and lets it play AWS's answers
	// with this stack: an aws_eks_cluster gets the stack's endpoint and CA, an
	// aws_eks_node_group's instances become Nodes (capt dev-node; KWOK keeps them
	// Ready). It also creates the ProviderConfig AWSProviderConfigName the shipped
	// templates/aws WorkspaceTemplates name (docs/aws.md).
	AWS bool
	// CAPTBinary is a capt binary, linked as `capt` on provider-terraform's PATH: the
	// local node group module's provisioners run `capt dev-node` to register and remove
	// their fake Nodes. Empty means BinDir/capt (make build; capt dev passes itself).
	CAPTBinary string
}

// Stack is a running local management cluster.
type Stack struct {
	Options
	env *envtest.Environment
	// Config and Client reach the kube-apiserver as an administrator.
	Config *rest.Config
	Client client.WithWatch
	// Kubeconfig is the path of the administrator's kubeconfig file.
	Kubeconfig string
	// EKSAuth is set in EKS mode (Options.EKS).
	EKSAuth *EKSAuth
	procs   []*Process
}

// StartAPIServer empties the data directory and starts etcd and kube-apiserver on
// loopback with every CRD installed. Start the controllers with StartControllers.
func StartAPIServer(o Options) (*Stack, error) {
	if o.DataDir == "" || o.DataDir == "/" {
		return nil, errors.New("a data directory is required")
	}
	if err := os.RemoveAll(o.DataDir); err != nil {
		return nil, fmt.Errorf("emptying data directory: %w", err)
	}
	for _, dir := range []string{"etcd", "certs", "logs"} {
		if err := os.MkdirAll(filepath.Join(o.DataDir, dir), 0o700); err != nil {
			return nil, fmt.Errorf("creating data directory: %w", err)
		}
	}
	env, err := NewEnvironment(o.Root, o.BinDir)
	if err != nil {
		return nil, err
	}
	if o.CAPTCRDDir != "" {
		env.CRDInstallOptions.Paths[0] = o.CAPTCRDDir
	}
	env.ControlPlane = envtest.ControlPlane{
		Etcd:      &envtest.Etcd{DataDir: filepath.Join(o.DataDir, "etcd")},
		APIServer: &envtest.APIServer{CertDir: filepath.Join(o.DataDir, "certs")},
	}
	env.ControlPlane.APIServer.Address = "127.0.0.1"
	if o.APIServerStopTimeout > 0 {
		env.ControlPlaneStopTimeout = o.APIServerStopTimeout
	}
	if o.APIServerPort != 0 {
		env.ControlPlane.APIServer.Port = strconv.Itoa(o.APIServerPort)
	}
	// The kubeconfig secret CAPT publishes for the local cluster carries a ServiceAccount
	// token; let it live as long as a working day.
	env.ControlPlane.APIServer.Configure().Set("service-account-max-token-expiration", "24h")
	if o.AuditLog != "" {
		policy := filepath.Join(o.DataDir, "audit-policy.yaml")
		if err := os.WriteFile(policy, []byte(auditPolicy), 0o600); err != nil {
			return nil, fmt.Errorf("writing audit policy: %w", err)
		}
		env.ControlPlane.APIServer.Configure().
			Set("audit-policy-file", policy).
			Set("audit-log-path", o.AuditLog).
			Set("audit-log-format", "json").
			Set("audit-log-maxsize", "0")
	}
	s := &Stack{Options: o, env: env}
	if o.EKS != nil {
		// Up before kube-apiserver: it asks the webhook about the first token it sees.
		if err := s.startEKSWebhook(context.Background(), env.ControlPlane.APIServer); err != nil {
			s.stopProcesses()
			return nil, err
		}
	}
	cfg, err := env.Start()
	if err != nil {
		s.stopProcesses()
		return nil, fmt.Errorf("starting etcd and kube-apiserver: %w", err)
	}
	s.Config = cfg
	if err := s.writeAdminKubeconfig(); err != nil {
		_ = s.Stop()
		return nil, err
	}
	s.Client, err = client.NewWithWatch(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		_ = s.Stop()
		return nil, fmt.Errorf("creating client: %w", err)
	}
	return s, nil
}

// auditPolicy records every request at Metadata level, once, when it completes.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived, ResponseStarted]
rules:
  - level: Metadata
`

// UserKubeconfig writes the kubeconfig of a new system:masters user named name (a
// separate identity, so that the audit log tells its requests apart) and returns its path.
func (s *Stack) UserKubeconfig(name string) (string, error) {
	user, err := s.env.AddUser(envtest.User{Name: name, Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return "", fmt.Errorf("creating user %s: %w", name, err)
	}
	data, err := user.KubeConfig()
	if err != nil {
		return "", fmt.Errorf("writing the kubeconfig of %s: %w", name, err)
	}
	path := filepath.Join(s.DataDir, name+".kubeconfig")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return "", fmt.Errorf("writing the kubeconfig of %s: %w", name, err)
	}
	return path, nil
}

// writeAdminKubeconfig writes a kubeconfig of a system:masters user for the child processes.
func (s *Stack) writeAdminKubeconfig() error {
	user, err := s.env.AddUser(envtest.User{Name: "capt-dev-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return fmt.Errorf("creating the administrator user: %w", err)
	}
	data, err := user.KubeConfig()
	if err != nil {
		return fmt.Errorf("writing the administrator kubeconfig: %w", err)
	}
	s.Kubeconfig = filepath.Join(s.DataDir, "admin.kubeconfig")
	if err := os.WriteFile(s.Kubeconfig, data, 0o600); err != nil {
		return fmt.Errorf("writing the administrator kubeconfig: %w", err)
	}
	return nil
}

// StartControllers starts kube-controller-manager (garbage collector and namespace
// controller), KWOK (the kubelet of the fake worker Nodes), the Cluster API core manager
// and provider-terraform, and waits until each answers its health check. With
// NoProviderTerraform it only creates provider-terraform's ProviderConfig.
func (s *Stack) StartControllers(ctx context.Context) error {
	starts := []func(context.Context) error{s.startKubeControllerManager, s.startKWOK, s.startClusterAPI, s.startProviderTerraform}
	if s.NoProviderTerraform {
		starts[3] = s.createProviderConfigs
	}
	for _, start := range starts {
		if err := start(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Logs is the directory of the child processes' logs.
func (s *Stack) Logs() string { return filepath.Join(s.DataDir, "logs") }

// Stop stops the child processes (each gets SIGTERM, then SIGKILL after a grace
// period), then kube-apiserver and etcd.
func (s *Stack) Stop() error {
	errs := s.stopProcesses()
	if err := s.env.Stop(); err != nil {
		errs = append(errs, fmt.Errorf("stopping kube-apiserver and etcd: %w", err))
	}
	return errors.Join(errs...)
}

// stopProcesses stops the child processes, the last started first.
func (s *Stack) stopProcesses() []error {
	var errs []error
	for i := len(s.procs) - 1; i >= 0; i-- {
		if err := s.procs[i].stop(); err != nil {
			errs = append(errs, err)
		}
	}
	s.procs = nil
	return errs
}

// UserConfig returns the client configuration of a new user named name in groups: an
// identity with only the permissions RBAC gives it.
func (s *Stack) UserConfig(name string, groups ...string) (*rest.Config, error) {
	user, err := s.env.AddUser(envtest.User{Name: name, Groups: groups}, nil)
	if err != nil {
		return nil, fmt.Errorf("creating user %s: %w", name, err)
	}
	return user.Config(), nil
}

// RestartAPIServer stops kube-apiserver and starts it again on the same port with the
// same certificates and etcd: every client sees its connections and watches drop, and
// must reconnect.
func (s *Stack) RestartAPIServer() error {
	apiserver := s.env.ControlPlane.APIServer
	// A kube-apiserver that does not finish its graceful shutdown in time is killed, as
	// a kubelet would: that is a restart too.
	if err := apiserver.Stop(); err != nil && !strings.Contains(err.Error(), "timeout waiting") {
		return fmt.Errorf("stopping kube-apiserver: %w", err)
	}
	if err := waitPortFree(apiserver.Address, apiserver.Port, 30*time.Second); err != nil {
		return err
	}
	if err := apiserver.Start(); err != nil {
		return fmt.Errorf("starting kube-apiserver again: %w", err)
	}
	return nil
}

// waitPortFree waits until nothing listens on host:port any more.
func waitPortFree(host, port string, timeout time.Duration) error {
	addr := net.JoinHostPort(host, port)
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		conn, dialErr := net.DialTimeout("tcp", addr, time.Second)
		if dialErr != nil {
			return nil //nolint:nilerr // nothing answers: the port is free
		}
		_ = conn.Close()
	}
	return fmt.Errorf("kube-apiserver still listens on %s after %s", addr, timeout)
}
