package workspaceapply

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/render"
	"github.com/capt-dev/capt/internal/testenv"
	"github.com/capt-dev/capt/internal/workspace"
)

// TestTenancy is docs/tenancy.md's "cannot reach" table: a hostile tenant in team-a
// tries each reference into team-b, kube-system or the platform's credentials. Each is
// refused with a condition naming the field and the namespace (or the ProviderConfig),
// no Workspace is created or changed, and a waited-for Secret is not looked up. The
// platform's grant makes the same references work, a revocation refuses again, each by
// watch; and no value of the other namespaces' Secrets reaches team-a.
func TestTenancy(t *testing.T) {
	api := workspace.DefaultAPI()
	startControllers(t, api)
	ctx := context.Background()
	teamA, teamB := newNamespace(t), newNamespace(t)
	const canary = "canary-7d1f0c-team-b-token"
	const canarySystem = "canary-51aa9e-platform-aws-key"
	create(t,
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: teamB, Name: "creds"}, StringData: map[string]string{"token": canary}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: metav1.NamespaceSystem, Name: "platform-aws-" + teamA}, StringData: map[string]string{"key": canarySystem}})
	// The platform's templates live in a namespace of their own, the only one its
	// credentials are granted to: teams may use those templates, not run their own
	// modules with the credentials.
	platform := newNamespace(t)
	restricted := newProviderConfig(t, "restricted-"+teamA, platform)
	absentPC := "later-" + teamA

	type tc struct {
		name string
		// setup changes the template (in team-a unless templateIn) and the apply.
		setup      func(*infrav1.WorkspaceTemplate, *infrav1.WorkspaceTemplateApply)
		templateIn string
		// reason, field and namespace the refusal names; waitReason instead when the
		// apply waits rather than being refused.
		reason, field, namespace, waitReason string
		// existing renders a valid template first, then changes it to setup's.
		existing bool
		// byProviderConfig: granted by the ProviderConfig, not by a Namespace.
		byProviderConfig bool
	}
	cases := []tc{
		{name: "varfiles-team-b", reason: infrav1.NamespaceNotGrantedReason, namespace: teamB,
			field: "spec.template.spec.forProvider.varFiles[0].secretKeyRef.namespace",
			setup: func(tm *infrav1.WorkspaceTemplate, _ *infrav1.WorkspaceTemplateApply) {
				tm.Spec.Template.Spec.ForProvider.VarFiles = []infrav1.VarFile{{Source: "SecretKey", SecretKeyRef: &infrav1.KeyReference{Namespace: teamB, Name: "creds", Key: "token"}}}
			}},
		{name: "env-kube-system", reason: infrav1.NamespaceNotGrantedReason, namespace: metav1.NamespaceSystem,
			field: "spec.template.spec.forProvider.env[1].secretKeyRef.namespace",
			setup: func(tm *infrav1.WorkspaceTemplate, _ *infrav1.WorkspaceTemplateApply) {
				tm.Spec.Template.Spec.ForProvider.Env = []infrav1.EnvVar{{Name: "PLAIN", Value: "x"},
					{Name: "AWS_SECRET_ACCESS_KEY", SecretKeyRef: &infrav1.KeyReference{Namespace: metav1.NamespaceSystem, Name: "platform-aws-" + teamA, Key: "key"}}}
			}},
		{name: "configmap-team-b", reason: infrav1.NamespaceNotGrantedReason, namespace: teamB,
			field: "spec.template.spec.forProvider.env[0].configMapKeyRef.namespace",
			setup: func(tm *infrav1.WorkspaceTemplate, _ *infrav1.WorkspaceTemplateApply) {
				tm.Spec.Template.Spec.ForProvider.Env = []infrav1.EnvVar{{Name: "CONFIG", ConfigMapKeyRef: &infrav1.KeyReference{Namespace: teamB, Name: "settings", Key: "k"}}}
			}},
		{name: "connection-team-b", reason: infrav1.NamespaceNotGrantedReason, namespace: teamB,
			field: "spec.template.spec.writeConnectionSecretToRef.namespace",
			setup: func(tm *infrav1.WorkspaceTemplate, _ *infrav1.WorkspaceTemplateApply) {
				tm.Spec.Template.Spec.WriteConnectionSecretToRef = &infrav1.SecretReference{Name: "planted-by-team-a", Namespace: teamB}
			}},
		{name: "connection-kube-system", reason: infrav1.NamespaceNotGrantedReason, namespace: metav1.NamespaceSystem,
			field: "spec.writeConnectionSecretToRef.namespace",
			setup: func(_ *infrav1.WorkspaceTemplate, a *infrav1.WorkspaceTemplateApply) {
				a.Spec.WriteConnectionSecretToRef = &infrav1.SecretReference{Name: "planted-by-" + teamA, Namespace: metav1.NamespaceSystem}
			}},
		{name: "wait-for-secrets-team-b", reason: infrav1.NamespaceNotGrantedReason, namespace: teamB,
			field: "spec.waitForSecrets[0].namespace",
			setup: func(_ *infrav1.WorkspaceTemplate, a *infrav1.WorkspaceTemplateApply) {
				a.Spec.WaitForSecrets = []infrav1.SecretReference{{Name: "creds", Namespace: teamB}}
			}},
		{name: "template-in-team-b", reason: infrav1.NamespaceNotGrantedReason, namespace: teamB, templateIn: teamB,
			field: "spec.templateRef.namespace"},
		{name: "platform-template", reason: infrav1.NamespaceNotGrantedReason, namespace: platform, templateIn: platform,
			field: "spec.templateRef.namespace",
			setup: func(tm *infrav1.WorkspaceTemplate, _ *infrav1.WorkspaceTemplateApply) {
				tm.Spec.Template.Spec.ProviderConfigRef = &infrav1.ProviderConfigReference{Name: restricted}
			}},
		{name: "provider-config-not-granted", reason: infrav1.ProviderConfigNotGrantedReason, namespace: teamA, byProviderConfig: true,
			field: "ProviderConfig " + restricted,
			setup: func(tm *infrav1.WorkspaceTemplate, _ *infrav1.WorkspaceTemplateApply) {
				tm.Spec.Template.Spec.ProviderConfigRef = &infrav1.ProviderConfigReference{Name: restricted}
			}},
		{name: "provider-config-missing", waitReason: infrav1.WaitingForProviderConfigReason, byProviderConfig: true,
			setup: func(tm *infrav1.WorkspaceTemplate, _ *infrav1.WorkspaceTemplateApply) {
				tm.Spec.Template.Spec.ProviderConfigRef = &infrav1.ProviderConfigReference{Name: absentPC}
			}},
		{name: "existing-changed-to-team-b", reason: infrav1.NamespaceNotGrantedReason, namespace: teamB, existing: true,
			field: "spec.template.spec.forProvider.varFiles[0].secretKeyRef.namespace",
			setup: func(tm *infrav1.WorkspaceTemplate, _ *infrav1.WorkspaceTemplateApply) {
				tm.Spec.Template.Spec.ForProvider.VarFiles = []infrav1.VarFile{{Source: "SecretKey", SecretKeyRef: &infrav1.KeyReference{Namespace: teamB, Name: "creds", Key: "token"}}}
			}},
	}

	// The hostile tenant's attempts, all at once.
	existing := map[string]*workspace.Workspace{}
	for _, c := range cases {
		tmplNS := teamA
		if c.templateIn != "" {
			tmplNS = c.templateIn
		}
		tmpl, apply := newTemplate(tmplNS, c.name), newApply(teamA, c.name, c.name, nil)
		apply.Spec.TemplateRef.Namespace = c.templateIn
		if c.existing {
			create(t, tmpl, apply)
			existing[c.name] = waitWorkspace(t, api, teamA, c.name)
			testenv.Eventually(t, "template read back", func() error {
				return env.Client.Get(ctx, client.ObjectKeyFromObject(tmpl), tmpl)
			})
			c.setup(tmpl, apply)
			if err := env.Client.Update(ctx, tmpl); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if c.setup != nil {
			c.setup(tmpl, apply)
		}
		create(t, tmpl, apply)
	}
	for _, c := range cases {
		// The first case that fails ends the test: the others would only wait as long.
		t.Run("refused/"+c.name, func(t *testing.T) {
			if c.waitReason != "" {
				a := waitCondition(t, teamA, c.name, infrav1.DependenciesReadyCondition, metav1.ConditionFalse, c.waitReason)
				if r := condition(a, infrav1.ReadyCondition); r.Reason != c.waitReason {
					t.Errorf("Ready is %s: %s", r.Reason, r.Message)
				}
				return
			}
			a := waitCondition(t, teamA, c.name, infrav1.TemplateValidCondition, metav1.ConditionFalse, c.reason)
			msg := condition(a, infrav1.TemplateValidCondition).Message
			if !strings.Contains(msg, c.field) || !strings.Contains(msg, " "+c.namespace) {
				t.Errorf("TemplateValid says %q, want the field %s and the namespace %s", msg, c.field, c.namespace)
			}
			if r := condition(a, infrav1.ReadyCondition); r.Status != metav1.ConditionFalse || r.Reason != c.reason {
				t.Errorf("Ready is %s %s: %s", r.Status, r.Reason, r.Message)
			}
			// The waited-for Secret is not looked up: the refusal says the same whether it exists.
			if d := condition(a, infrav1.DependenciesReadyCondition); d.Reason == infrav1.WaitingForSecretsReason {
				t.Errorf("DependenciesReady looked into another namespace: %s", d.Message)
			}
		})
		if t.Failed() {
			t.FailNow()
		}
	}
	// Nothing created, nothing changed: the applies above have all been refused.
	for _, c := range cases {
		got := getWorkspace(t, api, teamA, render.WorkspaceName(api, teamA, c.name))
		if before, ok := existing[c.name]; ok {
			if got == nil || got.Generation != before.Generation || len(got.Spec.ForProvider.VarFiles) != 0 {
				t.Errorf("%s: the refused change reached the Workspace: %+v", c.name, got)
			}
			continue
		}
		if got != nil {
			t.Errorf("%s: Workspace %s created for a refused rendering", c.name, got.Name)
		}
	}

	// The platform grants team-a each namespace, then the ProviderConfig, and creates the
	// missing one granted: the same references now work, each grant by its own watch.
	granted := func(byProviderConfig bool) {
		for _, c := range cases {
			if c.byProviderConfig == byProviderConfig && !t.Run("granted/"+c.name, func(t *testing.T) { waitGranted(t, api, teamA, c.name, c.existing) }) {
				t.FailNow()
			}
		}
	}
	setGrant(t, namespaceObject(teamB), teamA)
	setGrant(t, namespaceObject(platform), "other-team,"+teamA)
	setGrant(t, namespaceObject(metav1.NamespaceSystem), teamA)
	t.Cleanup(func() { setGrant(t, namespaceObject(metav1.NamespaceSystem), "") })
	granted(false)
	setGrant(t, providerConfigObject(restricted), platform+", "+teamA)
	newProviderConfig(t, absentPC, teamA)
	granted(true)
	// A revocation refuses the next change again, by watch.
	setGrant(t, providerConfigObject(restricted), platform)
	waitCondition(t, teamA, "provider-config-not-granted", infrav1.TemplateValidCondition, metav1.ConditionFalse, infrav1.ProviderConfigNotGrantedReason)
	setGrant(t, namespaceObject(teamB), "")
	waitCondition(t, teamA, "varfiles-team-b", infrav1.TemplateValidCondition, metav1.ConditionFalse, infrav1.NamespaceNotGrantedReason)

	// The canary: no value of team-b's or kube-system's Secrets is in anything of team-a.
	seen := make([]any, 0, 4)
	applies := &infrav1.WorkspaceTemplateApplyList{}
	coreEvents, events := &corev1.EventList{}, &eventsv1.EventList{}
	for _, l := range []client.ObjectList{applies, coreEvents, events} {
		if err := env.Client.List(ctx, l, client.InNamespace(teamA)); err != nil {
			t.Fatal(err)
		}
		seen = append(seen, l)
	}
	workspaces := api.NewList()
	if err := env.Client.List(ctx, workspaces, client.MatchingLabels{infrav1.WorkspaceTemplateApplyNamespaceLabel: teamA}); err != nil {
		t.Fatal(err)
	}
	seen = append(seen, workspaces)
	encoded, err := json.Marshal(seen)
	if err != nil {
		t.Fatal(err)
	}
	if len(applies.Items) != len(cases) || len(workspaces.Items) != len(cases) {
		t.Errorf("canary looked at %d applies and %d Workspaces, want %d of each", len(applies.Items), len(workspaces.Items), len(cases))
	}
	for _, v := range []string{canary, canarySystem} {
		if strings.Contains(string(encoded), v) {
			t.Errorf("a Secret value of another namespace reached team-a's objects or events")
		}
	}
}

