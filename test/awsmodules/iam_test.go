package awsmodules

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/captcluster"
	"github.com/capt-dev/capt/internal/controller/controlplane"
	"github.com/capt-dev/capt/internal/controller/machinepool"
	"github.com/capt-dev/capt/internal/localstack"
)

// The region the IAM scenarios run in, and the account the stand-in answers with.
const (
	scenarioRegion = "eu-west-1"
	standinAccount = "123456789012"
)

// TestIAMTableCoversModules: every resource and data source type a shipped module
// declares (whatever its count) has its IAM actions in the table.
func TestIAMTableCoversModules(t *testing.T) {
	for _, name := range shippedModules {
		c := readModule(t, name)
		for _, typ := range c.resources {
			if _, ok := resourceActions[typ]; !ok {
				t.Errorf("templates/aws/%s declares resource type %s, which test/awsmodules/iamtable_test.go has no IAM actions for: add them (and to templates/aws/%s/iam-policy.json)", name, typ, name)
			}
		}
		for _, typ := range c.dataSources {
			if _, ok := dataSourceActions[typ]; !ok {
				t.Errorf("templates/aws/%s declares data source type %s, which test/awsmodules/iamtable_test.go has no IAM actions for", name, typ)
			}
		}
	}
}

// TestIAMTableTypesAreTheProviders: every type of the table is a resource or data source
// type of hashicorp/aws, at every version the stand-in serves from the floor of the
// modules that declare it (the EKS module's Pod Identity associations are not in 5.33.0,
// the other modules' floor), as OpenTofu reads the provider's schema (`tofu providers
// schema -json`).
func TestIAMTableTypesAreTheProviders(t *testing.T) {
	served, err := localstack.AWSStandInVersions(binDir)
	if err != nil {
		t.Fatal(err)
	}
	// typeFloor is the lowest floor of the modules that declare a type.
	typeFloor := map[string]string{}
	for _, name := range shippedModules {
		c, floor := readModule(t, name), floorOf(t, name)
		for _, typ := range slices.Concat(c.resources, c.dataSources) {
			if f, ok := typeFloor[typ]; !ok || versionLess(floor, f) {
				typeFloor[typ] = floor
			}
		}
	}
	declaredAt := func(typ, version string) bool {
		f, ok := typeFloor[typ]
		return !ok || !versionLess(version, f)
	}
	for _, version := range served {
		t.Run(version, func(t *testing.T) {
			t.Parallel()
			w := module(t, "vpc", version)
			out, err := w.tofu(t.Context(), "providers", "schema", "-json")
			if err != nil {
				t.Fatalf("tofu providers schema: %v\n%.2000s", err, out)
			}
			var s struct {
				ProviderSchemas map[string]struct {
					ResourceSchemas   map[string]json.RawMessage `json:"resource_schemas"`
					DataSourceSchemas map[string]json.RawMessage `json:"data_source_schemas"`
				} `json:"provider_schemas"`
			}
			if err := json.Unmarshal([]byte(out), &s); err != nil {
				t.Fatal(err)
			}
			p, ok := s.ProviderSchemas["registry.opentofu.org/hashicorp/aws"]
			if !ok || len(p.ResourceSchemas) < 1000 {
				t.Fatalf("no hashicorp/aws schema of its resources in %v", slices.Collect(maps.Keys(s.ProviderSchemas)))
			}
			for typ := range resourceActions {
				if _, ok := p.ResourceSchemas[typ]; !ok && declaredAt(typ, version) {
					t.Errorf("resource type %s of the IAM table is not one of hashicorp/aws %s's", typ, version)
				}
			}
			for typ := range dataSourceActions {
				if _, ok := p.DataSourceSchemas[typ]; !ok && declaredAt(typ, version) {
					t.Errorf("data source type %s of the IAM table is not one of hashicorp/aws %s's", typ, version)
				}
			}
		})
	}
}

