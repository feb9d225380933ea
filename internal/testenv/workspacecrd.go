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

// InstallNamespacedWorkspaceCRD installs a namespaced Workspace CRD under group (such as
// tf.m.upbound.io), derived from provider-terraform's real cluster-scoped one: the only
// provider-terraform version the module proxy serves predates the namespaced groups.
// The schema is the real one; only group and scope differ.
func (e *Env) InstallNamespacedWorkspaceCRD(ctx context.Context, group string) error {
	root, err := localstack.RepoRoot()
	if err != nil {
		return err
	}
	dirs, err := localstack.CRDDirs(root)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(filepath.Join(dirs[len(dirs)-1], "tf.upbound.io_workspaces.yaml"))
	if err != nil {
		return fmt.Errorf("reading provider-terraform's Workspace CRD: %w", err)
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.Unmarshal(data, crd); err != nil {
		return fmt.Errorf("decoding provider-terraform's Workspace CRD: %w", err)
	}
	crd.Name = crd.Spec.Names.Plural + "." + group
	crd.Spec.Group = group
	crd.Spec.Scope = apiextensionsv1.NamespaceScoped
	// Namespaced managed resources write their connection secret beside themselves:
	// the reference has a name only (Crossplane v2's LocalSecretReference).
	for i := range crd.Spec.Versions {
		spec := crd.Spec.Versions[i].Schema.OpenAPIV3Schema.Properties["spec"]
		ref := spec.Properties["writeConnectionSecretToRef"]
		delete(ref.Properties, "namespace")
		ref.Required = []string{"name"}
		spec.Properties["writeConnectionSecretToRef"] = ref
		delete(spec.Properties, "deletionPolicy")
		crd.Spec.Versions[i].Schema.OpenAPIV3Schema.Properties["spec"] = spec
	}
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
