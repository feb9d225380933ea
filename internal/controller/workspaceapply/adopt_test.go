package workspaceapply

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/render"
	"github.com/capt-dev/capt/internal/testenv"
	"github.com/capt-dev/capt/internal/workspace"
)

// TestAdoptExistingState: an apply with spec.adopt creates no Workspace while the state
// it names is not in the ProviderConfig's kubernetes backend; once it is, the Workspace
// is created Observe-only with the Terraform workspace as its external name. A plan that
// shows changes holds it there until exactly those changes are approved; a plan that
// changes nothing adopts it. Deleting an adopted apply lets the Workspace go without a
// destroy (deletionPolicy Orphan), unless spec.adopt.deletionPolicy is Delete.
func TestAdoptExistingState(t *testing.T) {
	api := workspace.DefaultAPI()
	startControllers(t, api)
	ctx := context.Background()
	ns := newNamespace(t)
	pcName := "adopt-" + ns
	pc := &unstructured.Unstructured{}
	pc.SetGroupVersionKind(schema.GroupVersionKind{Group: workspace.GroupTerraform, Version: "v1beta1", Kind: "ProviderConfig"})
	pc.SetName(pcName)
	pc.SetAnnotations(map[string]string{infrav1.AllowedNamespacesAnnotation: ns}) // docs/tenancy.md
	backend := fmt.Sprintf("terraform {\n  backend \"kubernetes\" {\n    namespace = %q\n    secret_suffix = \"sfx\"\n  }\n}\n", ns)
	if err := unstructured.SetNestedField(pc.Object, backend, "spec", "configuration"); err != nil {
		t.Fatal(err)
	}
	create(t, pc)
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), pc) })
	tmpl := newTemplate(ns, "tmpl")
	tmpl.Spec.Template.Spec.ProviderConfigRef = &infrav1.ProviderConfigReference{Name: pcName}
	changed := newApply(ns, "changed", "tmpl", nil)
	changed.Spec.Adopt = &infrav1.Adoption{TerraformWorkspace: "team-a", DeletionPolicy: infrav1.AdoptionDelete}
	same := newApply(ns, "same", "tmpl", nil)
	same.Spec.Adopt = &infrav1.Adoption{TerraformWorkspace: "team-b"}
	create(t, tmpl, changed, same)

	// No state: a wait that names the Secret, and no Workspace.
	for _, a := range []*infrav1.WorkspaceTemplateApply{changed, same} {
		got := waitCondition(t, ns, a.Name, infrav1.ReadyCondition, metav1.ConditionFalse, infrav1.WaitingForTerraformStateReason)
		secret := ns + "/tfstate-" + a.Spec.Adopt.TerraformWorkspace + "-sfx"
		if msg := condition(got, infrav1.ReadyCondition).Message; !strings.Contains(msg, secret) || !strings.Contains(msg, "not found") {
			t.Errorf("%s: Ready message %q does not name the missing state %s", a.Name, msg, secret)
		}
		if c := condition(got, infrav1.AdoptedCondition); c.Status != metav1.ConditionFalse || c.Reason != infrav1.WaitingForTerraformStateReason {
			t.Errorf("%s: Adopted = %+v", a.Name, c)
		}
		if st := got.Status.Adoption; st == nil || st.Phase != infrav1.AdoptionWaitingForState || st.StateSecret != secret {
			t.Errorf("%s: status.adoption = %+v", a.Name, st)
		}
		if w := getWorkspace(t, api, ns, render.WorkspaceName(api, ns, a.Name)); w != nil {
			t.Fatalf("%s: Workspace created before its state was confirmed", a.Name)
		}
	}

	// tofu workspace new writes an empty state first: still a wait, for its resources.
	empty := createState(t, ns, same.Spec.Adopt.TerraformWorkspace, "sfx", 0)
	testenv.Eventually(t, "an empty state is a wait", func() error {
		if msg := condition(getApply(t, ns, same.Name), infrav1.ReadyCondition).Message; !strings.Contains(msg, "holds no resource") {
			return fmt.Errorf("Ready says %q", msg)
		}
		return nil
	})
	// The state appears, or is written (an update of the Secret): the Workspace only
	// plans over it.
	createState(t, ns, changed.Spec.Adopt.TerraformWorkspace, "sfx", 1)
	empty.Data["tfstate"] = stateData(1)
	if err := env.Client.Update(ctx, empty); err != nil {
		t.Fatal(err)
	}
	wChanged, wSame := waitWorkspace(t, api, ns, changed.Name), waitWorkspace(t, api, ns, same.Name)
	for _, w := range []*workspace.Workspace{wChanged, wSame} {
		if !isObserveOnly(w) {
			t.Errorf("Workspace %s created with management policies %v, want only Observe", w.Name, w.Spec.ManagementPolicies)
		}
		// With the provider's finalizer: its first reconcile then keeps the Ready it observed.
		if !slices.Contains(w.Finalizers, providerFinalizer) {
			t.Errorf("Workspace %s created with finalizers %v, want %s", w.Name, w.Finalizers, providerFinalizer)
		}
	}
	if got := wChanged.Annotations[infrav1.ExternalNameAnnotation]; got != "team-a" {
		t.Errorf("external name %q, want the Terraform workspace team-a", got)
	}

	// A plan that differs: held, with a token; another token approves nothing.
	playProvider(t, api, wChanged, metav1.ConditionFalse, metav1.ConditionTrue, "", "", nil)
	a := waitCondition(t, ns, changed.Name, infrav1.ReadyCondition, metav1.ConditionFalse, infrav1.AdoptionChangesPendingReason)
	token := a.Status.Adoption.ChangesToken
	if token == "" || a.Status.Adoption.Phase != infrav1.AdoptionChangesPending || !strings.Contains(condition(a, infrav1.ReadyCondition).Message, token) {
		t.Fatalf("status.adoption %+v, Ready %q: want the token to approve", a.Status.Adoption, condition(a, infrav1.ReadyCondition).Message)
	}
	annotateApply(t, changed, infrav1.ApproveAdoptionChangesAnnotation, "0000000000000000")
	waitCondition(t, ns, changed.Name, infrav1.ReadyCondition, metav1.ConditionFalse, infrav1.AdoptionChangesPendingReason)
	if w := getWorkspace(t, api, ns, wChanged.Name); !isObserveOnly(w) {
		t.Fatalf("another token switched Workspace %s to %v", w.Name, w.Spec.ManagementPolicies)
	}
	annotateApply(t, changed, infrav1.ApproveAdoptionChangesAnnotation, token)
	testenv.Eventually(t, "approved changes: the template's policies", func() error {
		if w := getWorkspace(t, api, ns, wChanged.Name); isObserveOnly(w) {
			return fmt.Errorf("still %v", w.Spec.ManagementPolicies)
		}
		return nil
	})
	playProvider(t, api, getWorkspace(t, api, ns, wChanged.Name), metav1.ConditionTrue, metav1.ConditionTrue, "", "", nil)
	a = waitCondition(t, ns, changed.Name, infrav1.AdoptedCondition, metav1.ConditionTrue, infrav1.StateAdoptedReason)
	if st := a.Status.Adoption; !st.Approved || st.AdoptedTime == nil || st.DeletionPolicy != infrav1.AdoptionDelete {
		t.Errorf("status.adoption %+v: want approved, adopted, Delete", st)
	}

	// A plan that changes nothing adopts at once.
	playProvider(t, api, wSame, metav1.ConditionTrue, metav1.ConditionTrue, "", "", map[string]string{"vpc_id": "vpc-1"})
	waitCondition(t, ns, same.Name, infrav1.AdoptedCondition, metav1.ConditionTrue, infrav1.StateAdoptedReason)
	testenv.Eventually(t, "adopted: the template's policies", func() error {
		if w := getWorkspace(t, api, ns, wSame.Name); isObserveOnly(w) {
			return fmt.Errorf("still %v", w.Spec.ManagementPolicies)
		}
		return nil
	})
	// The provider's word on the switched Workspace (this one reports generations).
	playProvider(t, api, getWorkspace(t, api, ns, wSame.Name), metav1.ConditionTrue, metav1.ConditionTrue, "", "", map[string]string{"vpc_id": "vpc-1"})
	a = waitCondition(t, ns, same.Name, infrav1.ReadyCondition, metav1.ConditionTrue, infrav1.ReadyReason)
	if st := a.Status.Adoption; st.Phase != infrav1.AdoptionAdopted || st.Approved || st.AdoptedTime == nil || st.DeletionPolicy != infrav1.AdoptionRetain {
		t.Errorf("status.adoption %+v: want adopted by a no-op plan, retained", st)
	}

	// Deletion: retained (the default) goes without a destroy; Delete as any other.
	for _, w := range []*workspace.Workspace{wChanged, wSame} {
		setWorkspaceFinalizers(t, api, w.Name, []string{providerFinalizer})
	}
	for _, a := range []*infrav1.WorkspaceTemplateApply{changed, same} {
		if err := env.Client.Delete(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Eventually(t, "both Workspaces being deleted", func() error {
		for _, name := range []string{wChanged.Name, wSame.Name} {
			if w := getWorkspace(t, api, ns, name); w == nil || w.DeletionTimestamp == nil {
				return fmt.Errorf("Workspace %s not being deleted", name)
			}
		}
		return nil
	})
	if got := getWorkspace(t, api, ns, wSame.Name).Spec.DeletionPolicy; got != "Orphan" {
		t.Errorf("retained adopted Workspace deleted with deletionPolicy %q, want Orphan", got)
	}
	if got := getWorkspace(t, api, ns, wChanged.Name).Spec.DeletionPolicy; got == "Orphan" {
		t.Errorf("adopted Workspace with deletionPolicy Delete is orphaned")
	}
	if c := condition(getApply(t, ns, same.Name), infrav1.DeletingCondition); c.Reason != infrav1.AdoptedWorkspaceReleasedReason {
		t.Errorf("Deleting = %s: %s", c.Reason, c.Message)
	}
	for _, w := range []*workspace.Workspace{wChanged, wSame} {
		setWorkspaceFinalizers(t, api, w.Name, nil)
	}
	for _, a := range []*infrav1.WorkspaceTemplateApply{changed, same} {
		testenv.Eventually(t, a.Name+" gone", func() error { return gone(a) })
	}
}

// createState writes a kubernetes backend state Secret for Terraform workspace name,
// labelled as the backend labels it, holding n resources.
func createState(t *testing.T, ns, name, suffix string, n int) *corev1.Secret {
	t.Helper()
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tfstate-" + name + "-" + suffix,
			Labels: map[string]string{"tfstate": "true", "tfstateWorkspace": name, "tfstateSecretSuffix": suffix}},
		Data: map[string][]byte{"tfstate": stateData(n)},
	}
	create(t, secret)
	return secret
}

// stateData is a gzipped Terraform state with n resources.
func stateData(n int) []byte {
	resources := make([]string, n)
	for i := range resources {
		resources[i] = fmt.Sprintf(`{"mode":"managed","type":"terraform_data","name":"r%d","instances":[{"attributes":{}}]}`, i)
	}
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	_, _ = fmt.Fprintf(gz, `{"version":4,"serial":3,"lineage":"l","resources":[%s]}`, strings.Join(resources, ","))
	_ = gz.Close()
	return buf.Bytes()
}

func annotateApply(t *testing.T, a *infrav1.WorkspaceTemplateApply, key, value string) {
	t.Helper()
	patch := client.RawPatch("application/merge-patch+json", []byte(fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, key, value)))
	if err := env.Client.Patch(context.Background(), a.DeepCopy(), patch); err != nil {
		t.Fatal(err)
	}
}
