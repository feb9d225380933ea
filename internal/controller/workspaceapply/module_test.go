package workspaceapply

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/observed"
	"github.com/capt-dev/capt/internal/controller/workspacetemplate"
	"github.com/capt-dev/capt/internal/render"
	"github.com/capt-dev/capt/internal/testenv"
	"github.com/capt-dev/capt/internal/workspace"
)

// startRecordingControllers runs the controllers with an event recorder and returns the
// counter of their writes.
func startRecordingControllers(t *testing.T, api workspace.API) *testenv.WriteCounter {
	return env.StartManager(t, func(ctx context.Context, mgr ctrl.Manager, c client.Client) error {
		if err := (&workspacetemplate.Reconciler{Client: c, APIReader: mgr.GetAPIReader(), API: api}).SetupWithManager(mgr, controller.Options{}); err != nil {
			return err
		}
		return (&Reconciler{Client: c, APIReader: mgr.GetAPIReader(), API: api, Recorder: mgr.GetEventRecorder("workspacetemplateapply-controller")}).
			SetupWithManager(ctx, mgr, controller.Options{MaxConcurrentReconciles: 4})
	})
}

// moduleTemplate is newTemplate with another module.
func moduleTemplate(ns, name, module string) *infrav1.WorkspaceTemplate {
	tmpl := newTemplate(ns, name)
	tmpl.Spec.Template.Spec.ForProvider.Module = module
	return tmpl
}

// noValues fails when a condition of the apply quotes one of the values.
func noValues(t *testing.T, a *infrav1.WorkspaceTemplateApply, values ...string) {
	t.Helper()
	for _, c := range a.Status.Conditions {
		for _, v := range values {
			if strings.Contains(c.Message, v) {
				t.Errorf("%s: condition %s quotes a value: %s", a.Name, c.Type, c.Message)
			}
		}
	}
}

