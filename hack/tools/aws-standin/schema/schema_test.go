package schema

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// built is the schema of a hashicorp/aws version hack/tools/build.sh extracted beside
// bin/aws-standin: the real package's, so these tests check the extraction on the
// provider's own schema.
func built(t *testing.T, version string) *Schema {
	t.Helper()
	bin, err := filepath.EvalSymlinks(filepath.Join("..", "..", "..", "..", "bin", "aws-standin"))
	if err != nil {
		t.Fatalf("bin/aws-standin is not built (make stack-tools builds it): %v", err)
	}
	s, err := Read(filepath.Join(filepath.Dir(bin), FileName(version)))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Pinned(version)
	if err != nil {
		t.Fatal(err)
	}
	if s.Provider != "registry.terraform.io/hashicorp/aws" || s.Version != version || s.Source != NPMPackage+"@"+p.NPM {
		t.Errorf("schema of %s %s from %s, want hashicorp/aws %s from %s@%s", s.Provider, s.Version, s.Source, version, NPMPackage, p.NPM)
	}
	return s
}

func TestExtractedSchema(t *testing.T) {
	s := built(t, "6.25.0")
	// 21.22.1's lib/: 1,581 resource classes, 630 data source classes.
	if len(s.Resources) != 1581 || len(s.DataSources) != 630 {
		t.Errorf("%d resources and %d data sources, want 1581 and 630", len(s.Resources), len(s.DataSources))
	}
	eks := s.Resources["aws_eks_cluster"]
	for _, tc := range []struct {
		what string
		got  any
		want any
	}{
		{"name required", eks.Attributes["name"].Required, true},
		{"endpoint computed only", *eks.Attributes["endpoint"], Attribute{Type: StringType, Computed: true}},
		{"certificate_authority", eks.Attributes["certificate_authority"].Type.String(), "list(object({data=string}))"},
		{"identity", eks.Attributes["identity"].Type.String(), "list(object({oidc=list(object({issuer=string}))}))"},
		{"id optional and computed", *eks.Attributes["id"], Attribute{Type: StringType, Optional: true, Computed: true}},
		{"vpc_config exactly one", [3]any{eks.Blocks["vpc_config"].Nesting, eks.Blocks["vpc_config"].MinItems, eks.Blocks["vpc_config"].MaxItems}, [3]any{NestingList, 1, 1}},
		{"vpc_config.subnet_ids", *eks.Blocks["vpc_config"].Block.Attributes["subnet_ids"], Attribute{Type: CollectionOf(Set, StringType), Required: true}},
		{"vpc_config.vpc_id computed", eks.Blocks["vpc_config"].Block.Attributes["vpc_id"].Computed, true},
		{"access_config at most one", eks.Blocks["access_config"].MaxItems, 1},
		{"compute_config (Auto Mode)", eks.Blocks["compute_config"] != nil, true},
		{"timeouts single", eks.Blocks["timeouts"].Nesting, NestingSingle},
		// name_prefix beside name: the provider generates name.
		{"aws_iam_role.name", *s.Resources["aws_iam_role"].Attributes["name"], Attribute{Type: StringType, Optional: true, Computed: true}},
		// SDKv2's attribute as blocks: an optional, computed set of objects.
		{"aws_route_table.route", s.Resources["aws_route_table"].Attributes["route"].Type.Kind, Set},
		{"aws_eks_node_group.scaling_config", s.Resources["aws_eks_node_group"].Blocks["scaling_config"].MinItems, 1},
		{"aws_eks_node_group.taint", s.Resources["aws_eks_node_group"].Blocks["taint"].Nesting, NestingSet},
		{"aws_availability_zones.names", *s.DataSources["aws_availability_zones"].Attributes["names"], Attribute{Type: CollectionOf(List, StringType), Computed: true}},
		{"provider region", *s.ProviderCfg.Attributes["region"], Attribute{Type: StringType, Optional: true}},
		{"provider default_tags", s.ProviderCfg.Blocks["default_tags"] != nil, true},
		{"provider alias (a meta-argument)", s.ProviderCfg.Attributes["alias"] == nil, true},
		// 6.x: every resource and data source has an optional, computed region.
		{"aws_vpc.region", *s.Resources["aws_vpc"].Attributes["region"], Attribute{Type: StringType, Optional: true, Computed: true}},
		{"aws_elb_service_account.region", *s.DataSources["aws_elb_service_account"].Attributes["region"], Attribute{Type: StringType, Optional: true, Computed: true}},
	} {
		if !equal(tc.got, tc.want) {
			t.Errorf("%s: %+v, want %+v", tc.what, tc.got, tc.want)
		}
	}
}

