package admission

import (
	"context"
	"fmt"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
)

const goodMachinePool = `
apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: CAPTMachinePool
spec:
  workspaceTemplateRef: {name: nodegroup, namespace: templates}
  instanceTypes: [t3.medium, m5.large, c6i.2xlarge]
  capacityType: Spot
  scaling: {minSize: 1, maxSize: 5}
  labels: {team: platform, "node.kubernetes.io/role": worker, empty: ""}
  taints:
  - {key: dedicated, value: gpu, effect: NoSchedule}
  - {key: example.com/drain, effect: NoExecute}
  amiType: AL2023_x86_64_STANDARD
  diskSizeGiB: 50
  updateConfig: {maxUnavailable: 2}
  subnetIDs: [subnet-0123456789abcdef0, subnet-0fedcba9876543210]
  additionalTags: {cost-center: "1234", "kubernetes.io/cluster/demo": owned}
`

// minimalPool is a CAPTMachinePool with only its required field; more is YAML under spec,
// indented by two spaces.
func minimalPool(more string) string {
	return `
apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: CAPTMachinePool
spec:
  workspaceTemplateRef: {name: nodegroup}
` + more
}

func TestCAPTMachinePoolAdmission(t *testing.T) {
	var manyLabels strings.Builder
	manyLabels.WriteString("  labels:\n")
	for i := range 51 {
		fmt.Fprintf(&manyLabels, "    l%d: v\n", i)
	}
	name63 := strings.Repeat("n", 63)
	runCases(t, []admissionCase{
		{name: "full", object: goodMachinePool},
		{name: "minimal", object: minimalPool("")},
		{name: "scaling minSize equal to maxSize", object: minimalPool(`  scaling: {minSize: 3, maxSize: 3}`)},
		{name: "scaling minSize 0", object: minimalPool(`  scaling: {minSize: 0, maxSize: 1}`)},
		{name: "scaling with one bound", object: minimalPool(`  scaling: {maxSize: 4}`)},
		{name: "labels at their limits", object: minimalPool(fmt.Sprintf(`  labels: {"example.com/%s": %s, A_b.c-9: ""}`, name63, name63))},
		{name: "OnDemand", object: minimalPool(`  capacityType: OnDemand`)},

		{name: "missing workspaceTemplateRef", object: `
apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: CAPTMachinePool
spec: {instanceTypes: [t3.medium]}
`, wantErr: []string{"spec.workspaceTemplateRef", "Required value"}},
		{name: "scaling minSize above maxSize", object: minimalPool(`  scaling: {minSize: 6, maxSize: 5}`),
			wantErr: []string{"spec", "spec.scaling.minSize must not be above spec.scaling.maxSize"}},
		{name: "scaling minSize raised above maxSize", object: goodMachinePool, update: `scaling: {minSize: 6}`,
			wantErr: []string{"spec", "spec.scaling.minSize must not be above spec.scaling.maxSize"}},
		{name: "updateConfig maxUnavailable 0", object: minimalPool(`  updateConfig: {maxUnavailable: 0}`),
			wantErr: []string{"spec.updateConfig.maxUnavailable", "greater than or equal to 1"}},
		{name: "label key with a bad character", object: minimalPool(`  labels: {"team!": platform}`),
			wantErr: []string{"spec.labels", "each key must be a Kubernetes label key"}},
		{name: "label key with a space", object: minimalPool(`  labels: {"my team": platform}`),
			wantErr: []string{"spec.labels", "each key must be a Kubernetes label key"}},
		{name: "label name over 63 characters", object: minimalPool(fmt.Sprintf(`  labels: {"example.com/%sn": x}`, name63)),
			wantErr: []string{"spec.labels", "each key must be a Kubernetes label key"}},
		{name: "label value over 63 characters", object: minimalPool(fmt.Sprintf(`  labels: {team: %sn}`, name63)),
			wantErr: []string{"spec.labels.team", "Too long"}},
		{name: "label value with a space", object: minimalPool(`  labels: {team: "plat form"}`),
			wantErr: []string{"spec.labels.team", "should match"}},
		{name: "more than 50 labels", object: minimalPool(manyLabels.String()),
			wantErr: []string{"spec.labels", "Too many", "at most 50"}},
		{name: "taint with an empty key", object: minimalPool(`  taints: [{key: "", effect: NoSchedule}]`),
			wantErr: []string{"spec.taints[0].key"}},
		{name: "taint without a key", object: minimalPool(`  taints: [{effect: NoSchedule}]`),
			wantErr: []string{"spec.taints[0].key", "Required value"}},
		{name: "taint with a bad effect", object: minimalPool(`  taints: [{key: dedicated, effect: Sometimes}]`),
			wantErr: []string{"spec.taints[0].effect", "Unsupported value", `"Sometimes"`}},
		{name: "taint value with a space", object: minimalPool(`  taints: [{key: dedicated, value: "g pu", effect: NoSchedule}]`),
			wantErr: []string{"spec.taints[0].value", "should match"}},
		{name: "capacityType Reserved", object: minimalPool(`  capacityType: Reserved`),
			wantErr: []string{"spec.capacityType", "Unsupported value", `"Reserved"`}},
		{name: "instance type with a space", object: minimalPool(`  instanceTypes: ["t3 medium"]`),
			wantErr: []string{"spec.instanceTypes[0]", "should match"}},
		{name: "amiType with a dash", object: minimalPool(`  amiType: AL2023-x86_64-STANDARD`),
			wantErr: []string{"spec.amiType", "should match"}},
		{name: "diskSizeGiB 0", object: minimalPool(`  diskSizeGiB: 0`),
			wantErr: []string{"spec.diskSizeGiB", "greater than or equal to 1"}},
	})
}