// TestIAMPoliciesAllowWhatModulesNeed applies each module through the stand-in with what
// CAPT sends (every resource type the module declares gets at least one instance), and
// checks that templates/aws/<module>/iam-policy.json allows every call of the table for
// every resource in its state: the action, on that resource's ARN (the names the module
// gives, as the stand-in plays AWS's ARNs), with the tags the module puts on it and the
// call's condition keys. And the other way: every action the policy grants is one the
// table says the module needs.
func TestIAMPoliciesAllowWhatModulesNeed(t *testing.T) {
	scenarios := map[string]struct {
		template string
		vars     func(t *testing.T) map[string]string
		extra    []string
	}{
		"vpc": {template: "aws-vpc", vars: func(*testing.T) map[string]string {
			cc := &infrav1.CAPTCluster{Spec: infrav1.CAPTClusterSpec{Region: scenarioRegion, AdditionalTags: map[string]string{"team": "a"}}}
			return captcluster.VPCVariables(cc, cluster)
		}},
		"eks": {template: "aws-eks", vars: func(*testing.T) map[string]string {
			// Every EKS setting, so that each resource type is checked; the key created by
			// the module (aws_kms_key). Extra managed policies are left out: the policy
			// lets the role have AmazonEKSClusterPolicy only, until a team widens it
			// (docs/install.md).
			cp := eksSettingsPlane()
			cp.Spec.ControlPlaneConfig.Encryption = &controlplanev1.Encryption{CreateKey: true}
			cp.Spec.ControlPlaneConfig.Role.AdditionalPolicies = nil
			return controlplane.Variables(cp, cluster, infra, cp.Spec.Version, controlplane.WantedAddons(cp))
		}, extra: []string{"-var=capt_principal_arn=arn:aws:iam::" + standinAccount + ":role/capt-control-plane"}},
		"nodegroup": {template: "aws-nodegroup", vars: func(t *testing.T) map[string]string {
			mp := &infrav1.CAPTMachinePool{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "workers"}, Spec: infrav1.CAPTMachinePoolSpec{
				InstanceTypes: []string{"m7g.large"}, CapacityType: infrav1.CapacityTypeOnDemand}}
			owner := &clusterv1.MachinePool{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "workers"}, Spec: clusterv1.MachinePoolSpec{
				Replicas: ptr.To[int32](2), Template: clusterv1.MachineTemplateSpec{Spec: clusterv1.MachineSpec{Version: "v1.31.2"}}}}
			vars, err := machinepool.TemplateVariables(mp, owner, cluster, infra)
			if err != nil {
				t.Fatal(err)
			}
			return vars
		}},
	}
	for _, name := range shippedModules {
		sc, ok := scenarios[name]
		if !ok {
			t.Errorf("templates/aws/%s has no IAM scenario here: add one", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			policyFile := filepath.Join(root, "templates", "aws", name, "iam-policy.json")
			policy, err := readPolicy(policyFile)
			if err != nil {
				t.Fatal(err)
			}
			st := applyModule(t, name, sc.template, sc.vars(t), sc.extra...)
			c := readModule(t, name)

			// Every declared type has an instance to check.
			for _, typ := range slices.Concat(c.resources, c.dataSources) {
				if !slices.ContainsFunc(st, func(r stateResource) bool { return r.Type == typ }) {
					t.Errorf("the scenario creates no %s: the policy is not checked for it; change the scenario", typ)
				}
			}
			needed := map[string]bool{}
			checked := 0
			for _, r := range st {
				entry, ok := r.entry()
				if !ok {
					t.Errorf("%s: no IAM actions in the table", r.Address)
					continue
				}
				for phase, calls := range entry.phases() {
					for _, c := range calls {
						needed[strings.ToLower(c.action)] = true
						req, err := r.request(c, entry, st)
						if err != nil {
							t.Errorf("%s (%s): %v", r.Address, phase, err)
							continue
						}
						checked++
						if !policy.allows(req) {
							t.Errorf("%s (%s): %s is not allowed by templates/aws/%s/iam-policy.json", r.Address, phase, req, name)
						}
					}
				}
			}
			t.Logf("templates/aws/%s: %d authorizations of %d resources allowed by its policy", name, checked, len(st))
			// Least privilege: nothing granted that no declared type needs.
			for _, s := range policy.Statement {
				for _, a := range s.Action {
					if !slices.ContainsFunc(slices.Collect(maps.Keys(needed)), func(n string) bool { return globMatch(n, strings.ToLower(a)) }) {
						t.Errorf("templates/aws/%s/iam-policy.json statement %s grants %s, which no resource of the module needs (test/awsmodules/iamtable_test.go)", name, s.Sid, a)
					}
				}
			}
		})
	}
}