// TestExtractedFloorSchema: hashicorp/aws 5.33.0's schema, from @cdktf/provider-aws
// 19.2.0, a package of an older generator than 21.22.1's: the modules' floor, what they
// must validate against.
func TestExtractedFloorSchema(t *testing.T) {
	s := built(t, "5.33.0")
	// 19.2.0's lib/: 1,317 resource classes, 540 data source classes.
	if len(s.Resources) != 1317 || len(s.DataSources) != 540 {
		t.Errorf("%d resources and %d data sources, want 1317 and 540", len(s.Resources), len(s.DataSources))
	}
	eks := s.Resources["aws_eks_cluster"]
	for _, tc := range []struct {
		what string
		got  any
		want any
	}{
		// What 5.33.0 added, and the modules use.
		{"access_config at most one", eks.Blocks["access_config"].MaxItems, 1},
		{"access_config.authentication_mode", *eks.Blocks["access_config"].Block.Attributes["authentication_mode"], Attribute{Type: StringType, Optional: true}},
		{"aws_eks_access_entry", s.Resources["aws_eks_access_entry"] != nil, true},
		{"aws_eks_access_policy_association.access_scope", s.Resources["aws_eks_access_policy_association"].Blocks["access_scope"].MinItems, 1},
		// What came later: not there.
		{"compute_config (5.79)", eks.Blocks["compute_config"] == nil, true},
		{"bootstrap_self_managed_addons (5.48)", eks.Attributes["bootstrap_self_managed_addons"] == nil, true},
		{"aws_eks_node_group.node_repair_config", s.Resources["aws_eks_node_group"].Blocks["node_repair_config"] == nil, true},
		// The same extraction as 6.25.0's.
		{"endpoint computed only", *eks.Attributes["endpoint"], Attribute{Type: StringType, Computed: true}},
		{"vpc_config exactly one", [3]any{eks.Blocks["vpc_config"].Nesting, eks.Blocks["vpc_config"].MinItems, eks.Blocks["vpc_config"].MaxItems}, [3]any{NestingList, 1, 1}},
		{"aws_iam_role.name", *s.Resources["aws_iam_role"].Attributes["name"], Attribute{Type: StringType, Optional: true, Computed: true}},
		{"aws_route_table.route", s.Resources["aws_route_table"].Attributes["route"].Type.Kind, Set},
		{"aws_eks_node_group.taint", s.Resources["aws_eks_node_group"].Blocks["taint"].Nesting, NestingSet},
		{"aws_availability_zones.names", *s.DataSources["aws_availability_zones"].Attributes["names"], Attribute{Type: CollectionOf(List, StringType), Computed: true}},
		// 5.x: no region on every resource; where there is one, as the code says.
		{"aws_vpc has no region", s.Resources["aws_vpc"].Attributes["region"] == nil, true},
		{"aws_elb_service_account.region optional only", *s.DataSources["aws_elb_service_account"].Attributes["region"], Attribute{Type: StringType, Optional: true}},
		{"aws_s3_bucket.region computed", *s.Resources["aws_s3_bucket"].Attributes["region"], Attribute{Type: StringType, Computed: true}},
		// A required single block, which 19.2.0's generator marks required.
		{"aws_verifiedpermissions_schema.definition", *s.Resources["aws_verifiedpermissions_schema"].Blocks["definition"], NestedBlock{Nesting: NestingSingle, MinItems: 1, MaxItems: 1}},
	} {
		if !equal(tc.got, tc.want) {
			t.Errorf("%s: %+v, want %+v", tc.what, tc.got, tc.want)
		}
	}
}

