// Package dev drives the local stack of `capt dev` and test/e2e: it starts CAPT's manager
// on the local management cluster, applies the sample under templates/local, shows
// progress, checks the kubeconfig CAPT publishes and deletes the Cluster in the order of
// CAPTEP-0041.
package dev

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	clusterctlv1 "sigs.k8s.io/cluster-api/cmd/clusterctl/api/v1alpha3"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// The sample's names, fixed in templates/local.
const (
	Namespace   = "capt-dev"
	ClusterName = "local"
	// PoolName is the sample's MachinePool and CAPTMachinePool (MachinePoolFile).
	PoolName = "local-pool-0"
	// apiserverSecret holds the variables file with the local kube-apiserver's endpoint,
	// CA and token (in EKS mode: its EKS cluster name instead of a token), read by the
	// local-controlplane (local-eks-controlplane) template.
	apiserverSecret = "local-apiserver"
	apiserverKey    = "apiserver.tfvars.json"
	// serviceAccount is the identity of the kubeconfig CAPT publishes for the sample.
	serviceAccount = "local-cluster-admin"
	tokenLifetime  = 24 * 60 * 60
)

// APIServer is what the local control plane template reports as "its" cluster.
type APIServer struct {
	Endpoint string
	CA       []byte
	// EKSClusterName, set in EKS mode, is the EKS cluster name the local kube-apiserver
	// verifies tokens against (localstack.EKSAuth): the EKS-style template reports it as
	// its cluster_name, and no ServiceAccount token is made.
	EKSClusterName string
}

// PrepareNamespace creates the sample's namespace and the Secret the control plane
// template reads: the local kube-apiserver's endpoint and CA, and a token of a
// ServiceAccount bound to cluster-admin (a TokenRequest, valid for a day); in EKS mode the
// EKS cluster name (eks_cluster_name) instead of the token: CAPT mints its own.
func PrepareNamespace(ctx context.Context, c client.Client, apiserver APIServer) error {
	if err := createNamespace(ctx, c, Namespace); err != nil {
		return err
	}
	vars := apiserverVars(apiserver)
	if apiserver.EKSClusterName == "" {
		token, err := serviceAccountToken(ctx, c)
		if err != nil {
			return err
		}
		vars["apiserver_token"] = token
	}
	return createVarsSecret(ctx, c, Namespace, vars)
}

// PrepareEKSNamespace is PrepareNamespace in EKS mode for another namespace: it creates
// namespace and in it the Secret local-apiserver with the endpoint, the CA and
// apiserver.EKSClusterName. For a Cluster in EKS mode beside a sample that is not
// (test/e2e); the EKS template's varFiles must then name this namespace.
func PrepareEKSNamespace(ctx context.Context, c client.Client, namespace string, apiserver APIServer) error {
	if apiserver.EKSClusterName == "" {
		return fmt.Errorf("namespace %s: no EKS cluster name for the EKS template", namespace)
	}
	if err := createNamespace(ctx, c, namespace); err != nil {
		return err
	}
	return createVarsSecret(ctx, c, namespace, apiserverVars(apiserver))
}

func createNamespace(ctx context.Context, c client.Client, name string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := c.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", name, err)
	}
	return nil
}

// apiserverVars are the template's variables but the ServiceAccount token: endpoint, CA,
// and in EKS mode the EKS cluster name.
func apiserverVars(apiserver APIServer) map[string]string {
	vars := map[string]string{
		"apiserver_endpoint": apiserver.Endpoint,
		"apiserver_ca":       string(apiserver.CA),
	}
	if apiserver.EKSClusterName != "" {
		vars["eks_cluster_name"] = apiserver.EKSClusterName
	}
	return vars
}

