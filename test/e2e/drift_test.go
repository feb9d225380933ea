package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/dev"
	"github.com/capt-dev/capt/internal/localstack"
	"github.com/capt-dev/capt/internal/render"
	"github.com/capt-dev/capt/internal/workspace"
)

// driftModule keeps one value in Terraform state: what the test changes behind
// Terraform's back is the state's record of it, as a refresh would find a real object
// changed (the AWS stand-in's objects never change outside Terraform).
const driftModule = `variable "label" { type = string }
resource "terraform_data" "tag" { input = var.label }
output "tag" { value = terraform_data.tag.output }
`

// TestDriftRevertedOnTheStack runs drift reverted on the whole stack, with the real
// provider-terraform v0.21.2 (polling every 30 s) and OpenTofu: a change of the apply's
// variable, which provider-terraform applies (its UpdatedExternalResource event), is not
// drift; the state changed outside Terraform is set back at the next poll, and the apply
// says so, once.
func TestDriftRevertedOnTheStack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const name = "e2e-drift"
	tmpl := &infrav1.WorkspaceTemplate{
		ObjectMeta: metav1.ObjectMeta{Namespace: dev.Namespace, Name: name},
		Spec: infrav1.WorkspaceTemplateSpec{Template: infrav1.WorkspaceTemplateDefinition{Spec: infrav1.WorkspaceSpec{
			ProviderConfigRef: &infrav1.ProviderConfigReference{Name: localstack.ProviderConfigName},
			ForProvider:       infrav1.WorkspaceParameters{Source: "Inline", InlineFormat: "HCL", Module: driftModule},
		}}},
	}
	apply := &infrav1.WorkspaceTemplateApply{
		ObjectMeta: metav1.ObjectMeta{Namespace: dev.Namespace, Name: name},
		Spec: infrav1.WorkspaceTemplateApplySpec{
			TemplateRef: infrav1.WorkspaceTemplateReference{Name: name},
			Variables:   map[string]string{"label": "one"},
		},
	}
	for _, o := range []client.Object{tmpl, apply} {
		if err := stack.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	key := client.ObjectKeyFromObject(apply)
	t.Cleanup(func() {
		// The apply destroys its Workspace before it goes; the template then.
		if err := stack.Client.Delete(ctx, apply); err != nil {
			t.Error(err)
		}
		if err := wait.PollUntilContextTimeout(ctx, time.Second, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
			err := stack.Client.Get(ctx, key, &infrav1.WorkspaceTemplateApply{})
			return client.IgnoreNotFound(err) == nil && err != nil, client.IgnoreNotFound(err)
		}); err != nil {
			t.Errorf("apply %s not gone: %v", key, err)
		}
		if err := stack.Client.Delete(ctx, tmpl); err != nil {
			t.Error(err)
		}
	})
	until := func(what string, d time.Duration, done func(*infrav1.WorkspaceTemplateApply) bool) *infrav1.WorkspaceTemplateApply {
		t.Helper()
		a := &infrav1.WorkspaceTemplateApply{}
		if err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, d, true, func(ctx context.Context) (bool, error) {
			if err := stack.Client.Get(ctx, key, a); err != nil {
				return false, err
			}
			return done(a), nil
		}); err != nil {
			logApply(t, key)
			t.Fatalf("%s: %v", what, err)
		}
		return a
	}

	// Created and Ready: the accounting starts.
	until("Ready", 3*time.Minute, func(a *infrav1.WorkspaceTemplateApply) bool {
		return a.Status.Applied && a.Status.Drift != nil && a.Status.Drift.Accounted != nil
	})
	api := workspace.DefaultAPI()
	ws := api.NewObject()
	get(t, client.ObjectKey{Name: render.WorkspaceName(api, dev.Namespace, name)}, ws)
	state := "tfstate-" + terraformWorkspace(t, ws) + "-" + stateSuffix

	// A change from CAPT, applied by provider-terraform at once: its update is not drift.
	a := &infrav1.WorkspaceTemplateApply{}
	get(t, key, a)
	a.Spec.Variables["label"] = "two"
	if err := stack.Client.Update(ctx, a); err != nil {
		t.Fatal(err)
	}
	a = until("the change's update accounted", 2*time.Minute, func(a *infrav1.WorkspaceTemplateApply) bool {
		return len(a.Status.Drift.Accounted.Events) == 1
	})
	if a.Status.Drift.Count != 0 || stateLabel(t, state) != "two" {
		t.Fatalf("after a change from CAPT: drift %+v, state %q", a.Status.Drift, stateLabel(t, state))
	}
	updates := providerUpdates(t, api, ws)

	// The state changed behind Terraform's back: the next poll sets it back, the apply
	// counts one revert.
	setStateLabel(t, state, "changed outside Terraform")
	a = until("drift reverted", 2*time.Minute, func(a *infrav1.WorkspaceTemplateApply) bool {
		return a.Status.Drift.Count > 0
	})
	if got := stateLabel(t, state); got != "two" {
		t.Errorf("state after the poll: %q, want two (set back)", got)
	}
	if a.Status.Drift.Count != 1 || providerUpdates(t, api, ws) != updates+1 {
		t.Errorf("drift %+v after one revert (provider updates %d, then %d)", a.Status.Drift, updates, providerUpdates(t, api, ws))
	}
	for _, c := range a.Status.Conditions {
		if c.Type == infrav1.DriftRevertedCondition && c.Status != metav1.ConditionTrue {
			t.Errorf("DriftReverted = %+v", c)
		}
	}
}