// stateResource is one resource or data source instance of `tofu show -json`'s state.
type stateResource struct {
	Address string         `json:"address"`
	Mode    string         `json:"mode"`
	Type    string         `json:"type"`
	Values  map[string]any `json:"values"`
}

// applyModule applies a module at the local stack's hashicorp/aws through the stand-in,
// with CAPT's variables for a template and extra arguments, and returns its state.
func applyModule(t *testing.T, name, template string, vars map[string]string, extra ...string) []stateResource {
	t.Helper()
	w := module(t, name, localstack.AWSStandInVersion)
	file := varFile(t, w.dir, template, vars)
	args := append([]string{"apply", "-input=false", "-no-color", "-auto-approve", "-var-file=" + file}, extra...)
	if out, err := w.tofu(t.Context(), args...); err != nil {
		t.Fatalf("tofu apply of templates/aws/%s: %v\n%s", name, err, out)
	}
	out, err := w.tofu(t.Context(), "show", "-json")
	if err != nil {
		t.Fatalf("tofu show -json: %v\n%s", err, out)
	}
	var s struct {
		Values struct {
			RootModule struct {
				Resources []stateResource `json:"resources"`
			} `json:"root_module"`
		} `json:"values"`
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatal(err)
	}
	return s.Values.RootModule.Resources
}

func (r stateResource) entry() (awsType, bool) {
	if r.Mode == "data" {
		e, ok := dataSourceActions[r.Type]
		return e, ok
	}
	e, ok := resourceActions[r.Type]
	return e, ok
}

func (e awsType) phases() map[string][]call {
	return map[string][]call{"create": e.Create, "read": e.Read, "update": e.Update, "delete": e.Delete, "tagging": e.Tag}
}

func (r stateResource) str(attr string) string {
	s, _ := r.Values[attr].(string)
	return s
}

func (r stateResource) tags() map[string]string {
	out := map[string]string{}
	m, _ := r.Values["tags_all"].(map[string]any)
	for k, v := range m {
		out[k], _ = v.(string)
	}
	return out
}

var templateVar = regexp.MustCompile(`\$\{(\w+)\}`)

