package admission

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
)

// TestHostileValuesAdmission sends the hostile values of issue #8 (item 6) to the API
// server. Variable values and modules are data: quotes, newlines, ${...}, %{...}, every
// control character and invalid UTF-8 are admitted (JSON carries invalid UTF-8 as
// U+FFFD), and a megabyte variable too. What is too large is refused with a clear error
// before anything is stored: a module over the CRD's 1 MiB bound as Invalid, an object
// over etcd's request limit (1.5 MiB) as an internal error saying so, an object over the
// API server's request limit (3 MiB) as RequestEntityTooLarge.
func TestHostileValuesAdmission(t *testing.T) {
	var controls strings.Builder
	for c := rune(0); c < 0x20; c++ {
		controls.WriteRune(c)
	}
	controls.WriteString("\x7f\u0080\u009f\ufeff\uffff")
	hostile := strings.Join([]string{`"quoted" 'single' \`, "line\r\nline", "${var.x} $${y} %{ if z }%{ endif }",
		"<<EOF\nx\nEOF", controls.String(), "\xff\xfe\xc3\x28", "\u2028\u2029"}, "|")

	apply := func(vars map[string]string) client.Object {
		return &infrav1.WorkspaceTemplateApply{Spec: infrav1.WorkspaceTemplateApplySpec{
			TemplateRef: infrav1.WorkspaceTemplateReference{Name: "vpc"}, Variables: vars}}
	}
	template := func(module string) client.Object {
		return &infrav1.WorkspaceTemplate{Spec: infrav1.WorkspaceTemplateSpec{Template: infrav1.WorkspaceTemplateDefinition{
			Spec: infrav1.WorkspaceSpec{ForProvider: infrav1.WorkspaceParameters{Source: "Inline", Module: module,
				Vars: []infrav1.Var{{Key: "v", Value: hostile}}, Env: []infrav1.EnvVar{{Name: "V", Value: hostile}}}}}}}
	}
	pool := func(labels map[string]infrav1.LabelValue, taint string) client.Object {
		return &infrav1.CAPTMachinePool{Spec: infrav1.CAPTMachinePoolSpec{
			WorkspaceTemplateRef: infrav1.WorkspaceTemplateReference{Name: "nodegroup"}, Labels: labels,
			Taints: []infrav1.Taint{{Key: "dedicated", Value: taint, Effect: "NoSchedule"}}}}
	}
	cases := []struct {
		name string
		obj  client.Object
		// refused checks the refusal; nil means admitted.
		refused func(error) bool
		errHas  string
	}{
		{name: "hostile variable values", obj: apply(map[string]string{"a": hostile, "b": "", "c": strings.Repeat(hostile, 1000)})},
		{name: "a megabyte variable", obj: apply(map[string]string{"big": strings.Repeat("m", 1<<20)})},
		{name: "hostile module, var and env", obj: template(hostile + "\n" + `output "x" { value = "${var.v}" }`)},
		{name: "a module of exactly 1 MiB", obj: template(strings.Repeat("#", 1<<20))},
		{name: "a module over 1 MiB", obj: template(strings.Repeat("#", 1<<20+1)),
			refused: apierrors.IsInvalid, errHas: "spec.template.spec.forProvider.module: Too long"},
		{name: "variables over etcd's limit", obj: apply(map[string]string{"a": strings.Repeat("m", 1<<20), "b": strings.Repeat("m", 1<<19)}),
			refused: isInternal, errHas: "request is too large"},
		// A node pool's labels and taints reach Terraform as data too, but EKS refuses what
		// is not a Kubernetes label or taint: the CRD refuses it first, in few words.
		{name: "hostile node label value", obj: pool(map[string]infrav1.LabelValue{"a": infrav1.LabelValue(hostile)}, "gpu"),
			refused: apierrors.IsInvalid, errHas: "spec.labels.a"},
		{name: "a megabyte node label value", obj: pool(map[string]infrav1.LabelValue{"a": infrav1.LabelValue(strings.Repeat("m ", 1<<19))}, "gpu"),
			refused: apierrors.IsInvalid, errHas: "spec.labels.a: Too long"},
		{name: "a megabyte node label key", obj: pool(map[string]infrav1.LabelValue{strings.Repeat("k", 1<<20): "v"}, "gpu"),
			refused: apierrors.IsInvalid, errHas: "each key must be a Kubernetes label key"},
		{name: "hostile taint value", obj: pool(nil, hostile),
			refused: apierrors.IsInvalid, errHas: "spec.taints[0].value"},
		{name: "variables over the API server's limit", obj: apply(map[string]string{"a": strings.Repeat("m", 4<<20)}),
			refused: apierrors.IsRequestEntityTooLargeError, errHas: "limit is 3145728"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			tc.obj.SetNamespace("default")
			tc.obj.SetName(fmt.Sprintf("hostile-%d", i))
			t.Cleanup(func() { _ = env.Client.Delete(ctx, tc.obj) })
			err := env.Client.Create(ctx, tc.obj)
			if tc.refused == nil {
				if err != nil {
					t.Fatalf("refused, want admitted: %.300v", err)
				}
				return
			}
			if err == nil || !tc.refused(err) || !strings.Contains(err.Error(), tc.errHas) {
				t.Fatalf("error %.300v, want a refusal with %q", err, tc.errHas)
			}
			if len(err.Error()) > 1024 {
				t.Errorf("refusal of %d bytes repeats the value", len(err.Error()))
			}
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(tc.obj), tc.obj); !apierrors.IsNotFound(err) {
				t.Errorf("refused object stored anyway: %v", err)
			}
		})
	}
}

func isInternal(err error) bool {
	var status apierrors.APIStatus
	return errors.As(err, &status) && status.Status().Code == http.StatusInternalServerError
}

// TestHostileValuesRoundTrip checks that hostile variable values come back as sent, but
// for invalid UTF-8, which JSON carries as U+FFFD.
func TestHostileValuesRoundTrip(t *testing.T) {
	ctx := context.Background()
	values := map[string]string{
		"quotes": `"a" 'b' \ \"`, "newlines": "a\nb\r\n", "template": "${var.x} $${y} %{ if z }%{ endif }",
		"controls": "\x00\x01\x1f\x7f\u0085\u009f", "invalid": "\xff\xfe\xc3\x28", "separators": "\u2028\u2029\ufeff",
	}
	a := &infrav1.WorkspaceTemplateApply{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "round-trip"},
		Spec: infrav1.WorkspaceTemplateApplySpec{TemplateRef: infrav1.WorkspaceTemplateReference{Name: "vpc"}, Variables: values}}
	if err := env.Client.Create(ctx, a); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(ctx, a) })
	got := &infrav1.WorkspaceTemplateApply{}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(a), got); err != nil {
		t.Fatal(err)
	}
	for k, v := range values {
		b, _ := json.Marshal(v)
		var want string
		_ = json.Unmarshal(b, &want)
		if got.Spec.Variables[k] != want {
			t.Errorf("%s: got %q, want %q", k, got.Spec.Variables[k], want)
		}
	}
}
