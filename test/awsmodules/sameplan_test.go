package awsmodules

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"testing"
)

// samePlan lists where plan b (at another hashicorp/aws version) differs from plan a: a
// resource or output one has and the other not, other actions, or a value a knows at
// plan that b has otherwise. What b's schema does not have (6.x's region) is left out;
// what a leaves unknown (computed by AWS) is not compared.
func samePlan(a, b *plan) []string {
	var diffs []string
	changes := func(p *plan) map[string]resourceChange {
		m := map[string]resourceChange{}
		for _, rc := range p.ResourceChanges {
			m[rc.Address] = rc
		}
		return m
	}
	ra, rb := changes(a), changes(b)
	for _, addr := range sortedKeys(ra, rb) {
		x, inA := ra[addr]
		y, inB := rb[addr]
		if !inA || !inB {
			diffs = append(diffs, fmt.Sprintf("%s: planned at one version only", addr))
			continue
		}
		if !slices.Equal(x.Change.Actions, y.Change.Actions) {
			diffs = append(diffs, fmt.Sprintf("%s: actions %v and %v", addr, x.Change.Actions, y.Change.Actions))
		}
		compareValues(addr, decode(x.Change.After), decode(x.Change.AfterUnknown), decode(y.Change.After), decode(y.Change.AfterUnknown), &diffs)
	}
	for _, name := range sortedKeys(a.OutputChanges, b.OutputChanges) {
		x, inA := a.OutputChanges[name]
		y, inB := b.OutputChanges[name]
		if !inA || !inB {
			diffs = append(diffs, fmt.Sprintf("output %s: planned at one version only", name))
			continue
		}
		compareValues("output "+name, decode(x.After), decode(x.AfterUnknown), decode(y.After), decode(y.AfterUnknown), &diffs)
	}
	return diffs
}

func decode(raw json.RawMessage) any {
	var v any
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &v)
	}
	return v
}

// compareValues walks a known value of plan a and the same path of plan b. ua and ub are
// the matching parts of after_unknown: true where the value is unknown.
func compareValues(path string, a, ua, b, ub any, diffs *[]string) {
	if ua == true {
		return
	}
	if ub == true {
		if a != nil {
			*diffs = append(*diffs, fmt.Sprintf("%s: %s, unknown at the other version", path, show(a)))
		}
		return
	}
	switch av := a.(type) {
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok {
			*diffs = append(*diffs, fmt.Sprintf("%s: %s and %s", path, show(a), show(b)))
			return
		}
		uam, _ := ua.(map[string]any)
		ubm, _ := ub.(map[string]any)
		for _, k := range sortedKeys(av, nil) {
			_, inB := bv[k]
			if !inB && ubm[k] != true {
				continue // not an attribute of the other version's schema
			}
			compareValues(path+"."+k, av[k], uam[k], bv[k], ubm[k], diffs)
		}
	case []any:
		bv, ok := b.([]any)
		if !ok || len(av) != len(bv) {
			*diffs = append(*diffs, fmt.Sprintf("%s: %s and %s", path, show(a), show(b)))
			return
		}
		ual, _ := ua.([]any)
		ubl, _ := ub.([]any)
		for i := range av {
			compareValues(fmt.Sprintf("%s[%d]", path, i), av[i], at(ual, i), bv[i], at(ubl, i), diffs)
		}
	default:
		if !reflect.DeepEqual(a, b) {
			*diffs = append(*diffs, fmt.Sprintf("%s: %s and %s", path, show(a), show(b)))
		}
	}
}

func at(l []any, i int) any {
	if i < len(l) {
		return l[i]
	}
	return nil
}

func show(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func sortedKeys[V any](a, b map[string]V) []string {
	keys := make([]string, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// TestSamePlan: the comparison reports a value planned otherwise, a resource planned at
// one version only, and leaves out what the other version's schema lacks and what the
// first leaves unknown.
func TestSamePlan(t *testing.T) {
	rc := func(addr, after, unknown string) resourceChange {
		var r resourceChange
		r.Address, r.Change.Actions, r.Change.After, r.Change.AfterUnknown = addr, []string{"create"}, json.RawMessage(after), json.RawMessage(unknown)
		return r
	}
	a := &plan{ResourceChanges: []resourceChange{
		rc("aws_vpc.this", `{"cidr_block":"10.0.0.0/16","region":"eu-west-1","tags_all":{"a":"b"},"id":null}`, `{"id":true}`),
		rc("aws_eip.nat[0]", `{"domain":"vpc"}`, `{}`),
	}}
	same := &plan{ResourceChanges: []resourceChange{
		rc("aws_vpc.this", `{"cidr_block":"10.0.0.0/16","tags_all":{"a":"b"},"id":"vpc-1"}`, `{}`),
		rc("aws_eip.nat[0]", `{"domain":"vpc"}`, `{}`),
	}}
	if d := samePlan(a, same); len(d) != 0 {
		t.Errorf("a plan the same where both schemas have the attribute: %v", d)
	}
	other := &plan{ResourceChanges: []resourceChange{
		rc("aws_vpc.this", `{"cidr_block":"10.1.0.0/16","tags_all":{},"id":null}`, `{"id":true,"tags_all":true}`),
	}}
	if d := samePlan(a, other); len(d) != 3 {
		t.Errorf("want the CIDR, the unknown tags_all and the missing aws_eip.nat[0]; got %v", d)
	}
}