// expand fills a template's ${region}, ${account} and ${<attribute>} from r.
func (r stateResource) expand(tmpl string) (string, error) {
	var missing []string
	out := templateVar.ReplaceAllStringFunc(tmpl, func(m string) string {
		switch n := m[2 : len(m)-1]; n {
		case "region":
			return scenarioRegion
		case "account":
			return standinAccount
		default:
			if v := r.str(n); v != "" {
				return v
			}
			missing = append(missing, n)
			return m
		}
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("%s: no %v", tmpl, missing)
	}
	return out, nil
}

// arn is r's ARN: its arn attribute (access_entry_arn for an access entry), else the
// table's template.
func (r stateResource) arn(e awsType) (string, error) {
	for _, a := range []string{"arn", "access_entry_arn"} {
		if v := r.str(a); v != "" {
			return v, nil
		}
	}
	if e.ARN == "" {
		return "", fmt.Errorf("no ARN: no arn attribute and no template in the table")
	}
	return r.expand(e.ARN)
}

// request is the authorization IAM makes for c on behalf of r.
func (r stateResource) request(c call, e awsType, st []stateResource) (request, error) {
	req := request{action: c.action, context: map[string]string{}}
	tagsAs := func(prefix string, tags map[string]string) {
		for k, v := range tags {
			req.context[prefix+k] = v
		}
	}
	var err error
	switch c.on.kind {
	case onAny:
		req.resource = "*"
	case onNew:
		req.resource, err = r.arn(e)
		tagsAs("aws:RequestTag/", r.tags())
	case onSelf:
		req.resource, err = r.arn(e)
		tagsAs("aws:ResourceTag/", r.tags())
	case onARN:
		req.resource, err = r.expand(c.on.arn)
		if c.on.ownTags {
			tagsAs("aws:ResourceTag/", r.tags())
		}
	case onRef:
		want := r.str(c.on.attr)
		i := slices.IndexFunc(st, func(o stateResource) bool {
			return o.Type == c.on.typ && o.Mode == "managed" && o.str(c.on.key) == want
		})
		if want == "" || i < 0 {
			return req, fmt.Errorf("%s: no %s in the state whose %s is %s's %s (%q)", c.action, c.on.typ, c.on.key, r.Address, c.on.attr, want)
		}
		target := st[i]
		te, _ := target.entry()
		req.resource, err = target.arn(te)
		tagsAs("aws:ResourceTag/", target.tags())
	}
	if err != nil {
		return req, err
	}
	for k, v := range c.context {
		if req.context[k], err = r.expand(v); err != nil {
			return req, err
		}
	}
	return req, nil
}

// TestStateBackendPolicy: templates/aws/state-backend-iam-policy.json, filled in as
// docs/install.md says, lets provider-terraform's S3 backend read and write each
// Workspace's state and lock (its workspace's key: env:/<workspace>/<key>), and lock
// with a DynamoDB table (Terraform 1.5), and nothing else of the bucket.
func TestStateBackendPolicy(t *testing.T) {
	text, err := os.ReadFile(filepath.Join(root, "templates", "aws", "state-backend-iam-policy.json"))
	if err != nil {
		t.Fatal(err)
	}
	filled := strings.NewReplacer("CAPT_STATE_BUCKET", "my-capt-state", "CAPT_STATE_KEY", "capt/terraform.tfstate", "CAPT_LOCK_TABLE", "my-capt-locks").Replace(string(text))
	if rest := regexp.MustCompile(`CAPT_[A-Z_]+`).FindAllString(filled, -1); len(rest) > 0 {
		t.Fatalf("placeholders the docs do not fill in: %v", rest)
	}
	file := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(file, []byte(filled), 0o600); err != nil {
		t.Fatal(err)
	}
	policy, err := readPolicy(file)
	if err != nil {
		t.Fatal(err)
	}
	const obj = "arn:aws:s3:::my-capt-state/env:/team-a-c1-vpc/capt/terraform.tfstate"
	table := "arn:aws:dynamodb:eu-west-1:" + standinAccount + ":table/my-capt-locks"
	for _, tc := range []struct {
		r    request
		want bool
	}{
		{request{action: "s3:ListBucket", resource: "arn:aws:s3:::my-capt-state"}, true},
		{request{action: "s3:GetObject", resource: obj}, true},
		{request{action: "s3:PutObject", resource: obj}, true},
		{request{action: "s3:PutObject", resource: obj + ".tflock"}, true},
		{request{action: "s3:DeleteObject", resource: obj + ".tflock"}, true},
		{request{action: "dynamodb:PutItem", resource: table}, true},
		{request{action: "dynamodb:DeleteItem", resource: table}, true},
		{request{action: "s3:GetObject", resource: "arn:aws:s3:::my-capt-state/other/terraform.tfstate"}, false},
		{request{action: "s3:DeleteBucket", resource: "arn:aws:s3:::my-capt-state"}, false},
		{request{action: "dynamodb:DeleteTable", resource: table}, false},
	} {
		if got := policy.allows(tc.r); got != tc.want {
			t.Errorf("%s: allowed %v, want %v", tc.r, got, tc.want)
		}
	}
}

// versionLess compares two x.y.z versions.
func versionLess(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := range min(len(pa), len(pb)) {
		x, _ := strconv.Atoi(pa[i])
		y, _ := strconv.Atoi(pb[i])
		if x != y {
			return x < y
		}
	}
	return len(pa) < len(pb)
}
