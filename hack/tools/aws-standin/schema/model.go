// Package schema is hashicorp/aws's schema as the stand-in serves it: every resource,
// data source and the provider block, with each attribute's type and whether it is
// required, optional or computed, and each nested block's nesting. It is extracted from
// the @cdktf/provider-aws npm package (cdktf.go) once, at build time, into a gzipped JSON
// file that the provider reads when it starts.
package schema

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
)

// Schema is one provider version's schema.
type Schema struct {
	// Provider is the provider's registry address, Version its version: what the npm
	// package says it was generated from.
	Provider string `json:"provider"`
	Version  string `json:"version"`
	// Source is the npm package and version it was extracted from.
	Source      string            `json:"source"`
	ProviderCfg *Block            `json:"providerConfig"`
	Resources   map[string]*Block `json:"resources"`
	DataSources map[string]*Block `json:"dataSources"`
}

// Block is a resource's, data source's or nested block's body.
type Block struct {
	Attributes map[string]*Attribute   `json:"attributes,omitempty"`
	Blocks     map[string]*NestedBlock `json:"blocks,omitempty"`
}

// Attribute is one argument or attribute.
type Attribute struct {
	Type     *Type `json:"type"`
	Required bool  `json:"required,omitempty"`
	Optional bool  `json:"optional,omitempty"`
	Computed bool  `json:"computed,omitempty"`
}

// Nesting is how a nested block repeats.
type Nesting string

// The nestings hashicorp/aws uses (protocol 5 has no nested attributes).
const (
	NestingList   Nesting = "list"
	NestingSet    Nesting = "set"
	NestingSingle Nesting = "single"
)

// NestedBlock is a block inside a Block.
type NestedBlock struct {
	Nesting  Nesting `json:"nesting"`
	MinItems int     `json:"minItems,omitempty"`
	MaxItems int     `json:"maxItems,omitempty"`
	Block    *Block  `json:"block"`
}

// Kind is a type's kind, named as in Terraform's type constraints.
type Kind string

// The kinds of Type.
const (
	String  Kind = "string"
	Number  Kind = "number"
	Bool    Kind = "bool"
	Dynamic Kind = "dynamic"
	List    Kind = "list"
	Set     Kind = "set"
	Map     Kind = "map"
	Object  Kind = "object"
)

// Type is an attribute's value type: a primitive, a collection of Elem, or an object of
// Attrs.
type Type struct {
	Kind  Kind             `json:"kind"`
	Elem  *Type            `json:"elem,omitempty"`
	Attrs map[string]*Type `json:"attrs,omitempty"`
}

// Primitive types, shared.
var (
	StringType  = &Type{Kind: String}
	NumberType  = &Type{Kind: Number}
	BoolType    = &Type{Kind: Bool}
	DynamicType = &Type{Kind: Dynamic}
)

// CollectionOf is a list, set or map of elem.
func CollectionOf(kind Kind, elem *Type) *Type { return &Type{Kind: kind, Elem: elem} }

// String renders t as a Terraform type constraint, for messages and tests.
func (t *Type) String() string {
	switch t.Kind {
	case List, Set, Map:
		return fmt.Sprintf("%s(%s)", t.Kind, t.Elem)
	case Object:
		names := make([]string, 0, len(t.Attrs))
		for n := range t.Attrs {
			names = append(names, n)
		}
		sort.Strings(names)
		s := "object({"
		for i, n := range names {
			if i > 0 {
				s += ", "
			}
			s += n + "=" + t.Attrs[n].String()
		}
		return s + "})"
	default:
		return string(t.Kind)
	}
}

// ObjectType is the type of one element of b, as Terraform sees a block's value: its
// attributes, and its nested blocks as lists, sets or objects.
func (b *Block) ObjectType() *Type {
	t := &Type{Kind: Object, Attrs: map[string]*Type{}}
	for n, a := range b.Attributes {
		t.Attrs[n] = a.Type
	}
	for n, nb := range b.Blocks {
		elem := nb.Block.ObjectType()
		switch nb.Nesting {
		case NestingSingle:
			t.Attrs[n] = elem
		case NestingSet:
			t.Attrs[n] = CollectionOf(Set, elem)
		default:
			t.Attrs[n] = CollectionOf(List, elem)
		}
	}
	return t
}

// Write stores s gzipped at path.
func (s *Schema) Write(path string) error {
	f, err := os.Create(path) //nolint:gosec // the build step's own output path
	if err != nil {
		return err
	}
	zw := gzip.NewWriter(f)
	if err := json.NewEncoder(zw).Encode(s); err != nil {
		_ = f.Close()
		return fmt.Errorf("encoding the schema: %w", err)
	}
	if err := zw.Close(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// Read loads a schema Write stored.
func Read(path string) (*Schema, error) {
	f, err := os.Open(path) //nolint:gosec // the schema beside the binary, or AWS_STANDIN_SCHEMA
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	return decode(f)
}

func decode(r io.Reader) (*Schema, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("reading the schema: %w", err)
	}
	var s Schema
	if err := json.NewDecoder(zr).Decode(&s); err != nil {
		return nil, fmt.Errorf("decoding the schema: %w", err)
	}
	return &s, nil
}
