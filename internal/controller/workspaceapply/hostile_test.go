package workspaceapply

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/render"
	"github.com/capt-dev/capt/internal/testenv"
	"github.com/capt-dev/capt/internal/workspace"
)

// canary is in every hostile value: no condition may repeat it.
const canary = "s3cr3t"

// hostileModule is HCL with what a value could try to inject: quotes, a heredoc,
// Terraform's own ${...} and %{...}, a tab; it must reach the Workspace byte for byte.
const hostileModule = `variable "value" { type = string }
variable "copy" { type = string }
variable "region" { default = "" }
variable "name" { default = "" }
variable "other" { default = "" }
variable "tags" { default = {} }
output "echo" { value = "${var.value}" }
output "tpl" {
  value = <<-EOT
	%{ if var.copy != "" }"${var.copy}"%{ endif }
	EOT
}
`

// hostileTemplate passes ${value} into a var, the varmap and an env value, on top of the
// variable itself, which reaches the varmap as data.
func hostileTemplate(ns, name string) *infrav1.WorkspaceTemplate {
	t := newTemplate(ns, name)
	p := &t.Spec.Template.Spec.ForProvider
	p.Module = hostileModule
	p.Vars = append(p.Vars, infrav1.Var{Key: "copy", Value: "prefix-${value}-suffix"})
	p.VarMap = &apiextensionsv1.JSON{Raw: []byte(`{"tags":{"v":"${value}"}}`)}
	p.Env = []infrav1.EnvVar{{Name: "VALUE", Value: "${value}"}}
	return t
}

// TestHostileVariables creates WorkspaceTemplateApplies whose variables hold quotes,
// newlines, ${...} and %{...} template syntax, HCL, JSON, every control character and
// invalid UTF-8 (issue #8, item 6). Each value reaches the Workspace as data, verbatim,
// wherever the template puts it; the module and the Workspace's structure do not
// change; a provider error that quotes the value is mirrored masked; the apply turns
// Ready; and at rest nothing is written.
func TestHostileVariables(t *testing.T) {
	api := workspace.DefaultAPI()
	writes := startControllers(t, api)
	ns := newNamespace(t)
	deleteAtEnd(t, ns)
	create(t, hostileTemplate(ns, "hostile"))

	var controls strings.Builder
	for c := byte(0); c < 0x20; c++ {
		controls.WriteByte(c)
	}
	values := map[string]string{
		"quotes":                `"` + canary + `" '\'' \" \\"`,
		"json breakout":         `"}, {"key": "injected", "value": "` + canary,
		"newlines":              "line1\n" + canary + "\r\nline3\n",
		"hcl breakout":          "\"\n}\nresource \"null_resource\" \"" + canary + "\" {}\n",
		"placeholder":           "${" + canary + "}",
		"own placeholder":       "${value}-" + canary,
		"escaped placeholder":   "$${region}" + canary,
		"terraform reference":   "${var.region}-" + canary,
		"terraform directive":   "%{ if true }" + canary + "%{ endif }",
		"heredoc":               "<<EOT\n" + canary + "\nEOT",
		"C0 control characters": canary + controls.String(),
		"NUL in the middle":     canary + "\x00" + canary,
		"invalid UTF-8":         canary + "\xff\xfe\xc3\x28",
		"line separators":       canary + "\u2028\u2029\ufeff",
		"a quarter megabyte":    canary + strings.Repeat("${x}\"\n", 1<<16/6*4),
		"looks like a boolean":  "true" + canary,
	}
	names := map[string]string{}
	i := 0
	for what, v := range values {
		i++
		name := fmt.Sprintf("v%d", i)
		names[name] = what
		create(t, newHostileApply(ns, name, "hostile", map[string]string{"value": v}))
	}

	for name, what := range names {
		// What the API server stored: JSON carries invalid UTF-8 as U+FFFD.
		value := getApply(t, ns, name).Spec.Variables["value"]
		if !strings.Contains(value, canary) {
			t.Fatalf("%s: stored value lost its content", what)
		}
		w := waitWorkspace(t, api, ns, name)
		p := w.Spec.ForProvider
		if p.Module != hostileModule {
			t.Errorf("%s: module changed", what)
		}
		if len(p.Vars) != 2 || p.Vars[0].Key != "region" || p.Vars[0].Value != "us-west-2" || p.Vars[1].Key != "copy" || p.Vars[1].Value != "prefix-"+value+"-suffix" {
			t.Errorf("%s: vars %.300v", what, p.Vars)
		}
		if len(p.Env) != 1 || p.Env[0].Name != "VALUE" || p.Env[0].Value != value {
			t.Errorf("%s: env %.300v", what, p.Env)
		}
		var varmap map[string]any
		if err := json.Unmarshal(p.VarMap.Raw, &varmap); err != nil {
			t.Fatalf("%s: varmap: %v", what, err)
		}
		tags, _ := varmap["tags"].(map[string]any)
		if len(varmap) != 3 || varmap["value"] != value || varmap["name"] != name || len(tags) != 1 || tags["v"] != value {
			t.Errorf("%s: varmap %.300s", what, p.VarMap.Raw)
		}
		if w.Spec.WriteConnectionSecretToRef == nil || w.Spec.WriteConnectionSecretToRef.Name != name+"-outputs" {
			t.Errorf("%s: connection secret %+v", what, w.Spec.WriteConnectionSecretToRef)
		}

		// Terraform quotes the value in an error: the apply mirrors it masked. (Only
		// whole values are masked; the long one is not quoted.)
		quoted := value
		if len(quoted) > 4096 {
			quoted = "(" + fmt.Sprint(len(value)) + " bytes)"
		}
		playProvider(t, api, w, metav1.ConditionFalse, metav1.ConditionFalse, "ApplyFailure",
			"apply failed: Error: invalid value \""+quoted+"\" for variable value", nil)
	}
	for name, what := range names {
		a := waitCondition(t, ns, name, infrav1.ReadyCondition, metav1.ConditionFalse, infrav1.WorkspaceNotSyncedReason)
		for _, c := range a.Status.Conditions {
			if strings.Contains(c.Message, canary) || len(c.Message) > 1024 {
				t.Errorf("%s: condition %s leaks the value: %.200q", what, c.Type, c.Message)
			}
		}
		want := []string{"apply failed", "invalid value"}
		if len(a.Spec.Variables["value"]) <= 4096 {
			want = append(want, "[redacted]")
		}
		if err := testenv.ContainsAll(condition(a, infrav1.ReadyCondition).Message, want...); err != nil {
			t.Errorf("%s: %v", what, err)
		}
		playProvider(t, api, getWorkspace(t, api, ns, render.WorkspaceName(api, ns, name)), metav1.ConditionTrue, metav1.ConditionTrue, "", "", nil)
	}
	for name := range names {
		waitCondition(t, ns, name, infrav1.ReadyCondition, metav1.ConditionTrue, infrav1.ReadyReason)
	}
	writes.AtRest(t, controllerName, "hostile variables")
}

