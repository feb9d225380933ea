package provider

import (
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// TestAccessEntryARN: an access entry's ARN is in EKS's form (the policies of
// templates/aws scope access entries by it), in access_entry_arn, its attribute.
func TestAccessEntryARN(t *testing.T) {
	p := &Server{region: "eu-west-1"}
	typ := tftypes.Object{AttributeTypes: map[string]tftypes.Type{"cluster_name": tftypes.String, "principal_arn": tftypes.String}}
	o, err := asObj(tftypes.NewValue(typ, map[string]tftypes.Value{
		"cluster_name": stringValue("c1"), "principal_arn": stringValue("arn:aws:iam::111122223333:role/ops/capt"),
	}))
	if err != nil {
		t.Fatal(err)
	}
	got := p.arn("aws_eks_access_entry", o, "", "seed")
	if want := "arn:aws:eks:eu-west-1:123456789012:access-entry/c1/role/111122223333/ops/capt/"; !strings.HasPrefix(got, want) || len(got) != len(want)+36 {
		t.Errorf("access entry ARN %q, want %s<uuid>", got, want)
	}
	if a := arnAttribute("aws_eks_access_entry"); a != "access_entry_arn" {
		t.Errorf("the access entry's ARN goes to %q", a)
	}
}
