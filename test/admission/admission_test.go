// Package admission checks, on a real kube-apiserver, that CAPT's CRDs admit good
// objects and refuse bad ones with a message that names the field.
package admission

import (
	"context"
	"fmt"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// admissionCase is one object created on the API server, optionally followed by an
// update of its spec. wantErr lists substrings of the refusal (the field path and the
// reason); an empty wantErr means the object must be admitted.
type admissionCase struct {
	name    string
	object  string // YAML; metadata.name and namespace are filled in
	update  string // YAML merged into the created object's spec, then sent as an update
	wantErr []string
}

func runCases(t *testing.T, cases []admissionCase) {
	t.Helper()
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			obj := mustObject(t, tc.object)
			obj.SetNamespace("default")
			obj.SetName(fmt.Sprintf("case-%d", i))
			t.Cleanup(func() { _ = env.Client.Delete(ctx, obj) })

			err := env.Client.Create(ctx, obj)
			if tc.update == "" {
				checkAdmission(t, "create", err, tc.wantErr)
				return
			}
			if err != nil {
				t.Fatalf("create before update: %v", err)
			}
			patch := mustObject(t, tc.update)
			spec, _, _ := unstructured.NestedMap(obj.Object, "spec")
			mergeInto(spec, patch.Object)
			if err := unstructured.SetNestedMap(obj.Object, spec, "spec"); err != nil {
				t.Fatal(err)
			}
			checkAdmission(t, "update", env.Client.Update(ctx, obj), tc.wantErr)
		})
	}
}

func checkAdmission(t *testing.T, op string, err error, wantErr []string) {
	t.Helper()
	if len(wantErr) == 0 {
		if err != nil {
			t.Fatalf("%s refused, want admitted: %v", op, err)
		}
		return
	}
	if err == nil {
		t.Fatalf("%s admitted, want refused with %q", op, wantErr)
	}
	if !apierrors.IsInvalid(err) {
		t.Fatalf("%s failed with %v, want an Invalid refusal", op, err)
	}
	for _, want := range wantErr {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%s refusal %q does not contain %q", op, err.Error(), want)
		}
	}
}

func mustObject(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(doc), &obj.Object); err != nil {
		t.Fatalf("test YAML: %v", err)
	}
	return obj
}

// mergeInto sets every leaf of src into dst, recursing into maps.
func mergeInto(dst, src map[string]any) {
	for k, v := range src {
		if sub, ok := v.(map[string]any); ok {
			if d, ok := dst[k].(map[string]any); ok {
				mergeInto(d, sub)
				continue
			}
		}
		if v == nil {
			delete(dst, k)
			continue
		}
		dst[k] = v
	}
}