// TestExtractedEKSFloorSchema: hashicorp/aws 5.79.0's schema, from @cdktf/provider-aws
// 19.45.0: the EKS module's floor has what its EKS settings and Auto Mode use, and not
// what came later.
func TestExtractedEKSFloorSchema(t *testing.T) {
	s := built(t, "5.79.0")
	eks := s.Resources["aws_eks_cluster"]
	for _, tc := range []struct {
		what string
		got  any
		want any
	}{
		{"compute_config (5.79)", eks.Blocks["compute_config"] != nil, true},
		{"upgrade_policy", eks.Blocks["upgrade_policy"] != nil, true},
		{"encryption_config", eks.Blocks["encryption_config"] != nil, true},
		{"bootstrap_self_managed_addons", eks.Attributes["bootstrap_self_managed_addons"] != nil, true},
		{"enabled_cluster_log_types", eks.Attributes["enabled_cluster_log_types"] != nil, true},
		{"aws_eks_pod_identity_association", s.Resources["aws_eks_pod_identity_association"] != nil, true},
		{"aws_iam_openid_connect_provider", s.Resources["aws_iam_openid_connect_provider"] != nil, true},
		{"aws_eks_addon.preserve", s.Resources["aws_eks_addon"].Attributes["preserve"] != nil, true},
		// What came later: not there (test/awsmodules' floor test adds it to the module).
		{"deletion_protection (6.x)", eks.Attributes["deletion_protection"] == nil, true},
	} {
		if !equal(tc.got, tc.want) {
			t.Errorf("%s: %+v, want %+v", tc.what, tc.got, tc.want)
		}
	}
}

func equal(a, b any) bool {
	if x, ok := a.(NestedBlock); ok {
		y := b.(NestedBlock)
		return x.Nesting == y.Nesting && x.MinItems == y.MinItems && x.MaxItems == y.MaxItems
	}
	if x, ok := a.(Attribute); ok {
		y := b.(Attribute)
		return x.Type.String() == y.Type.String() && x.Required == y.Required && x.Optional == y.Optional && x.Computed == y.Computed
	}
	return a == b
}

// TestSchemasAreValidForTerraform: every served schema keeps the rules Terraform checks of
// a provider's schema before it uses any of it (an invalid resource type, even one no
// module uses, fails every command: "has invalid schema for managed resource type").
func TestSchemasAreValidForTerraform(t *testing.T) {
	for _, v := range Versions() {
		s := built(t, v)
		var errs []string
		check := func(kind string, blocks map[string]*Block) {
			for name, b := range blocks {
				errs = append(errs, invalid(kind+" "+name, b)...)
			}
		}
		check("resource", s.Resources)
		check("data source", s.DataSources)
		errs = append(errs, invalid("provider", s.ProviderCfg)...)
		if len(errs) > 0 {
			t.Errorf("hashicorp/aws %s: %d invalid, first: %v", v, len(errs), errs[:min(len(errs), 5)])
		}
	}
}

// invalid is what Terraform's configschema InternalValidate would refuse in b.
func invalid(path string, b *Block) []string {
	var errs []string
	for n, a := range b.Attributes {
		switch {
		case !a.Required && !a.Optional && !a.Computed:
			errs = append(errs, path+"."+n+": neither required, optional nor computed")
		case a.Required && (a.Optional || a.Computed):
			errs = append(errs, path+"."+n+": required and optional or computed")
		}
	}
	for n, nb := range b.Blocks {
		p := path + "." + n
		switch {
		case nb.Nesting == NestingSingle && (nb.MinItems != nb.MaxItems || nb.MinItems > 1):
			errs = append(errs, fmt.Sprintf("%s: single block with MinItems %d, MaxItems %d", p, nb.MinItems, nb.MaxItems))
		case nb.MaxItems > 0 && nb.MinItems > nb.MaxItems:
			errs = append(errs, fmt.Sprintf("%s: MinItems %d above MaxItems %d", p, nb.MinItems, nb.MaxItems))
		}
		if _, dup := b.Attributes[n]; dup {
			errs = append(errs, p+": both an attribute and a block")
		}
		errs = append(errs, invalid(p, nb.Block)...)
	}
	return errs
}

func TestExtractRefusesAnotherPackage(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "not-cdktf.tgz"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	if _, err := Extract(f); err == nil {
		t.Fatal("a package without cdktf.provider in its package.json was taken for a provider")
	}
}