// TestVariablesServerSideApplyRefuses passes values with the characters JSON carries
// unescaped but server-side apply's YAML decoding refuses (DEL, C1 controls, U+FFFF),
// and a template holding one: a TemplateInvalid condition naming the variable, not a
// retry loop; a clean value clears it.
func TestVariablesServerSideApplyRefuses(t *testing.T) {
	ctx := context.Background()
	api := workspace.DefaultAPI()
	writes := startControllers(t, api)
	ns := newNamespace(t)
	deleteAtEnd(t, ns)
	del := hostileTemplate(ns, "del")
	del.Spec.Template.Spec.ForProvider.Module += "# \x7f\n"
	create(t, hostileTemplate(ns, "hostile"), del)
	for name, value := range map[string]string{"del": "\x7f", "c1": "\u0080\u009f", "noncharacter": "\uffff"} {
		create(t, newHostileApply(ns, name, "hostile", map[string]string{"value": canary + value, "other": "fine"}))
	}
	create(t, newHostileApply(ns, "in-template", "del", map[string]string{"value": "fine"}))
	for name, want := range map[string]string{
		"del": "variable value holds a character that server-side apply refuses", "c1": "variable value holds",
		"noncharacter": "variable value holds", "in-template": "WorkspaceTemplate " + ns + "/del holds a character",
	} {
		a := waitCondition(t, ns, name, infrav1.ReadyCondition, metav1.ConditionFalse, infrav1.TemplateInvalidReason)
		if err := testenv.ContainsAll(condition(a, infrav1.TemplateValidCondition).Message, want); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		for _, c := range a.Status.Conditions {
			if strings.Contains(c.Message, canary) {
				t.Errorf("%s: condition %s leaks the value: %q", name, c.Type, c.Message)
			}
		}
		if getWorkspace(t, api, ns, render.WorkspaceName(api, ns, name)) != nil {
			t.Errorf("%s: a Workspace exists", name)
		}
	}
	writes.AtRest(t, controllerName, "values server-side apply refuses")
	testenv.Eventually(t, "clean the value", func() error {
		cur := getApply(t, ns, "del")
		cur.Spec.Variables["value"] = "clean"
		return env.Client.Update(ctx, cur)
	})
	waitWorkspace(t, api, ns, "del")
	waitCondition(t, ns, "del", infrav1.TemplateValidCondition, metav1.ConditionTrue, infrav1.ValidReason)
}