// serviceAccountToken creates a ServiceAccount bound to cluster-admin and returns a token
// of it (a TokenRequest, valid for a day).
func serviceAccountToken(ctx context.Context, c client.Client) (string, error) {
	objs := []client.Object{
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: Namespace, Name: serviceAccount}},
		&rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "capt-dev-" + serviceAccount},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: Namespace, Name: serviceAccount}},
		},
	}
	for _, obj := range objs {
		if err := c.Create(ctx, obj); err != nil && !apierrors.IsAlreadyExists(err) {
			return "", fmt.Errorf("creating %T %s: %w", obj, obj.GetName(), err)
		}
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: Namespace, Name: serviceAccount}}
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](tokenLifetime)}}
	if err := c.SubResource("token").Create(ctx, sa, tr); err != nil {
		return "", fmt.Errorf("requesting a token for ServiceAccount %s: %w", serviceAccount, err)
	}
	return tr.Status.Token, nil
}

// createVarsSecret writes the control plane template's variables file in namespace.
func createVarsSecret(ctx context.Context, c client.Client, namespace string, values map[string]string) error {
	vars, err := json.Marshal(values)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", apiserverKey, err)
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: apiserverSecret,
			// A Secret the templates read travels with clusterctl move: the control plane's
			// Workspace needs it on the management cluster the Cluster is moved to.
			Labels: map[string]string{clusterctlv1.ClusterctlMoveLabel: ""}},
		Data: map[string][]byte{apiserverKey: vars},
	}
	if err := c.Create(ctx, secret); err != nil {
		return fmt.Errorf("creating Secret %s: %w", apiserverSecret, err)
	}
	return nil
}

// ApplyFiles creates every object of the given YAML files (documents separated by ---).
func ApplyFiles(ctx context.Context, c client.Client, files ...string) error {
	return ApplyFilesFor(ctx, c, "tofu", files...)
}

// ApplyFilesFor is ApplyFiles for a Terraform engine ("tofu" or "terraform"): for
// Terraform 1.5, the templates' protection rules it refuses are dropped (forTerraform).
func ApplyFilesFor(ctx context.Context, c client.Client, engine string, files ...string) error {
	for _, f := range files {
		objs, err := ReadObjects(f)
		if err != nil {
			return err
		}
		for _, obj := range objs {
			if engine == "terraform" {
				if err := forTerraform(obj); err != nil {
					return err
				}
			}
			if err := c.Create(ctx, obj); err != nil {
				return fmt.Errorf("%s: creating %s %s: %w", filepath.Base(f), obj.GetKind(), obj.GetName(), err)
			}
		}
	}
	return nil
}

// ReadObjects reads the objects of a multi-document YAML file.
func ReadObjects(file string) ([]*unstructured.Unstructured, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", file, err)
	}
	var objs []*unstructured.Unstructured
	for _, doc := range bytes.Split(data, []byte("\n---\n")) {
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(doc, &obj.Object); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		if len(obj.Object) > 0 {
			objs = append(objs, obj)
		}
	}
	return objs, nil
}

// TemplatesFile holds the sample's WorkspaceTemplates, under the checkout at root.
func TemplatesFile(root string) string {
	return filepath.Join(root, "templates", "local", "workspacetemplates.yaml")
}

// ClusterFile holds the sample's Cluster, CAPTCluster and CAPTControlPlane.
func ClusterFile(root string) string {
	return filepath.Join(root, "templates", "local", "cluster.yaml")
}

// MachinePoolFile holds the sample Cluster's worker pool: a MachinePool of 2 and its
// CAPTMachinePool (local-nodegroup), named after ClusterName.
func MachinePoolFile(root string) string {
	return filepath.Join(root, "templates", "local", "machinepool.yaml")
}

// EKSTemplateFile holds the EKS-style control plane WorkspaceTemplate of EKS mode
// (outputs as templates/aws/eks: no kubeconfig); it goes with TemplatesFile's VPC.
func EKSTemplateFile(root string) string {
	return filepath.Join(root, "templates", "local", "eks", "workspacetemplate.yaml")
}

// EKSClusterFile holds EKS mode's sample Cluster: the names of ClusterFile's, the EKS
// template, the stack's EKS region.
func EKSClusterFile(root string) string {
	return filepath.Join(root, "templates", "local", "eks", "cluster.yaml")
}
