package provider

import (
	"sort"

	"github.com/hashicorp/terraform-plugin-go/tfprotov5"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/capt-dev/capt/hack/tools/aws-standin/schema"
)

// tfType is t as terraform-plugin-go's type.
func tfType(t *schema.Type) tftypes.Type {
	switch t.Kind {
	case schema.String:
		return tftypes.String
	case schema.Number:
		return tftypes.Number
	case schema.Bool:
		return tftypes.Bool
	case schema.List:
		return tftypes.List{ElementType: tfType(t.Elem)}
	case schema.Set:
		return tftypes.Set{ElementType: tfType(t.Elem)}
	case schema.Map:
		return tftypes.Map{ElementType: tfType(t.Elem)}
	case schema.Object:
		attrs := make(map[string]tftypes.Type, len(t.Attrs))
		for n, a := range t.Attrs {
			attrs[n] = tfType(a)
		}
		return tftypes.Object{AttributeTypes: attrs}
	default:
		return tftypes.DynamicPseudoType
	}
}

// blockType is the type of a value of block b (a resource's state, a data source's).
func blockType(b *schema.Block) tftypes.Type { return tfType(b.ObjectType()) }

// protoBlock is b in the plugin protocol's terms, names sorted (the protocol's lists are
// ordered; a stable order keeps the schema the same at every start).
func protoBlock(b *schema.Block) *tfprotov5.SchemaBlock {
	out := &tfprotov5.SchemaBlock{}
	for _, n := range sortedKeys(b.Attributes) {
		a := b.Attributes[n]
		out.Attributes = append(out.Attributes, &tfprotov5.SchemaAttribute{
			Name: n, Type: tfType(a.Type), Required: a.Required, Optional: a.Optional, Computed: a.Computed,
		})
	}
	for _, n := range sortedKeys(b.Blocks) {
		nb := b.Blocks[n]
		mode := tfprotov5.SchemaNestedBlockNestingModeList
		switch nb.Nesting {
		case schema.NestingSet:
			mode = tfprotov5.SchemaNestedBlockNestingModeSet
		case schema.NestingSingle:
			mode = tfprotov5.SchemaNestedBlockNestingModeSingle
		}
		out.BlockTypes = append(out.BlockTypes, &tfprotov5.SchemaNestedBlock{
			TypeName: n, Block: protoBlock(nb.Block), Nesting: mode,
			MinItems: int64(nb.MinItems), MaxItems: int64(nb.MaxItems),
		})
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
