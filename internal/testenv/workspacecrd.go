package testenv

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/capt-dev/capt/internal/localstack"
)

// InstallNamespacedWorkspaceCRD installs namespaced Workspace and ProviderConfig CRDs
// under group (such as tf.m.upbound.io), derived from provider-terraform's real
// cluster-scoped ones: the only provider-terraform version the module proxy serves
// predates the namespaced groups. The schemas are the real ones; only group and scope
// differ (and the Workspace's connection secret reference, as in Crossplane v2).
func (e *Env) InstallNamespacedWorkspaceCRD(ctx context.Context, group string) error {
	root, err := localstack.RepoRoot()
	if err != nil {
		return err
	}
	dirs, err := localstack.CRDDirs(root)
	if err != nil {
		return err
	}
	for _, plural := range []string{"workspaces", "providerconfigs"} {
		data, err := os.ReadFile(filepath.Join(dirs[len(dirs)-1], "tf.upbound.io_"+plural+".yaml"))
		if err != nil {
			return fmt.Errorf("reading provider-terraform's %s CRD: %w", plural, err)
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.Unmarshal(data, crd); err != nil {
			return fmt.Errorf("decoding provider-terraform's %s CRD: %w", plural, err)
		}
		crd.Name = crd.Spec.Names.Plural + "." + group
		crd.Spec.Group = group
		crd.Spec.Scope = apiextensionsv1.NamespaceScoped
		if plural == "workspaces" {
			namespacedWorkspace(crd)
		}
		if err := e.createEstablished(ctx, crd); err != nil {
			return err
		}
	}
	return nil
}

// namespacedWorkspace makes the Workspace's connection secret reference a name only:
// namespaced managed resources write their connection secret beside themselves
// (Crossplane v2's LocalSecretReference).
func namespacedWorkspace(crd *apiextensionsv1.CustomResourceDefinition) {
	for i := range crd.Spec.Versions {
		spec := crd.Spec.Versions[i].Schema.OpenAPIV3Schema.Properties["spec"]
		ref := spec.Properties["writeConnectionSecretToRef"]
		delete(ref.Properties, "namespace")
		ref.Required = []string{"name"}
		spec.Properties["writeConnectionSecretToRef"] = ref
		delete(spec.Properties, "deletionPolicy")
		crd.Spec.Versions[i].Schema.OpenAPIV3Schema.Properties["spec"] = spec
	}
}

// createEstablished creates crd and waits until the API server serves it.
func (e *Env) createEstablished(ctx context.Context, crd *apiextensionsv1.CustomResourceDefinition) error {
	if err := e.Client.Create(ctx, crd); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating CRD %s: %w", crd.Name, err)
	}
	for deadline := time.Now().Add(WaitTimeout); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if err := e.Client.Get(ctx, client.ObjectKeyFromObject(crd), crd); err != nil {
			return fmt.Errorf("reading CRD %s: %w", crd.Name, err)
		}
		for _, c := range crd.Status.Conditions {
			if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
				return nil
			}
		}
	}
	return fmt.Errorf("CRD %s not established", crd.Name)
}