// TestVariablesOfAMegabyte passes a megabyte value: as data once, the Workspace holds
// it; copied by the template, the Workspace is larger than the API server stores, which
// is a TemplateInvalid condition (not a retry loop), before or after the API server
// says so; a smaller value clears it.
func TestVariablesOfAMegabyte(t *testing.T) {
	ctx := context.Background()
	api := workspace.DefaultAPI()
	writes := startControllers(t, api)
	ns := newNamespace(t)
	deleteAtEnd(t, ns)
	plain, hostile := newTemplate(ns, "plain"), hostileTemplate(ns, "hostile")
	create(t, plain, hostile)
	prefix := canary + "\"${x}\n%{ if y }\x00"
	megabyte := prefix + strings.Repeat("m", 1<<20-len(prefix))

	// As data, once: the Workspace holds it.
	create(t, newHostileApply(ns, "data", "plain", map[string]string{"value": megabyte}))
	w := waitWorkspace(t, api, ns, "data")
	if varValue(w, "value") != megabyte {
		t.Error("the megabyte did not reach the varmap verbatim")
	}
	playProvider(t, api, w, metav1.ConditionTrue, metav1.ConditionTrue, "", "", nil)
	waitCondition(t, ns, "data", infrav1.ReadyCondition, metav1.ConditionTrue, infrav1.ReadyReason)

	// Copied four times: refused before it reaches the API server.
	create(t, newHostileApply(ns, "copied", "hostile", map[string]string{"value": megabyte}))
	a := waitCondition(t, ns, "copied", infrav1.ReadyCondition, metav1.ConditionFalse, infrav1.TemplateInvalidReason)
	if err := testenv.ContainsAll(condition(a, infrav1.TemplateValidCondition).Message, "WorkspaceTemplate "+ns+"/hostile is ", "bytes, more than the API server stores"); err != nil {
		t.Error(err)
	}

	// Just under CAPT's bound: the API server's storage refuses it, with the same reason.
	under := justUnder(t, api, hostile, ns)
	create(t, newHostileApply(ns, "just-under", "hostile", map[string]string{"value": under}))
	a = waitCondition(t, ns, "just-under", infrav1.ReadyCondition, metav1.ConditionFalse, infrav1.TemplateInvalidReason)
	if err := testenv.ContainsAll(condition(a, infrav1.TemplateValidCondition).Message, "is refused by the API server"); err != nil {
		t.Error(err)
	}
	for _, name := range []string{"copied", "just-under"} {
		a := getApply(t, ns, name)
		for _, c := range a.Status.Conditions {
			if strings.Contains(c.Message, canary) || len(c.Message) > 1024 {
				t.Errorf("%s: condition %s leaks the value: %.200q", name, c.Type, c.Message)
			}
		}
		if getWorkspace(t, api, ns, render.WorkspaceName(api, ns, name)) != nil {
			t.Errorf("%s: a Workspace exists", name)
		}
	}
	writes.AtRest(t, controllerName, "a Workspace too large")

	// A smaller value clears it.
	testenv.Eventually(t, "shrink the value", func() error {
		cur := getApply(t, ns, "copied")
		cur.Spec.Variables["value"] = "small"
		return env.Client.Update(ctx, cur)
	})
	waitWorkspace(t, api, ns, "copied")
	waitCondition(t, ns, "copied", infrav1.TemplateValidCondition, metav1.ConditionTrue, infrav1.ValidReason)
}

// justUnder is a value that makes the hostile template's Workspace encode to just under
// maxWorkspaceBytes.
func justUnder(t *testing.T, api workspace.API, tmpl *infrav1.WorkspaceTemplate, ns string) string {
	t.Helper()
	size := func(n int) int {
		w, err := render.Workspace(api, tmpl, newHostileApply(ns, "just-under", "hostile", map[string]string{"value": strings.Repeat("x", n)}))
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(w)
		if err != nil {
			t.Fatal(err)
		}
		return len(b)
	}
	base, perByte := size(0), size(4)-size(3)
	n := (maxWorkspaceBytes - 64 - base) / perByte
	if got := size(n); got > maxWorkspaceBytes || got < maxWorkspaceBytes-256 {
		t.Fatalf("value of %d bytes encodes to %d", n, got)
	}
	return canary + strings.Repeat("x", n-len(canary))
}

