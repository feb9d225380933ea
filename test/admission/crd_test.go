package admission

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
)

// TestContractLabels checks that Cluster API finds our kinds' contract: each contract
// kind's CRD says that v1beta1 implements both the v1beta1 and the v1beta2 contract.
func TestContractLabels(t *testing.T) {
	for _, name := range []string{
		"captclusters.infrastructure.cluster.x-k8s.io",
		"captclustertemplates.infrastructure.cluster.x-k8s.io",
		"captmachinepools.infrastructure.cluster.x-k8s.io",
		"captmachinepooltemplates.infrastructure.cluster.x-k8s.io",
		"captcontrolplanes.controlplane.cluster.x-k8s.io",
		"captcontrolplanetemplates.controlplane.cluster.x-k8s.io",
		"captnodegroupbootstraps.bootstrap.cluster.x-k8s.io",
		"captnodegroupbootstraptemplates.bootstrap.cluster.x-k8s.io",
	} {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := env.Client.Get(context.Background(), client.ObjectKey{Name: name}, crd); err != nil {
			t.Fatalf("get CRD %s: %v", name, err)
		}
		for _, contract := range []string{"cluster.x-k8s.io/v1beta1", "cluster.x-k8s.io/v1beta2"} {
			if got := crd.Labels[contract]; got != "v1beta1" {
				t.Errorf("CRD %s label %s = %q, want v1beta1", name, contract, got)
			}
		}
	}
}

// TestControlPlanePrinterColumns reads a CAPTControlPlane the way kubectl get does (as a
// server-side Table) and checks what a person sees.
func TestControlPlanePrinterColumns(t *testing.T) {
	ctx := context.Background()
	cp := &controlplanev1.CAPTControlPlane{
		ObjectMeta: metav1.ObjectMeta{Name: "printed", Namespace: "default",
			Labels: map[string]string{"cluster.x-k8s.io/cluster-name": "demo"}},
		Spec: controlplanev1.CAPTControlPlaneSpec{
			Version:              "v1.31.2",
			WorkspaceTemplateRef: infrav1.WorkspaceTemplateReference{Name: "eks"},
			ControlPlaneEndpoint: infrav1.APIEndpoint{Host: "demo.example.com", Port: 443},
		},
	}
	if err := env.Client.Create(ctx, cp); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(ctx, cp) })
	cp.Status = controlplanev1.CAPTControlPlaneStatus{
		Version:  "v1.31.2",
		Phase:    controlplanev1.PhaseReady,
		Endpoint: "demo.example.com:443",
		Initialization: controlplanev1.CAPTControlPlaneInitializationStatus{
			ControlPlaneInitialized: ptr.To(true),
		},
		Conditions: []metav1.Condition{{
			Type: infrav1.ReadyCondition, Status: metav1.ConditionTrue, Reason: infrav1.ReadyReason,
			LastTransitionTime: metav1.Now(),
		}},
	}
	if err := env.Client.Status().Update(ctx, cp); err != nil {
		t.Fatal(err)
	}

	checkColumns(t, getTable(t, controlplanev1.GroupVersion, "captcontrolplanes"),
		[]string{"Name", "Cluster", "Ready", "Phase", "Version", "Endpoint", "Age"},
		[]any{"printed", "demo", "True", "Ready", "v1.31.2", "demo.example.com:443"})
}

// TestWorkspaceTemplateApplyPrinterColumns checks that kubectl get says which cluster a
// WorkspaceTemplateApply belongs to.
func TestWorkspaceTemplateApplyPrinterColumns(t *testing.T) {
	ctx := context.Background()
	apply := &infrav1.WorkspaceTemplateApply{
		ObjectMeta: metav1.ObjectMeta{Name: "printed", Namespace: "default",
			Labels: map[string]string{"cluster.x-k8s.io/cluster-name": "demo"}},
		Spec: infrav1.WorkspaceTemplateApplySpec{TemplateRef: infrav1.WorkspaceTemplateReference{Name: "eks"}},
	}
	if err := env.Client.Create(ctx, apply); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(ctx, apply) })
	apply.Status = infrav1.WorkspaceTemplateApplyStatus{WorkspaceName: "default-printed-0123abcd", Applied: true}
	if err := env.Client.Status().Update(ctx, apply); err != nil {
		t.Fatal(err)
	}

	checkColumns(t, getTable(t, infrav1.GroupVersion, "workspacetemplateapplies"),
		[]string{"Name", "Cluster", "Template", "Workspace", "Applied", "Ready", "Age"},
		[]any{"printed", "demo", "eks", "default-printed-0123abcd", true})
}