// providerUpdates is the count of provider-terraform's UpdatedExternalResource events on
// the Workspace, as its event recorder keeps them: one Event, its count raised. Each is
// checked to be what CAPT's watch selects, field by field as the real provider wrote it.
func providerUpdates(t *testing.T, api workspace.API, ws client.Object) int32 {
	t.Helper()
	list := &corev1.EventList{}
	if err := stack.Client.List(context.Background(), list, client.MatchingFields{
		"involvedObject.uid": string(ws.GetUID()), "reason": "UpdatedExternalResource",
	}); err != nil {
		t.Fatal(err)
	}
	var n int32
	for i, e := range list.Items {
		if e.Source.Component != "managed/workspace.tf.upbound.io" || e.Type != corev1.EventTypeNormal || e.Namespace != metav1.NamespaceDefault ||
			e.Message != workspace.EventMessageUpdated || e.InvolvedObject.Kind != "Workspace" || e.InvolvedObject.APIVersion != "tf.upbound.io/v1beta1" ||
			!api.IsUpdateEvent(&list.Items[i]) {
			t.Errorf("provider-terraform's update event is not what CAPT selects: %+v", e)
		}
		n += e.Count
	}
	return n
}

// stateLabel returns the input of terraform_data.tag in the Terraform state Secret.
func stateLabel(t *testing.T, secret string) string {
	t.Helper()
	var label string
	editState(t, secret, func(attrs map[string]any) bool {
		label, _ = attrs["input"].(map[string]any)["value"].(string)
		return false
	})
	return label
}

// setStateLabel writes value as terraform_data.tag's input and output in the state
// Secret: what a refresh would report of an object changed outside Terraform.
func setStateLabel(t *testing.T, secret, value string) {
	t.Helper()
	editState(t, secret, func(attrs map[string]any) bool {
		for _, k := range []string{"input", "output"} {
			attrs[k] = map[string]any{"value": value, "type": "string"}
		}
		return true
	})
}

// editState hands terraform_data.tag's attributes in the kubernetes backend's state
// Secret (gzipped JSON under "tfstate") to edit, and writes the state back if it says so.
func editState(t *testing.T, name string, edit func(map[string]any) bool) {
	t.Helper()
	ctx := context.Background()
	secret := &corev1.Secret{}
	get(t, client.ObjectKey{Namespace: stateNamespace, Name: name}, secret)
	gz, err := gzip.NewReader(bytes.NewReader(secret.Data["tfstate"]))
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(gz)
	if err != nil {
		t.Fatal(err)
	}
	var state map[string]any
	if err := json.Unmarshal(data, &state); err != nil {
		t.Fatal(err)
	}
	attrs, err := tagAttributes(state)
	if err != nil {
		t.Fatalf("state %s: %v", name, err)
	}
	if !edit(attrs) {
		return
	}
	data, err = json.Marshal(state)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	secret.Data["tfstate"] = buf.Bytes()
	if err := stack.Client.Update(ctx, secret); err != nil {
		t.Fatal(err)
	}
}

// tagAttributes finds terraform_data.tag's attributes in a decoded state.
func tagAttributes(state map[string]any) (map[string]any, error) {
	resources, _ := state["resources"].([]any)
	for _, r := range resources {
		res, _ := r.(map[string]any)
		if res["type"] != "terraform_data" || res["name"] != "tag" {
			continue
		}
		instances, _ := res["instances"].([]any)
		if len(instances) != 1 {
			return nil, fmt.Errorf("terraform_data.tag has %d instances", len(instances))
		}
		if attrs, ok := instances[0].(map[string]any)["attributes"].(map[string]any); ok {
			return attrs, nil
		}
	}
	return nil, fmt.Errorf("no terraform_data.tag")
}
