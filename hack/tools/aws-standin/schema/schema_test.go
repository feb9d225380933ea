package schema

import (
	"os"
	"path/filepath"
	"testing"
)

// built is the schema hack/tools/build.sh extracted beside bin/aws-standin: the real
// package's, so these tests check the extraction on hashicorp/aws 6.25.0 itself.
func built(t *testing.T) *Schema {
	t.Helper()
	bin, err := filepath.EvalSymlinks(filepath.Join("..", "..", "..", "..", "bin", "aws-standin"))
	if err != nil {
		t.Fatalf("bin/aws-standin is not built (make stack-tools builds it): %v", err)
	}
	s, err := Read(filepath.Join(filepath.Dir(bin), "schema.json.gz"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestExtractedSchema(t *testing.T) {
	s := built(t)
	if s.Provider != "registry.terraform.io/hashicorp/aws" || s.Version != "6.25.0" || s.Source != NPMPackage+"@"+NPMVersion {
		t.Errorf("schema of %s %s from %s", s.Provider, s.Version, s.Source)
	}
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
	} {
		if !equal(tc.got, tc.want) {
			t.Errorf("%s: %+v, want %+v", tc.what, tc.got, tc.want)
		}
	}
}

func equal(a, b any) bool {
	if x, ok := a.(Attribute); ok {
		y := b.(Attribute)
		return x.Type.String() == y.Type.String() && x.Required == y.Required && x.Optional == y.Optional && x.Computed == y.Computed
	}
	return a == b
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