// TestWorkspaceTemplatePrinterColumns: kubectl get shows a template's rollout: updated,
// applying and waiting applies, and why it paused.
func TestWorkspaceTemplatePrinterColumns(t *testing.T) {
	ctx := context.Background()
	tmpl := &infrav1.WorkspaceTemplate{
		ObjectMeta: metav1.ObjectMeta{Name: "printed", Namespace: "default"},
		Spec: infrav1.WorkspaceTemplateSpec{
			Template: infrav1.WorkspaceTemplateDefinition{Spec: infrav1.WorkspaceSpec{ForProvider: infrav1.WorkspaceParameters{Source: "Inline", Module: "x"}}},
			Rollout:  &infrav1.RolloutPolicy{MaxConcurrent: intstr.FromInt32(2)},
		},
	}
	if err := env.Client.Create(ctx, tmpl); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(ctx, tmpl) })
	tmpl.Status = infrav1.WorkspaceTemplateStatus{Rollout: &infrav1.RolloutStatus{Updated: 7, Applying: 1, Waiting: 12, Failed: 1,
		Slots:  []infrav1.RolloutSlot{{Apply: "default/a", Hash: "h", Since: metav1.Now()}},
		Paused: &infrav1.RolloutPause{Reason: infrav1.RolloutApplyFailedReason, Generation: 1, Token: "1-abcd", Since: metav1.Now()}}}
	if err := env.Client.Status().Update(ctx, tmpl); err != nil {
		t.Fatal(err)
	}

	checkColumns(t, getTable(t, infrav1.GroupVersion, "workspacetemplates"),
		[]string{"Name", "Source", "Valid", "Updated", "Applying", "Waiting", "Paused", "Age"},
		[]any{"printed", "Inline", nil, float64(7), float64(1), float64(12), infrav1.RolloutApplyFailedReason})
}

// checkColumns checks the default columns' names, and the first cells of the one row.
func checkColumns(t *testing.T, table *metav1.Table, wantNames []string, want []any) {
	t.Helper()
	var names []string
	for _, c := range table.ColumnDefinitions {
		if c.Priority == 0 {
			names = append(names, c.Name)
		}
	}
	if !slices.Equal(names, wantNames) {
		t.Fatalf("columns = %v, want %v", names, wantNames)
	}
	row := table.Rows[0].Cells
	for i, w := range want {
		if row[i] != w {
			t.Errorf("column %s = %v, want %v", names[i], row[i], w)
		}
	}
}

// getTable reads the object named "printed" of resource as kubectl get does: a Table.
func getTable(t *testing.T, gv schema.GroupVersion, resource string) *metav1.Table {
	const name = "printed"
	t.Helper()
	cfg := rest.CopyConfig(env.Config)
	cfg.GroupVersion = &gv
	cfg.APIPath = "/apis"
	cfg.NegotiatedSerializer = serializer.NewCodecFactory(env.Scheme).WithoutConversion()
	rc, err := rest.RESTClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	table := &metav1.Table{}
	raw, err := rc.Get().Namespace("default").Resource(resource).Name(name).
		SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").DoRaw(context.Background())
	if err != nil {
		t.Fatalf("get table: %v", err)
	}
	if err := json.Unmarshal(raw, table); err != nil {
		t.Fatal(err)
	}
	if len(table.Rows) != 1 {
		t.Fatalf("table has %d rows, want 1", len(table.Rows))
	}
	return table
}
