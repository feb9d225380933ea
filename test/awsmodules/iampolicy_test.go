package awsmodules

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// policyDocument is an IAM policy document, as far as the shipped policies use it: Allow
// statements of actions on resources under conditions. Anything else (Deny, NotAction,
// NotResource, Principal, another operator) is refused when it is read, so the model
// below never passes a policy whose meaning it does not know.
type policyDocument struct {
	Version   string            `json:"Version"`
	Statement []policyStatement `json:"Statement"`
}

type policyStatement struct {
	Sid      string     `json:"Sid"`
	Effect   string     `json:"Effect"`
	Action   stringList `json:"Action"`
	Resource stringList `json:"Resource"`
	// Condition: operator → condition key → values (any of them).
	Condition map[string]map[string]stringList `json:"Condition"`
}

// stringList is a policy element that is a string or a list of strings.
type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*l = []string{s}
		return nil
	}
	var ss []string
	if err := json.Unmarshal(b, &ss); err != nil {
		return fmt.Errorf("a string or a list of strings: %w", err)
	}
	*l = ss
	return nil
}

// operators are the condition operators the model evaluates: IAM's ArnEquals takes
// wildcards as ArnLike does.
var operators = map[string]func(value, pattern string) bool{
	"StringEquals": func(v, p string) bool { return v == p },
	"StringLike":   globMatch,
	"ArnEquals":    globMatch,
	"ArnLike":      globMatch,
}

// managedPolicyLimit is IAM's limit on a customer managed policy: 6,144 characters, white
// space not counted.
const managedPolicyLimit = 6144