// TestRequiredVariableUnsetStopsTheWorkspace: an Inline module (HCL or JSON) that
// requires a variable nothing sets is a failure before any run: Ready=False and
// TemplateValid=False with RequiredVariablesUnset naming the variable, no Workspace, and
// nothing written at rest. A value from the apply, an env TF_VAR_<name>, or a template
// with varFiles (whose contents CAPT does not read) lets the Workspace be created. A
// template change that adds a required variable leaves an existing Workspace as it was.
func TestRequiredVariableUnsetStopsTheWorkspace(t *testing.T) {
	ctx := context.Background()
	api := workspace.DefaultAPI()
	writes := startControllers(t, api)
	ns := newNamespace(t)
	deleteAtEnd(t, ns)
	const module = `variable "region" {}
variable "name" { default = "" }
variable "api_token" { type = string }
variable "zone" { default = null }
`
	json := moduleTemplate(ns, "json", `{"variable": {"region": {}, "name": {"default": ""}, "api_token": {"type": "string"}}}`)
	json.Spec.Template.Spec.ForProvider.InlineFormat = "JSON"
	byEnv := moduleTemplate(ns, "by-env", module)
	byEnv.Spec.Template.Spec.ForProvider.Env = []infrav1.EnvVar{{Name: "TF_VAR_api_token", SecretKeyRef: &infrav1.KeyReference{Namespace: ns, Name: "token", Key: "token"}}}
	byFile := moduleTemplate(ns, "by-file", module)
	byFile.Spec.Template.Spec.ForProvider.VarFiles = []infrav1.VarFile{{Source: "SecretKey", SecretKeyRef: &infrav1.KeyReference{Namespace: ns, Name: "vars", Key: "vars.tfvars"}}}
	create(t, moduleTemplate(ns, "tokened", module), json, byEnv, byFile)
	create(t,
		newApply(ns, "unset", "tokened", map[string]string{"region": "canary-region-value"}),
		newApply(ns, "unset-json", "json", nil),
		newApply(ns, "set", "tokened", map[string]string{"api_token": "canary-token-value"}),
		newApply(ns, "by-env", "by-env", nil),
		newApply(ns, "by-file", "by-file", nil))

	for _, name := range []string{"unset", "unset-json"} {
		a := waitCondition(t, ns, name, infrav1.ReadyCondition, metav1.ConditionFalse, infrav1.RequiredVariablesUnsetReason)
		if err := testenv.ContainsAll(condition(a, infrav1.ReadyCondition).Message, "requires variable api_token,", "No value for required variable"); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if c := condition(a, infrav1.TemplateValidCondition); c.Status != metav1.ConditionFalse || c.Reason != infrav1.RequiredVariablesUnsetReason {
			t.Errorf("%s: TemplateValid = %+v", name, c)
		}
		noValues(t, a, "canary-region-value")
		if getWorkspace(t, api, ns, render.WorkspaceName(api, ns, name)) != nil {
			t.Errorf("%s: a Workspace was created for a run that cannot plan", name)
		}
	}
	for _, name := range []string{"set", "by-env", "by-file"} {
		waitWorkspace(t, api, ns, name)
		a := waitCondition(t, ns, name, infrav1.TemplateValidCondition, metav1.ConditionTrue, infrav1.ValidReason)
		noValues(t, a, "canary-token-value")
	}
	writes.AtRest(t, controllerName, "a required variable unset")

	// The variable given: the Workspace is created.
	testenv.Eventually(t, "set api_token", func() error {
		cur := getApply(t, ns, "unset")
		cur.Spec.Variables["api_token"] = "canary-token-value"
		return env.Client.Update(ctx, cur)
	})
	w := waitWorkspace(t, api, ns, "unset")
	waitCondition(t, ns, "unset", infrav1.TemplateValidCondition, metav1.ConditionTrue, infrav1.ValidReason)

	// A template change that requires one more: the Workspace keeps its last spec.
	testenv.Eventually(t, "require zone", func() error {
		tmpl := &infrav1.WorkspaceTemplate{}
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "tokened"}, tmpl); err != nil {
			return err
		}
		tmpl.Spec.Template.Spec.ForProvider.Module = strings.Replace(module, `"zone" { default = null }`, `"zone" {}`, 1)
		return env.Client.Update(ctx, tmpl)
	})
	a := waitCondition(t, ns, "unset", infrav1.ReadyCondition, metav1.ConditionFalse, infrav1.RequiredVariablesUnsetReason)
	if err := testenv.ContainsAll(condition(a, infrav1.ReadyCondition).Message, "requires variable zone,", "keeps its last applied spec"); err != nil {
		t.Error(err)
	}
	noValues(t, a, "canary-token-value", "canary-region-value")
	if got := getWorkspace(t, api, ns, w.Name); got == nil || got.Spec.ForProvider.Module != module {
		t.Errorf("the Workspace was given a module that cannot plan: %+v", got)
	}
}