// waitGranted waits for the apply's rendering to be valid and applied to its Workspace.
func waitGranted(t *testing.T, api workspace.API, ns, name string, existing bool) {
	t.Helper()
	waitCondition(t, ns, name, infrav1.TemplateValidCondition, metav1.ConditionTrue, infrav1.ValidReason)
	testenv.Eventually(t, "the granted rendering applied", func() error {
		w := getWorkspace(t, api, ns, render.WorkspaceName(api, ns, name))
		switch {
		case w == nil:
			return fmt.Errorf("no Workspace")
		case existing && len(w.Spec.ForProvider.VarFiles) != 1:
			return fmt.Errorf("Workspace keeps its old spec")
		}
		return nil
	})
}

// newProviderConfig creates a cluster-scoped ProviderConfig granting allowed.
func newProviderConfig(t *testing.T, name, allowed string) string {
	t.Helper()
	pc := providerConfigObject(name)
	pc.SetAnnotations(map[string]string{infrav1.AllowedNamespacesAnnotation: allowed})
	if err := unstructured.SetNestedField(pc.Object, "", "spec", "configuration"); err != nil {
		t.Fatal(err)
	}
	create(t, pc)
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), pc) })
	return name
}

func providerConfigObject(name string) *unstructured.Unstructured {
	pc := &unstructured.Unstructured{}
	pc.SetGroupVersionKind(schema.GroupVersionKind{Group: workspace.GroupTerraform, Version: "v1beta1", Kind: "ProviderConfig"})
	pc.SetName(name)
	return pc
}

func namespaceObject(name string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
}

// setGrant sets (empty: removes) the AllowedNamespacesAnnotation of a cluster-scoped object.
func setGrant(t *testing.T, o client.Object, allowed string) {
	t.Helper()
	var value any = allowed
	if allowed == "" {
		value = nil
	}
	data, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]any{infrav1.AllowedNamespacesAnnotation: value}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Patch(context.Background(), o, client.RawPatch(types.MergePatchType, data)); err != nil {
		t.Fatal(err)
	}
}