// readPolicy reads a policy document and refuses what the model does not evaluate.
func readPolicy(file string) (*policyDocument, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var d policyDocument
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if d.Version != "2012-10-17" || len(d.Statement) == 0 {
		return nil, fmt.Errorf("%s: Version %q with %d statements, want 2012-10-17 and some", file, d.Version, len(d.Statement))
	}
	n := 0
	for _, r := range string(b) {
		if !unicode.IsSpace(r) {
			n++
		}
	}
	if n > managedPolicyLimit {
		return nil, fmt.Errorf("%s: %d characters without white space, IAM's limit for a managed policy is %d", file, n, managedPolicyLimit)
	}
	sids := map[string]bool{}
	for i, s := range d.Statement {
		switch {
		case s.Effect != "Allow":
			return nil, fmt.Errorf("%s: statement %d: Effect %q (the model evaluates Allow only)", file, i, s.Effect)
		case len(s.Action) == 0 || len(s.Resource) == 0:
			return nil, fmt.Errorf("%s: statement %d: no Action or no Resource", file, i)
		case s.Sid == "" || sids[s.Sid]:
			return nil, fmt.Errorf("%s: statement %d: Sid %q missing or used twice", file, i, s.Sid)
		}
		sids[s.Sid] = true
		for op := range s.Condition {
			if _, ok := operators[op]; !ok && op != "Null" {
				return nil, fmt.Errorf("%s: statement %s: condition operator %s (the model evaluates %v and Null)", file, s.Sid, op, slices.Sorted(mapKeys(operators)))
			}
		}
	}
	return &d, nil
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// request is one authorization IAM makes: an action on one resource (an ARN, or "*" for
// an action without resource-level permissions) with the request's condition keys.
type request struct {
	action, resource string
	context          map[string]string
}

func (r request) String() string {
	keys := slices.Sorted(mapKeys(r.context))
	ctx := make([]string, 0, len(keys))
	for _, k := range keys {
		ctx = append(ctx, k+"="+r.context[k])
	}
	return fmt.Sprintf("%s on %s {%s}", r.action, r.resource, strings.Join(ctx, ", "))
}

// allows reports whether a statement of d allows r: its action and resource match, and
// every condition holds (every key of every operator, any of a key's values).
func (d *policyDocument) allows(r request) bool {
	return slices.ContainsFunc(d.Statement, func(s policyStatement) bool { return s.allows(r) })
}

func (s policyStatement) allows(r request) bool {
	if !slices.ContainsFunc(s.Action, func(a string) bool { return globMatch(strings.ToLower(r.action), strings.ToLower(a)) }) {
		return false
	}
	if !slices.ContainsFunc(s.Resource, func(p string) bool { return globMatch(r.resource, p) }) {
		return false
	}
	for op, keys := range s.Condition {
		for key, values := range keys {
			v, present := lookup(r.context, key)
			switch {
			case op == "Null":
				if len(values) != 1 || (values[0] == "true") == present {
					return false
				}
			case !present:
				return false
			default:
				if !slices.ContainsFunc(values, func(p string) bool { return operators[op](v, p) }) {
					return false
				}
			}
		}
	}
	return true
}

// lookup finds a condition key: names are case-insensitive, and ec2:ResourceTag/ and
// iam:ResourceTag/ are the services' names of aws:ResourceTag/.
func lookup(ctx map[string]string, key string) (string, bool) {
	norm := func(k string) string {
		k = strings.ToLower(k)
		for _, svc := range []string{"ec2:resourcetag/", "iam:resourcetag/"} {
			if rest, ok := strings.CutPrefix(k, svc); ok {
				return "aws:resourcetag/" + rest
			}
		}
		return k
	}
	for k, v := range ctx {
		if norm(k) == norm(key) {
			return v, true
		}
	}
	return "", false
}

// globMatch matches IAM's wildcards: * any run of characters (slashes too), ? one.
func globMatch(s, pattern string) bool {
	// path.Match's * stops at /, IAM's does not: match with / made ordinary.
	const slash = "\x00"
	ok, err := path.Match(strings.ReplaceAll(escapeBrackets(pattern), "/", slash), strings.ReplaceAll(s, "/", slash))
	return err == nil && ok
}

// escapeBrackets quotes what path.Match treats specially and IAM does not.
func escapeBrackets(p string) string {
	r := strings.NewReplacer(`\`, `\\`, `[`, `\[`, `]`, `\]`)
	return r.Replace(p)
}

// TestPolicyModel: the evaluation the IAM test relies on, on a policy of each kind of
// statement the shipped policies use.
func TestPolicyModel(t *testing.T) {
	const tag = "aws:ResourceTag/sigs.k8s.io/cluster-api-provider-terraform/cluster"
	d := &policyDocument{Statement: []policyStatement{
		{Sid: "a", Effect: "Allow", Action: stringList{"ec2:Describe*"}, Resource: stringList{"*"}},
		{Sid: "b", Effect: "Allow", Action: stringList{"ec2:DeleteVpc"}, Resource: stringList{"*"},
			Condition: map[string]map[string]stringList{"Null": {tag: {"false"}}}},
		{Sid: "c", Effect: "Allow", Action: stringList{"iam:PassRole"}, Resource: stringList{"arn:*:iam::*:role/*"},
			Condition: map[string]map[string]stringList{"StringEquals": {"iam:PassedToService": {"eks.amazonaws.com"}}}},
		{Sid: "d", Effect: "Allow", Action: stringList{"iam:AttachRolePolicy"}, Resource: stringList{"arn:*:iam::*:role/*"},
			Condition: map[string]map[string]stringList{"ArnEquals": {"iam:PolicyARN": {"arn:aws:iam::aws:policy/A", "arn:aws:iam::aws:policy/B"}}}},
	}}
	role := "arn:aws:iam::123456789012:role/path/workers-1"
	for _, tc := range []struct {
		r    request
		want bool
	}{
		{request{action: "ec2:DescribeVpcs", resource: "*"}, true},
		{request{action: "EC2:describevpcs", resource: "*"}, true},
		{request{action: "ec2:CreateVpc", resource: "*"}, false},
		{request{action: "ec2:DeleteVpc", resource: "arn:aws:ec2:eu-west-1:1:vpc/vpc-1", context: map[string]string{"ec2:ResourceTag/sigs.k8s.io/cluster-api-provider-terraform/cluster": "ns/c1"}}, true},
		{request{action: "ec2:DeleteVpc", resource: "arn:aws:ec2:eu-west-1:1:vpc/vpc-1"}, false},
		{request{action: "iam:PassRole", resource: role, context: map[string]string{"iam:PassedToService": "eks.amazonaws.com"}}, true},
		{request{action: "iam:PassRole", resource: role, context: map[string]string{"iam:PassedToService": "ec2.amazonaws.com"}}, false},
		{request{action: "iam:PassRole", resource: role}, false},
		{request{action: "iam:PassRole", resource: "arn:aws:iam::123456789012:user/x", context: map[string]string{"iam:PassedToService": "eks.amazonaws.com"}}, false},
		{request{action: "iam:AttachRolePolicy", resource: role, context: map[string]string{"iam:PolicyARN": "arn:aws:iam::aws:policy/B"}}, true},
		{request{action: "iam:AttachRolePolicy", resource: role, context: map[string]string{"iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess"}}, false},
		// A statement with resource-level scoping does not match an action that has none.
		{request{action: "iam:PassRole", resource: "*", context: map[string]string{"iam:PassedToService": "eks.amazonaws.com"}}, false},
	} {
		if got := d.allows(tc.r); got != tc.want {
			t.Errorf("%s: allowed %v, want %v", tc.r, got, tc.want)
		}
	}
}
