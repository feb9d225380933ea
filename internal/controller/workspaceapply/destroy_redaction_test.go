package workspaceapply

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	eventsv1 "k8s.io/api/events/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/redact"
	"github.com/capt-dev/capt/internal/testenv"
	"github.com/capt-dev/capt/internal/workspace"
)

// plant is a secret value planted where a destroy error can quote it, and where it came
// from, for the failure message.
type plant struct{ value, from string }

// sensitiveTemplate is a template that marks variables sensitive itself (the apply marks
// none) and gives the Terraform process an inline environment value.
func sensitiveTemplate(ns string) *infrav1.WorkspaceTemplate {
	tmpl := newTemplate(ns, "vpc")
	p := &tmpl.Spec.Template.Spec.ForProvider
	p.Vars = append(p.Vars, infrav1.Var{Key: "master_password", Value: "tmplvars-canary-7c1e"})
	p.VarMap = &apiextensionsv1.JSON{Raw: []byte(`{"api_token":"tmplvarmap-canary-5b0a"}`)}
	p.Env = []infrav1.EnvVar{{Name: "AWS_SECRET_ACCESS_KEY", Value: "envvalue-canary-9f2d"}}
	tmpl.Spec.SensitiveVariables = []string{"db_password", "master_password", "api_token"}
	return tmpl
}

// deleteWithFailingDestroy creates the apply with vars under tmpl, deletes it while its
// provider holds the Workspace, and reports a destroy failure quoting quote.
func deleteWithFailingDestroy(t *testing.T, api workspace.API, tmpl *infrav1.WorkspaceTemplate, name string, vars map[string]string, deleteTemplate bool, quote string) {
	t.Helper()
	ns := tmpl.Namespace
	create(t, tmpl, newApply(ns, name, tmpl.Name, vars))
	w := waitWorkspace(t, api, ns, name)
	setWorkspaceFinalizers(t, api, w.Name, []string{providerFinalizer})
	if deleteTemplate {
		if err := env.Client.Delete(context.Background(), tmpl); err != nil {
			t.Fatal(err)
		}
		testenv.Eventually(t, "template gone", func() error { return gone(tmpl) })
	}
	if err := env.Client.Delete(context.Background(), getApply(t, ns, name)); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "Workspace being deleted", func() error {
		if w = getWorkspace(t, api, ns, w.Name); w == nil || w.DeletionTimestamp == nil {
			return fmt.Errorf("not being deleted: %+v", w)
		}
		return nil
	})
	playDestroy(t, api, w.Name, "delete failed: cannot run terraform destroy: Error: deleting VPC: "+quote+": DependencyViolation")
}

// assertDestroyFailureRedacted waits for the destroy failure and the stall it turns into,
// then checks every condition of the apply and every event about it: the failure is
// there, no canary is, and each readable value still reads.
func assertDestroyFailureRedacted(t *testing.T, ns, name string, canaries []plant, readable ...string) {
	t.Helper()
	a := waitCondition(t, ns, name, infrav1.DeletingCondition, metav1.ConditionTrue, infrav1.WorkspaceDestroyFailedReason)
	if err := testenv.ContainsAll(condition(a, infrav1.DeletingCondition).Message, append([]string{"DependencyViolation", redact.Mask}, readable...)...); err != nil {
		t.Error(err)
	}
	// The stall's condition and its one Warning event quote the failure too.
	a = waitCondition(t, ns, name, infrav1.DeletionStalledCondition, metav1.ConditionTrue, infrav1.DeletionStalledReason)
	testenv.Eventually(t, "DeletionStalled event", func() error {
		if n := eventCount(t, ns, name, infrav1.DeletionStalledReason); n != 1 {
			return fmt.Errorf("%d events", n)
		}
		return nil
	})
	texts := map[string]string{}
	for _, c := range a.Status.Conditions {
		texts["condition "+c.Type] = c.Message
	}
	events := &eventsv1.EventList{}
	if err := env.Client.List(context.Background(), events, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	for _, e := range events.Items {
		if e.Regarding.Name == name {
			texts["event "+e.Reason] = e.Note
		}
	}
	if err := testenv.ContainsAll(texts["event "+infrav1.DeletionStalledReason], "DependencyViolation", redact.Mask); err != nil {
		t.Errorf("DeletionStalled event: %v", err)
	}
	for where, text := range texts {
		for _, c := range canaries {
			if strings.Contains(text, c.value) {
				t.Errorf("%s quotes the value of %s: %s", where, c.from, text)
			}
		}
	}
}

// TestDestroyFailureRedactsWhatTheTemplateMarksAndEnv: a destroy failure quoting values
// the apply does not mark sensitive, but the template does (an apply variable, a template
// vars entry, a template varmap entry), and an inline env value of the Terraform process
// (marked by no one), shows each masked on the apply's Deleting and DeletionStalled
// conditions, its mirrored WorkspaceSynced and its DeletionStalled event; the owners copy
// those messages. A value no one marks stays readable.
func TestDestroyFailureRedactsWhatTheTemplateMarksAndEnv(t *testing.T) {
	api := workspace.DefaultAPI()
	startStallControllers(t, api, 3*time.Second)
	ns := newNamespace(t)
	canaries := []plant{
		{"applyvar-canary-3d4f", "an apply variable the template marks sensitive"},
		{"tmplvars-canary-7c1e", "a template vars entry the template marks sensitive"},
		{"tmplvarmap-canary-5b0a", "a template varmap entry the template marks sensitive"},
		{"envvalue-canary-9f2d", "an inline env value"},
	}
	quote := make([]string, 0, len(canaries))
	for _, c := range canaries {
		quote = append(quote, c.value)
	}
	deleteWithFailingDestroy(t, api, sensitiveTemplate(ns), "marked", map[string]string{"db_password": canaries[0].value, "region": "eu-north-1"},
		false, "region eu-north-1, values "+strings.Join(quote, ", "))
	assertDestroyFailureRedacted(t, ns, "marked", canaries, "eu-north-1")
}

// TestDestroyFailureRedactsEveryValueWithoutTheTemplate: when the template was deleted
// before its apply, which variables it marked is unknown, so a destroy failure masks
// every variable value the Workspace carries (the apply's, the template's vars and
// varmap entries), and every env value.
func TestDestroyFailureRedactsEveryValueWithoutTheTemplate(t *testing.T) {
	api := workspace.DefaultAPI()
	startStallControllers(t, api, 3*time.Second)
	ns := newNamespace(t)
	canaries := []plant{
		{"applyvar-canary-3d4f", "an apply variable the template marked sensitive"},
		{"unmarked-canary-e81b", "an apply variable no one marks"},
		{"tmplvars-canary-7c1e", "a template vars entry the template marked sensitive"},
		{"tmplvarmap-canary-5b0a", "a template varmap entry the template marked sensitive"},
		{"envvalue-canary-9f2d", "an inline env value"},
	}
	quote := make([]string, 0, len(canaries))
	for _, c := range canaries {
		quote = append(quote, c.value)
	}
	deleteWithFailingDestroy(t, api, sensitiveTemplate(ns), "orphaned", map[string]string{"db_password": canaries[0].value, "owner_tag": canaries[1].value},
		true, "values "+strings.Join(quote, ", "))
	assertDestroyFailureRedacted(t, ns, "orphaned", canaries)
}