// TestIgnoredVariableIsReportedOnce: a variable the apply or the template's varmap sets
// that the Inline module does not declare does not hold the apply back (its Workspace is
// created and turns Ready); TemplateValid says VariablesIgnored, naming it, and one
// Warning event says so, once per list of names: a pass that finds the same list writes
// nothing and records nothing. Declaring the variables clears it.
func TestIgnoredVariableIsReportedOnce(t *testing.T) {
	ctx := context.Background()
	api := workspace.DefaultAPI()
	writes := startRecordingControllers(t, api)
	ns := newNamespace(t)
	deleteAtEnd(t, ns)
	tmpl := moduleTemplate(ns, "narrow", `variable "region" {}
variable "name" { default = "" }
`)
	tmpl.Spec.Template.Spec.ForProvider.VarMap = &apiextensionsv1.JSON{Raw: []byte(`{"tags": "{}"}`)}
	create(t, tmpl, newApply(ns, "extra", "narrow", map[string]string{"enable_nat_gateway": "canary-false-value"}))

	w := waitWorkspace(t, api, ns, "extra")
	playProvider(t, api, w, metav1.ConditionTrue, metav1.ConditionTrue, "", "", nil)
	a := waitCondition(t, ns, "extra", infrav1.ReadyCondition, metav1.ConditionTrue, infrav1.ReadyReason)
	valid := condition(a, infrav1.TemplateValidCondition)
	if valid.Status != metav1.ConditionTrue || valid.Reason != infrav1.VariablesIgnoredReason {
		t.Fatalf("TemplateValid = %+v, want True (VariablesIgnored)", valid)
	}
	if err := testenv.ContainsAll(valid.Message, "declares no variables enable_nat_gateway, tags:", "ignores"); err != nil {
		t.Error(err)
	}
	noValues(t, a, "canary-false-value")
	events := func(want int) func() error {
		return func() error {
			if n := eventCount(t, ns, "extra", infrav1.VariablesIgnoredReason); n != want {
				return fmt.Errorf("%d VariablesIgnored events, want %d", n, want)
			}
			return nil
		}
	}
	testenv.Eventually(t, "one VariablesIgnored event", events(1))
	writes.AtRest(t, controllerName, "a variable ignored")

	// A pass that finds the same list (brought by a touch of the apply) says nothing new.
	testenv.Eventually(t, "touch the apply", func() error {
		cur := getApply(t, ns, "extra")
		cur.Annotations = map[string]string{"touched": time.Now().String()}
		return env.Client.Update(ctx, cur)
	})
	testenv.Consistently(t, "no second event", 2*time.Second, events(1))

	// Another list: one more event.
	testenv.Eventually(t, "set single_nat_gateway", func() error {
		cur := getApply(t, ns, "extra")
		cur.Spec.Variables["single_nat_gateway"] = "true"
		return env.Client.Update(ctx, cur)
	})
	testenv.Eventually(t, "a second VariablesIgnored event", events(2))

	// Declared: Valid, and no more events.
	testenv.Eventually(t, "declare the variables", func() error {
		cur := &infrav1.WorkspaceTemplate{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(tmpl), cur); err != nil {
			return err
		}
		cur.Spec.Template.Spec.ForProvider.Module += "variable \"tags\" { default = \"{}\" }\nvariable \"enable_nat_gateway\" { default = \"true\" }\nvariable \"single_nat_gateway\" { default = \"false\" }\n"
		return env.Client.Update(ctx, cur)
	})
	waitCondition(t, ns, "extra", infrav1.TemplateValidCondition, metav1.ConditionTrue, infrav1.ValidReason)
	testenv.Consistently(t, "no event once declared", time.Second, events(2))
}

// TestModuleNotCheckedDoesNotBlock: an Inline module that does not parse is said so on
// TemplateValid (ModuleUnreadable, with the position) but not held back: Terraform
// reports its error. A Remote module is not fetched, so not checked: Valid.
func TestModuleNotCheckedDoesNotBlock(t *testing.T) {
	api := workspace.DefaultAPI()
	startControllers(t, api)
	ns := newNamespace(t)
	deleteAtEnd(t, ns)
	remote := moduleTemplate(ns, "remote", "git::https://example.com/modules.git//vpc?ref=v1")
	remote.Spec.Template.Spec.ForProvider.Source = "Remote"
	remote.Spec.Template.Spec.ForProvider.InlineFormat = ""
	create(t, moduleTemplate(ns, "broken", "variable \"region\" {\n  default = \"x\" y\n}\n"), remote,
		newApply(ns, "broken", "broken", nil), newApply(ns, "remote", "remote", nil))

	waitWorkspace(t, api, ns, "broken")
	a := waitCondition(t, ns, "broken", infrav1.TemplateValidCondition, metav1.ConditionTrue, infrav1.ModuleUnreadableReason)
	if err := testenv.ContainsAll(condition(a, infrav1.TemplateValidCondition).Message, "main.tf:2,", "Terraform will report it"); err != nil {
		t.Error(err)
	}
	waitWorkspace(t, api, ns, "remote")
	waitCondition(t, ns, "remote", infrav1.TemplateValidCondition, metav1.ConditionTrue, infrav1.ValidReason)
}

