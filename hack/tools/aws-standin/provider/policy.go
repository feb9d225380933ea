package provider

import (
	"encoding/json"
	"fmt"
	"hash/crc32"
	"sort"
)

// The JSON of aws_iam_policy_document, rendered as hashicorp/aws renders it (read in its
// internal/service/iam policy model): Version, then the statements; in each, Sid when
// set, Effect (Allow unless said), Action, NotAction, Resource, NotResource, Principal,
// NotPrincipal, Condition; a list of one element is written as a string, longer ones
// sorted in reverse; principals and conditions are maps keyed by type and test; the
// document is indented by two spaces (json) and compact (minified_json).
// override_policy_documents and source_policy_documents are not played.
type policyDoc struct {
	Version    string            `json:",omitempty"`
	ID         string            `json:"Id,omitempty"`
	Statements []policyStatement `json:"Statement"`
}

type policyStatement struct {
	Sid           string                    `json:",omitempty"`
	Effect        string                    `json:",omitempty"`
	Actions       any                       `json:"Action,omitempty"`
	NotActions    any                       `json:"NotAction,omitempty"`
	Resources     any                       `json:"Resource,omitempty"`
	NotResources  any                       `json:"NotResource,omitempty"`
	Principals    map[string]any            `json:"Principal,omitempty"`
	NotPrincipals map[string]any            `json:"NotPrincipal,omitempty"`
	Conditions    map[string]map[string]any `json:"Condition,omitempty"`
}

type renderedPolicy struct{ indented, minified string }

// oneOrMany is hashicorp/aws's encoding of a string set in a policy.
func oneOrMany(s []string) any {
	switch len(s) {
	case 0:
		return nil
	case 1:
		return s[0]
	}
	out := append([]string(nil), s...)
	sort.Sort(sort.Reverse(sort.StringSlice(out)))
	return out
}

func principals(blocks []*obj) map[string]any {
	if len(blocks) == 0 {
		return nil
	}
	byType := map[string][]string{}
	for _, b := range blocks {
		byType[b.str("type")] = append(byType[b.str("type")], b.strList("identifiers")...)
	}
	out := map[string]any{}
	for t, ids := range byType {
		out[t] = oneOrMany(ids)
	}
	return out
}

func policyDocument(o *obj) (*renderedPolicy, error) {
	version := o.str("version")
	if version == "" {
		version = "2012-10-17"
	}
	doc := policyDoc{Version: version, ID: o.str("policy_id"), Statements: []policyStatement{}}
	for _, s := range o.blocks("statement") {
		st := policyStatement{
			Sid: s.str("sid"), Effect: s.str("effect"),
			Actions: oneOrMany(s.strList("actions")), NotActions: oneOrMany(s.strList("not_actions")),
			Resources: oneOrMany(s.strList("resources")), NotResources: oneOrMany(s.strList("not_resources")),
			Principals: principals(s.blocks("principals")), NotPrincipals: principals(s.blocks("not_principals")),
		}
		if st.Effect == "" {
			st.Effect = "Allow"
		}
		for _, c := range s.blocks("condition") {
			if st.Conditions == nil {
				st.Conditions = map[string]map[string]any{}
			}
			if st.Conditions[c.str("test")] == nil {
				st.Conditions[c.str("test")] = map[string]any{}
			}
			st.Conditions[c.str("test")][c.str("variable")] = oneOrMany(c.strList("values"))
		}
		doc.Statements = append(doc.Statements, st)
	}
	indented, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("rendering the policy: %w", err)
	}
	minified, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("rendering the policy: %w", err)
	}
	return &renderedPolicy{indented: string(indented), minified: string(minified)}, nil
}

// hashCode is the provider's id of a policy document: a CRC-32 of its JSON.
func hashCode(s string) int { return int(crc32.ChecksumIEEE([]byte(s))) }
