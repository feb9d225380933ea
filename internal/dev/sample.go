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
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// The sample's names, fixed in templates/local.
const (
	Namespace   = "capt-dev"
	ClusterName = "local"
	// apiserverSecret holds the variables file with the local kube-apiserver's endpoint,
	// CA and token, read by the local-controlplane template.
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
}

// PrepareNamespace creates the sample's namespace and the Secret the control plane
// template reads: the local kube-apiserver's endpoint and CA, and a token of a
// ServiceAccount bound to cluster-admin (a TokenRequest, valid for a day).
func PrepareNamespace(ctx context.Context, c client.Client, apiserver APIServer) error {
	objs := []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: Namespace}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: Namespace, Name: serviceAccount}},
		&rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "capt-dev-" + serviceAccount},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: Namespace, Name: serviceAccount}},
		},
	}
	for _, obj := range objs {
		if err := c.Create(ctx, obj); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating %T %s: %w", obj, obj.GetName(), err)
		}
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: Namespace, Name: serviceAccount}}
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](tokenLifetime)}}
	if err := c.SubResource("token").Create(ctx, sa, tr); err != nil {
		return fmt.Errorf("requesting a token for ServiceAccount %s: %w", serviceAccount, err)
	}
	vars, err := json.Marshal(map[string]string{
		"apiserver_endpoint": apiserver.Endpoint,
		"apiserver_ca":       string(apiserver.CA),
		"apiserver_token":    tr.Status.Token,
	})
	if err != nil {
		return fmt.Errorf("encoding %s: %w", apiserverKey, err)
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: Namespace, Name: apiserverSecret},
		Data:       map[string][]byte{apiserverKey: vars},
	}
	if err := c.Create(ctx, secret); err != nil {
		return fmt.Errorf("creating Secret %s: %w", apiserverSecret, err)
	}
	return nil
}

// ApplyFiles creates every object of the given YAML files (documents separated by ---).
func ApplyFiles(ctx context.Context, c client.Client, files ...string) error {
	for _, f := range files {
		objs, err := ReadObjects(f)
		if err != nil {
			return err
		}
		for _, obj := range objs {
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
