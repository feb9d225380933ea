package captcluster

import (
	"context"
	"fmt"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
)

// canary is in every hostile value that can carry it: no condition may repeat it.
const canary = "s3cr3t"

// TestHostileVPCOutputs feeds a provisioned CAPTCluster VPC outputs of the wrong JSON
// type, empty, garbage, control characters, invalid UTF-8, a megabyte, too many and
// duplicate items (issue #8, item 6). Each is VPCOutputsInvalid naming the output and
// never quoting it; the status keeps the last good VPC, nothing is deleted, and good
// outputs clear the error. At rest on an error, the controller writes nothing.
func TestHostileVPCOutputs(t *testing.T) {
	ctx := context.Background()
	writes := startControllers(t)
	ns := newNamespace(t)
	_, cc := newCluster(t, ns, "hostile", byTemplate())
	good := goodOutputs()
	provide(t, cc, "True", "True", "", good)
	waitCC(t, cc, "provisioned", vpcReady(metav1.ConditionTrue, infrav1.ReadyReason, infrav1.PhaseProvisioned))

	with := func(name string, value any) map[string]any {
		out := goodOutputs()
		out[name] = value
		return out
	}
	zones := func(n int, name func(int) string) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = name(i)
		}
		return out
	}
	cases := []struct {
		name       string
		outputs    map[string]any
		messageHas string
	}{
		{"vpc_id number", with(VPCIDOutput, int64(42)), "output vpc_id is a JSON number, want a string"},
		{"vpc_id boolean", with(VPCIDOutput, true), "output vpc_id is a JSON boolean"},
		{"vpc_id list", with(VPCIDOutput, []any{"vpc-" + canary}), "output vpc_id is a JSON array"},
		{"vpc_id object", with(VPCIDOutput, map[string]any{"id": "vpc-" + canary}), "output vpc_id is a JSON object"},
		{"vpc_id empty", with(VPCIDOutput, ""), "has no output vpc_id"},
		{"vpc_id null", with(VPCIDOutput, nil), "has no output vpc_id"},
		{"vpc_id missing", map[string]any{PrivateSubnetIDsOutput: []any{"subnet-a"}}, "has no output vpc_id"},
		{"vpc_id with a newline", with(VPCIDOutput, "vpc-1\nX-Injected: "+canary), "output vpc_id is not an id"},
		{"vpc_id with control characters", with(VPCIDOutput, "vpc-\x00\x1b[31m"+canary+"\x7f"), "output vpc_id is not an id"},
		{"vpc_id with quotes and a placeholder", with(VPCIDOutput, `vpc-"${var.x}"`+canary), "output vpc_id is not an id"},
		{"vpc_id invalid UTF-8", with(VPCIDOutput, "vpc-\xff\xfe"+canary), "output vpc_id is not an id"},
		{"vpc_id of a megabyte", with(VPCIDOutput, "vpc-"+canary+strings.Repeat("a", 1<<20)), "output vpc_id is not an id"},
		{"vpc_id of 257 characters", with(VPCIDOutput, "vpc-"+canary+strings.Repeat("a", 247)), "at most 256 characters"},
		{"subnets number", with(PrivateSubnetIDsOutput, 7.5), "output private_subnet_ids is a JSON number, want a list of strings"},
		{"subnets object", with(PrivateSubnetIDsOutput, map[string]any{"a": canary}), "output private_subnet_ids is a JSON object"},
		{"subnets boolean", with(PublicSubnetIDsOutput, false), "output public_subnet_ids is a JSON boolean"},
		{"subnets list of numbers", with(PrivateSubnetIDsOutput, []any{int64(1), int64(2)}), "output private_subnet_ids is not a list of strings"},
		{"subnets nested list", with(PrivateSubnetIDsOutput, []any{[]any{"subnet-" + canary}}), "output private_subnet_ids is not a list of strings"},
		{"subnets list with null", with(PublicSubnetIDsOutput, []any{"subnet-a", nil}), "output public_subnet_ids holds an item that is not an id"},
		{"subnets text with a newline", with(PublicSubnetIDsOutput, "subnet-a\nsubnet-"+canary), "output public_subnet_ids holds an item that is not an id"},
		{"subnets text that is broken JSON", with(PublicSubnetIDsOutput, `["subnet-`+canary), "output public_subnet_ids is not a list of strings"},
		{"subnets empty item", with(PrivateSubnetIDsOutput, []any{"subnet-a", ""}), "output private_subnet_ids holds an item that is not an id"},
		{"zones text garbage", with(AvailabilityZonesOutput, "{not a list "+canary), "output availability_zones holds an item that is not an id"},
		{"zones twice", with(AvailabilityZonesOutput, []any{"us-west-2a", "us-west-2a"}), "output availability_zones holds an item twice"},
		{"zones more than the CRD holds", with(AvailabilityZonesOutput, zones(101, func(i int) string { return fmt.Sprintf("zone-%d", i) })), "has 101 items, more than 100"},
		{"zone name longer than the CRD holds", with(AvailabilityZonesOutput, []any{"us-west-2a-" + canary + strings.Repeat("z", 300)}), "output availability_zones holds an item that is not an id"},
		{"two bad outputs: the first one, always", with(AvailabilityZonesOutput, int64(3)), "output availability_zones is a JSON number"},
	}
	cases[len(cases)-1].outputs[PrivateSubnetIDsOutput] = "not valid, "
	cases[len(cases)-1].messageHas = "output private_subnet_ids holds an item that is not an id"
	cases[len(cases)-1].outputs[AvailabilityZonesOutput] = []any{"a", "a"}

	for _, tc := range cases {
		provide(t, cc, "True", "True", "", tc.outputs)
		got := waitCC(t, cc, tc.name, func(c *infrav1.CAPTCluster) error {
			if err := vpcReady(metav1.ConditionFalse, infrav1.VPCOutputsInvalidReason, infrav1.PhaseFailed)(c); err != nil {
				return err
			}
			if m := cond(c, infrav1.VPCReadyCondition).Message; !strings.Contains(m, tc.messageHas) {
				return fmt.Errorf("message %q does not contain %q", m, tc.messageHas)
			}
			return nil
		})
		for _, c := range got.Status.Conditions {
			if strings.Contains(c.Message, canary) || len(c.Message) > 1024 {
				t.Errorf("%s: condition %s quotes the output: %.200q", tc.name, c.Type, c.Message)
			}
		}
		if r := cond(got, infrav1.ReadyCondition); r.Status != metav1.ConditionFalse || r.Reason != infrav1.VPCOutputsInvalidReason {
			t.Errorf("%s: Ready %s/%s", tc.name, r.Status, r.Reason)
		}
		if v := got.Status.VPC; v == nil || v.ID != good[VPCIDOutput] || len(got.Status.FailureDomains) != 2 || !ptr.Deref(got.Status.Initialization.Provisioned, false) {
			t.Errorf("%s: status lost the last good VPC: %+v, %+v", tc.name, v, got.Status.FailureDomains)
		}
	}

	// At rest on an error: passes write nothing, and nothing asks for passes.
	writes.AtRest(t, controllerName, "VPCOutputsInvalid")

	// Nothing was lost, and good outputs clear the error.
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: applyName(cc)}, &infrav1.WorkspaceTemplateApply{}); err != nil {
		t.Errorf("VPC WorkspaceTemplateApply: %v", err)
	}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: workspaceName(cc)}, api.NewObject()); err != nil {
		t.Errorf("VPC Workspace: %v", err)
	}
	provide(t, cc, "True", "True", "", goodOutputs())
	waitCC(t, cc, "recovered", vpcReady(metav1.ConditionTrue, infrav1.ReadyReason, infrav1.PhaseProvisioned))
}