// TestHostileTemplates writes templates whose own text is hostile: a varmap key of
// 64 KiB and one of control characters, a varmap nested a thousand deep, a placeholder
// name of 64 KiB (issue #8, item 6). Each is TemplateInvalid on the template or on the
// apply, with a message of bounded length and printable characters (an unbounded one
// would exceed the condition's 32 KiB and make every status patch fail), and at rest
// nothing is written.
func TestHostileTemplates(t *testing.T) {
	ctx := context.Background()
	api := workspace.DefaultAPI()
	writes := startControllers(t, api)
	ns := newNamespace(t)
	deleteAtEnd(t, ns)
	withVarMap := func(name, varmap string) *infrav1.WorkspaceTemplate {
		tmpl := newTemplate(ns, name)
		tmpl.Spec.Template.Spec.ForProvider.VarMap = &apiextensionsv1.JSON{Raw: []byte(varmap)}
		return tmpl
	}
	longKey := strings.Repeat("k", 1<<16)
	cases := []struct {
		tmpl        *infrav1.WorkspaceTemplate
		onTemplate  bool // invalid for every apply, not only this one
		messageHas  string
		messageLack string
	}{
		{withVarMap("long-key", `{"`+longKey+`":"${a b}"}`), true, `varmap."kkkk`, longKey[:100]},
		{withVarMap("control-key", `{"a\u0000\n\u001b[31m":"${a b}"}`), true, `varmap."a\x00\n\x1b[31m" has a placeholder that is not a variable name`, "\x1b"},
		{withVarMap("deep", strings.Repeat(`{"a":`, 1000)+`"${a b}"`+strings.Repeat("}", 1000)), true, "varmap.a.a.a", ""},
		{withVarMap("long-placeholder", `{"a":"${`+longKey+`}"}`), false, "(65536 bytes)} names no variable", longKey[:100]},
	}
	for _, tc := range cases {
		create(t, tc.tmpl, newHostileApply(ns, tc.tmpl.Name, tc.tmpl.Name, nil))
	}
	for _, tc := range cases {
		var messages []string
		if tc.onTemplate {
			testenv.Eventually(t, tc.tmpl.Name+" reports itself invalid", func() error {
				cur := &infrav1.WorkspaceTemplate{}
				if err := env.Client.Get(ctx, client.ObjectKeyFromObject(tc.tmpl), cur); err != nil {
					return err
				}
				for _, c := range cur.Status.Conditions {
					if c.Type == infrav1.TemplateValidCondition && c.Status == metav1.ConditionFalse {
						messages = append(messages, c.Message)
						return nil
					}
				}
				return fmt.Errorf("conditions %.300v", cur.Status.Conditions)
			})
		}
		a := waitCondition(t, ns, tc.tmpl.Name, infrav1.ReadyCondition, metav1.ConditionFalse, infrav1.TemplateInvalidReason)
		messages = append(messages, condition(a, infrav1.TemplateValidCondition).Message)
		for _, m := range messages {
			if !strings.Contains(m, tc.messageHas) || (tc.messageLack != "" && strings.Contains(m, tc.messageLack)) || len(m) > 1024 {
				t.Errorf("%s: message %.300q, want %q within 1024 bytes", tc.tmpl.Name, m, tc.messageHas)
			}
		}
		if getWorkspace(t, api, ns, render.WorkspaceName(api, ns, tc.tmpl.Name)) != nil {
			t.Errorf("%s: a Workspace exists", tc.tmpl.Name)
		}
	}
	writes.AtRest(t, controllerName, "hostile templates")
}

// deleteAtEnd deletes the namespace's WorkspaceTemplateApplies (and so their Workspaces)
// and templates while the test's controllers still run: the large objects of these
// tests must not slow down the tests after them.
func deleteAtEnd(t *testing.T, ns string) {
	t.Cleanup(func() {
		ctx := context.Background()
		if err := env.Client.DeleteAllOf(ctx, &infrav1.WorkspaceTemplateApply{}, client.InNamespace(ns)); err != nil {
			t.Errorf("deleting applies: %v", err)
		}
		if err := env.Client.DeleteAllOf(ctx, &infrav1.WorkspaceTemplate{}, client.InNamespace(ns)); err != nil {
			t.Errorf("deleting templates: %v", err)
		}
		testenv.Eventually(t, "applies deleted", func() error {
			list := &infrav1.WorkspaceTemplateApplyList{}
			if err := env.Client.List(ctx, list, client.InNamespace(ns)); err != nil {
				return err
			}
			if len(list.Items) > 0 {
				return fmt.Errorf("%d left", len(list.Items))
			}
			return nil
		})
	})
}

// newHostileApply is newApply with the variable "value", which carries the canary,
// marked sensitive: its value is masked in every message, the others stay readable.
func newHostileApply(ns, name, template string, vars map[string]string) *infrav1.WorkspaceTemplateApply {
	a := newApply(ns, name, template, vars)
	a.Spec.SensitiveVariables = []string{"value"}
	return a
}