// TestCheckModule covers what the API server tests do not: which parameters give a
// required variable its value, and which leave CAPT unable to tell.
func TestCheckModule(t *testing.T) {
	const module = "variable \"a\" {}\nvariable \"b\" { default = 1 }\n"
	inline := func(edit func(p *infrav1.WorkspaceParameters)) infrav1.WorkspaceParameters {
		p := infrav1.WorkspaceParameters{Source: "Inline", Module: module}
		if edit != nil {
			edit(&p)
		}
		return p
	}
	varmap := func(raw string) *apiextensionsv1.JSON { return &apiextensionsv1.JSON{Raw: []byte(raw)} }
	for _, tc := range []struct {
		name                  string
		params                infrav1.WorkspaceParameters
		wantProblem, wantNote string
	}{
		{"unset", inline(nil), infrav1.RequiredVariablesUnsetReason, ""},
		{"by varmap, null too", inline(func(p *infrav1.WorkspaceParameters) { p.VarMap = varmap(`{"a": null}`) }), "", ""},
		{"by vars", inline(func(p *infrav1.WorkspaceParameters) { p.Vars = []infrav1.Var{{Key: "a", Value: "x"}} }), "", ""},
		{"by env", inline(func(p *infrav1.WorkspaceParameters) { p.Env = []infrav1.EnvVar{{Name: "TF_VAR_a", Value: "x"}} }), "", ""},
		{"env of another case", inline(func(p *infrav1.WorkspaceParameters) { p.Env = []infrav1.EnvVar{{Name: "TF_VAR_A", Value: "x"}} }), infrav1.RequiredVariablesUnsetReason, ""},
		{"-var in planArgs", inline(func(p *infrav1.WorkspaceParameters) { p.PlanArgs = []string{"-var=a=x"} }), "", ""},
		{"-var-file in applyArgs", inline(func(p *infrav1.WorkspaceParameters) { p.ApplyArgs = []string{"--var-file", "x.tfvars"} }), "", ""},
		{"TF_CLI_ARGS_plan", inline(func(p *infrav1.WorkspaceParameters) {
			p.Env = []infrav1.EnvVar{{Name: "TF_CLI_ARGS_plan", Value: "-var=a=x"}}
		}), "", ""},
		{"typo: unset and ignored", inline(func(p *infrav1.WorkspaceParameters) { p.VarMap = varmap(`{"aa": "x"}`) }), infrav1.RequiredVariablesUnsetReason, ""},
		{"ignored", inline(func(p *infrav1.WorkspaceParameters) { p.VarMap = varmap(`{"a": "x", "c": "y"}`) }), "", infrav1.VariablesIgnoredReason},
		{"a var is not ignored, Terraform refuses it", inline(func(p *infrav1.WorkspaceParameters) {
			p.VarMap, p.Vars = varmap(`{"a": "x"}`), []infrav1.Var{{Key: "c", Value: "y"}}
		}), "", ""},
		{"JSON", inline(func(p *infrav1.WorkspaceParameters) { p.InlineFormat, p.Module = "JSON", `{"variable": {"a": {}}}` }), infrav1.RequiredVariablesUnsetReason, ""},
		{"unreadable", inline(func(p *infrav1.WorkspaceParameters) { p.Module = "variable {" }), "", infrav1.ModuleUnreadableReason},
		{"Flux", inline(func(p *infrav1.WorkspaceParameters) { p.Source = "Flux" }), "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m modules
			problem, note := m.check(client.ObjectKey{Namespace: "ns", Name: "t"}, tc.params)
			if got := reasonOf(problem); got != tc.wantProblem {
				t.Errorf("problem %+v, want %q", problem, tc.wantProblem)
			}
			if got := reasonOf(note); got != tc.wantNote {
				t.Errorf("note %+v, want %q", note, tc.wantNote)
			}
			if tc.name == "typo: unset and ignored" && !strings.Contains(problem.Message, "declares no variable aa") {
				t.Errorf("the message does not name the ignored variable: %s", problem.Message)
			}
		})
	}
}

func reasonOf(p *observed.Problem) string {
	if p == nil {
		return ""
	}
	return p.Reason
}