func TestCAPTMachinePoolTemplateAdmission(t *testing.T) {
	runCases(t, []admissionCase{
		{name: "good", object: `
apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: CAPTMachinePoolTemplate
spec:
  template:
    metadata: {labels: {team: platform}}
    spec:
      workspaceTemplateRef: {name: nodegroup}
      instanceTypes: [t3.medium]
      scaling: {minSize: 1, maxSize: 5}
`},
		{name: "scaling minSize above maxSize", object: `
apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: CAPTMachinePoolTemplate
spec:
  template:
    spec:
      workspaceTemplateRef: {name: nodegroup}
      scaling: {minSize: 3, maxSize: 2}
`, wantErr: []string{"spec.template.spec", "spec.scaling.minSize must not be above spec.scaling.maxSize"}},
	})
}

// TestMachinePoolPrinterColumns checks what kubectl get shows of a CAPTMachinePool.
func TestMachinePoolPrinterColumns(t *testing.T) {
	ctx := context.Background()
	pool := &infrav1.CAPTMachinePool{
		ObjectMeta: metav1.ObjectMeta{Name: "printed", Namespace: "default",
			Labels: map[string]string{"cluster.x-k8s.io/cluster-name": "demo"}},
		Spec: infrav1.CAPTMachinePoolSpec{WorkspaceTemplateRef: infrav1.WorkspaceTemplateReference{Name: "nodegroup"}},
	}
	if err := env.Client.Create(ctx, pool); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(ctx, pool) })
	pool.Status = infrav1.CAPTMachinePoolStatus{
		Initialization: infrav1.CAPTMachinePoolInitializationStatus{Provisioned: ptr.To(true)},
		Ready:          true,
		Replicas:       3,
		ReadyReplicas:  2,
		Phase:          "Provisioned",
		NodeGroupName:  "demo-pool-0",
		Conditions: []metav1.Condition{{
			Type: infrav1.ReadyCondition, Status: metav1.ConditionTrue, Reason: infrav1.ReadyReason,
			LastTransitionTime: metav1.Now(),
		}},
	}
	if err := env.Client.Status().Update(ctx, pool); err != nil {
		t.Fatal(err)
	}

	// JSON numbers come back as float64.
	checkColumns(t, getTable(t, infrav1.GroupVersion, "captmachinepools"),
		[]string{"Name", "Cluster", "Ready", "Replicas", "Ready Replicas", "Phase", "Node Group", "Age"},
		[]any{"printed", "demo", "True", float64(3), float64(2), "Provisioned", "demo-pool-0"})
}

// TestMachinePoolTemplatePrinterColumns checks that kubectl get says which
// WorkspaceTemplate a CAPTMachinePoolTemplate's pools use.
func TestMachinePoolTemplatePrinterColumns(t *testing.T) {
	ctx := context.Background()
	tmpl := &infrav1.CAPTMachinePoolTemplate{
		ObjectMeta: metav1.ObjectMeta{Name: "printed", Namespace: "default"},
		Spec: infrav1.CAPTMachinePoolTemplateSpec{Template: infrav1.CAPTMachinePoolTemplateResource{
			Spec: infrav1.CAPTMachinePoolSpec{WorkspaceTemplateRef: infrav1.WorkspaceTemplateReference{Name: "nodegroup"}}}},
	}
	if err := env.Client.Create(ctx, tmpl); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(ctx, tmpl) })
	checkColumns(t, getTable(t, infrav1.GroupVersion, "captmachinepooltemplates"),
		[]string{"Name", "Template", "Age"}, []any{"printed", "nodegroup"})
}
