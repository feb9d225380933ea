package devnode_test

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/capt-dev/capt/internal/devnode"
)

// The module writes taints as EKS's node group API does; Kubernetes' effect names are
// accepted too, and anything else is refused with the effects that would do.
func TestEffectConvertsEKSNames(t *testing.T) {
	for in, want := range map[string]corev1.TaintEffect{
		"NO_SCHEDULE": corev1.TaintEffectNoSchedule, "NO_EXECUTE": corev1.TaintEffectNoExecute,
		"PREFER_NO_SCHEDULE": corev1.TaintEffectPreferNoSchedule,
		"NoSchedule":         corev1.TaintEffectNoSchedule, "NoExecute": corev1.TaintEffectNoExecute,
		"PreferNoSchedule": corev1.TaintEffectPreferNoSchedule,
	} {
		if got, err := devnode.Effect(in); err != nil || got != want {
			t.Errorf("Effect(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "no_schedule", "NOSCHEDULE", "NoSchedule ", "EVICT"} {
		if _, err := devnode.Effect(in); err == nil || !strings.Contains(err.Error(), "NO_SCHEDULE, NO_EXECUTE or PREFER_NO_SCHEDULE") {
			t.Errorf("Effect(%q): %v, want a refusal naming the effects", in, err)
		}
	}
}

func TestParseTaints(t *testing.T) {
	got, err := devnode.ParseTaints(`[{"key":"dedicated","value":"gpu","effect":"NO_SCHEDULE"},{"key":"spot","effect":"PREFER_NO_SCHEDULE"}]`)
	if err != nil {
		t.Fatal(err)
	}
	want := []corev1.Taint{
		{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule},
		{Key: "spot", Effect: corev1.TaintEffectPreferNoSchedule},
	}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("ParseTaints = %+v, want %+v", got, want)
	}
	for _, empty := range []string{"", " ", "null", "[]"} {
		if got, err := devnode.ParseTaints(empty); err != nil || len(got) != 0 {
			t.Errorf("ParseTaints(%q) = %+v, %v; want none", empty, got, err)
		}
	}
	for in, wantErr := range map[string]string{
		`{"key":"a","effect":"NO_SCHEDULE"}`:                   "want a JSON list",
		`[{"key":"a","effect":"NO_SCHEDULE"}`:                  "want a JSON list",
		`[{"key":"a","effect":"NoSchedul"}]`:                   `taints[0] (key "a"): effect "NoSchedul"`,
		`[{"key":"a","effect":"NO_SCHEDULE","operator":"x"}]`:  `unknown field "operator"`,
		`[{"key":"a","value":1,"effect":"NO_SCHEDULE"}]`:       "want a JSON list",
		`[{"key":"a","effect":"NO_SCHEDULE"}] []`:              "unexpected text after the JSON list",
		`["NO_SCHEDULE"]`:                                      "want a JSON list",
		`[null]`:                                               `taints[0] (key ""): effect ""`,
		`[{"key":"a","effect":"NO_SCHEDULE"}, {"key":"b"}]`:    `taints[1] (key "b"): effect ""`,
		"[{\"key\":\"a\",\"effect\":\"NO_SCHEDULE\"}]\x00junk": "unexpected text after the JSON list",
	} {
		_, err := devnode.ParseTaints(in)
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("ParseTaints(%q): %v, want an error containing %q", in, err, wantErr)
		}
	}
}

func TestParseLabels(t *testing.T) {
	got, err := devnode.ParseLabels(`{"eks.amazonaws.com/nodegroup":"local-workers","team":""}`)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["eks.amazonaws.com/nodegroup"] != "local-workers" || got["team"] != "" {
		t.Errorf("ParseLabels = %v", got)
	}
	for _, empty := range []string{"", "null", "{}"} {
		if got, err := devnode.ParseLabels(empty); err != nil || len(got) != 0 {
			t.Errorf("ParseLabels(%q) = %v, %v; want none", empty, got, err)
		}
	}
	for in, wantErr := range map[string]string{
		`["a"]`:           "want a JSON object of strings",
		`{"a":1}`:         `the value of "a" is a number, want a string`,
		`{"a":true}`:      `the value of "a" is a boolean`,
		`{"a":null}`:      `the value of "a" is null`,
		`{"a":{"b":"c"}}`: `the value of "a" is an object`,
		`{"a":["b"]}`:     `the value of "a" is a list`,
		`{"a":"b"`:        "want a JSON object of strings",
		`a=b`:             "want a JSON object of strings",
	} {
		_, err := devnode.ParseLabels(in)
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("ParseLabels(%q): %v, want an error containing %q", in, err, wantErr)
		}
	}
}

// Validate refuses, before any request, what the API server would, naming the input.
func TestValidate(t *testing.T) {
	good := devnode.Node{Name: "local-workers-0", ProviderID: "aws:///zz-local-1a/i-0123456789abcdef0",
		Labels: map[string]string{"eks.amazonaws.com/nodegroup": "local-workers"},
		Taints: []corev1.Taint{{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule}}}
	if err := good.Validate(); err != nil {
		t.Fatalf("Validate(%+v): %v", good, err)
	}
	for name, c := range map[string]struct {
		change func(*devnode.Node)
		want   string
	}{
		"no name":         {func(n *devnode.Node) { n.Name = "" }, "name: required"},
		"bad name":        {func(n *devnode.Node) { n.Name = "Local_Workers" }, `name "Local_Workers"`},
		"no provider ID":  {func(n *devnode.Node) { n.ProviderID = "" }, "provider ID: required"},
		"bad label key":   {func(n *devnode.Node) { n.Labels = map[string]string{"a b": "c"} }, `label key "a b"`},
		"bad label value": {func(n *devnode.Node) { n.Labels = map[string]string{"a": "b c"} }, `label "a" value "b c"`},
		"long label value": {func(n *devnode.Node) { n.Labels = map[string]string{"a": strings.Repeat("x", 64)} },
			`label "a" value`},
		"bad taint key":   {func(n *devnode.Node) { n.Taints[0].Key = "" }, `taints[0] key ""`},
		"bad taint value": {func(n *devnode.Node) { n.Taints[0].Value = "a b" }, `taints[0] value "a b"`},
		"duplicate taint": {func(n *devnode.Node) { n.Taints = append(n.Taints, n.Taints[0]) },
			`taints[1]: key "dedicated" with effect NoSchedule given twice`},
	} {
		n := good
		n.Labels = map[string]string{"eks.amazonaws.com/nodegroup": "local-workers"}
		n.Taints = append([]corev1.Taint(nil), good.Taints...)
		c.change(&n)
		if err := n.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Validate: %v, want an error containing %q", name, err, c.want)
		}
	}
}

// Whatever text the module passes, parsing answers with a value or an error: no panic.
func FuzzParse(f *testing.F) {
	for _, s := range []string{``, `null`, `[]`, `{}`, `[{"key":"a","value":"b","effect":"NO_EXECUTE"}]`,
		`{"a":"b"}`, `[null]`, `[{"key":1}]`, `{"a":[]}`} {
		f.Add(s)
	}
	f.Fuzz(func(_ *testing.T, s string) {
		if taints, err := devnode.ParseTaints(s); err == nil {
			_ = devnode.Node{Name: "n", ProviderID: "p", Taints: taints}.Validate()
		}
		if labels, err := devnode.ParseLabels(s); err == nil {
			_ = devnode.Node{Name: "n", ProviderID: "p", Labels: labels}.Validate()
		}
	})
}
