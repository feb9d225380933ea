package provider

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

func TestPolicyDocument(t *testing.T) {
	str := stringValue
	set := func(s ...string) tftypes.Value {
		vals := make([]tftypes.Value, len(s))
		for i, e := range s {
			vals[i] = str(e)
		}
		return tftypes.NewValue(tftypes.Set{ElementType: tftypes.String}, vals)
	}
	principalT := tftypes.Object{AttributeTypes: map[string]tftypes.Type{"type": tftypes.String, "identifiers": tftypes.Set{ElementType: tftypes.String}}}
	conditionT := tftypes.Object{AttributeTypes: map[string]tftypes.Type{"test": tftypes.String, "variable": tftypes.String, "values": tftypes.Set{ElementType: tftypes.String}}}
	stmtT := tftypes.Object{AttributeTypes: map[string]tftypes.Type{
		"sid": tftypes.String, "effect": tftypes.String, "actions": tftypes.Set{ElementType: tftypes.String},
		"resources": tftypes.Set{ElementType: tftypes.String}, "principals": tftypes.Set{ElementType: principalT},
		"condition": tftypes.Set{ElementType: conditionT},
	}}
	stmt := func(sid, effect string, actions, resources tftypes.Value, principals, conditions []tftypes.Value) tftypes.Value {
		return tftypes.NewValue(stmtT, map[string]tftypes.Value{
			"sid": tftypes.NewValue(tftypes.String, sid), "effect": tftypes.NewValue(tftypes.String, effect),
			"actions": actions, "resources": resources,
			"principals": tftypes.NewValue(tftypes.Set{ElementType: principalT}, principals),
			"condition":  tftypes.NewValue(tftypes.Set{ElementType: conditionT}, conditions),
		})
	}
	nullSet := tftypes.NewValue(tftypes.Set{ElementType: tftypes.String}, nil)
	docT := tftypes.Object{AttributeTypes: map[string]tftypes.Type{
		"version": tftypes.String, "policy_id": tftypes.String, "statement": tftypes.List{ElementType: stmtT},
	}}
	doc := func(stmts ...tftypes.Value) *obj {
		o, err := asObj(tftypes.NewValue(docT, map[string]tftypes.Value{
			"version": tftypes.NewValue(tftypes.String, nil), "policy_id": tftypes.NewValue(tftypes.String, nil),
			"statement": tftypes.NewValue(tftypes.List{ElementType: stmtT}, stmts),
		}))
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	for _, tc := range []struct {
		name string
		doc  *obj
		want string
	}{
		{
			// templates/aws/eks's assume-role policy.
			name: "one action, one service principal",
			doc: doc(stmt("", "", set("sts:AssumeRole"), nullSet, []tftypes.Value{
				tftypes.NewValue(principalT, map[string]tftypes.Value{"type": str("Service"), "identifiers": set("eks.amazonaws.com")}),
			}, nil)),
			want: "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\n      \"Effect\": \"Allow\",\n      \"Action\": \"sts:AssumeRole\",\n      \"Principal\": {\n        \"Service\": \"eks.amazonaws.com\"\n      }\n    }\n  ]\n}",
		},
		{
			name: "several actions in reverse order, a condition, a sid",
			doc: doc(stmt("ReadLogs", "Deny", set("logs:GetLogEvents", "logs:DescribeLogGroups"), set("*"), nil, []tftypes.Value{
				tftypes.NewValue(conditionT, map[string]tftypes.Value{"test": str("StringEquals"), "variable": str("aws:RequestedRegion"), "values": set("eu-west-1")}),
			})),
			want: "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\n      \"Sid\": \"ReadLogs\",\n      \"Effect\": \"Deny\",\n      \"Action\": [\n        \"logs:GetLogEvents\",\n        \"logs:DescribeLogGroups\"\n      ],\n      \"Resource\": \"*\",\n      \"Condition\": {\n        \"StringEquals\": {\n          \"aws:RequestedRegion\": \"eu-west-1\"\n        }\n      }\n    }\n  ]\n}",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := policyDocument(tc.doc)
			if err != nil {
				t.Fatal(err)
			}
			if got.indented != tc.want {
				t.Errorf("json:\n%s\nwant:\n%s", got.indented, tc.want)
			}
		})
	}
}
