package admission

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/capt-dev/capt/internal/localstack"
)

// TestShippedTemplatesAreAdmitted applies every manifest under templates/ to
// the real API server, with Cluster API's and CAPT's CRDs installed.
func TestShippedTemplatesAreAdmitted(t *testing.T) {
	root, err := localstack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "templates"}}
	if err := env.Client.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, dir := range []string{"aws", "clusterclass", "local", filepath.Join("local", "failing"), filepath.Join("local", "stuck-destroy"), filepath.Join("local", "protected")} {
		found, err := filepath.Glob(filepath.Join(root, "templates", dir, "*.yaml"))
		if err != nil || len(found) == 0 {
			t.Fatalf("no templates found in templates/%s: %v", dir, err)
		}
		files = append(files, found...)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range bytes.Split(data, []byte("\n---\n")) {
			obj := &unstructured.Unstructured{}
			if err := yaml.Unmarshal(doc, &obj.Object); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if len(obj.Object) == 0 {
				continue
			}
			obj.SetNamespace(ns.Name)
			if err := env.Client.Create(context.Background(), obj); err != nil {
				t.Errorf("%s: %s %s refused: %v", filepath.Base(f), obj.GetKind(), obj.GetName(), err)
			}
		}
	}
}
