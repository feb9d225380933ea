package schema

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// What the extraction reads from each lib/<name>/index.js of @cdktf/provider-aws
// (cdktf's generator writes them from `terraform providers schema -json`):
//
//   - a resource's, data source's or the provider's class (`class EksCluster extends
//     cdktf.TerraformResource`, its type in `EksCluster.tfResourceType = "aws_eks_cluster"`);
//   - the table of its arguments in synthesizeHclAttributes(), and of a nested block's in
//     its `<struct>ToHclTerraform` function: Terraform's name, whether it is a block, the
//     collection ("simple", "list", "set", "map", "struct") and the element type
//     (storageClassType: "string", "stringList", ... or the nested block's class);
//   - the comment the generator puts before every computed attribute and every block,
//     `// name - computed: true, optional: false, required: false`, and the getter or
//     class that follows it (the type of a computed-only attribute, and whether a block
//     holds at most one element: an OutputReference instead of a List);
//
// and from index.d.ts, the TypeScript interface of the configuration: an argument
// without `?` is required.
//
// What it cannot know, because the generated code does not carry it: which arguments
// force a replacement, the provider's own validation (enums, patterns, conflicts), the
// defaults the provider fills in, MinItems/MaxItems beyond "required" and "at most one",
// and whether a plain optional argument is also computed (the provider fills it in when
// it is not set: the generator writes no comment for those). The stand-in treats such an
// argument as optional only, except `id`, `tags_all` and `region` (6.x), which every
// resource and data source of this provider computes, and `name` beside a `name_prefix`
// (the provider generates it from the prefix): see namePrefixed. In 5.x schemas `region`
// is not every resource's: the few that have one keep what the code says of it.

// ErrNotCDKTF is returned when the tarball is not a cdktf provider package.
var ErrNotCDKTF = errors.New("not a @cdktf provider package")

// Extract reads a @cdktf/provider-aws npm tarball (gzipped tar) and returns the schema
// of the provider it was generated from.
func Extract(tgz io.Reader) (*Schema, error) {
	zr, err := gzip.NewReader(tgz)
	if err != nil {
		return nil, fmt.Errorf("reading the tarball: %w", err)
	}
	files := map[string]map[string]string{} // lib dir → file name → text
	var pkgJSON []byte
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading the tarball: %w", err)
		}
		name := h.Name
		switch {
		case name == "package/package.json":
			if pkgJSON, err = io.ReadAll(tr); err != nil {
				return nil, err
			}
		case strings.HasPrefix(name, "package/lib/") && (strings.HasSuffix(name, ".js") || strings.HasSuffix(name, ".d.ts")):
			// lib/<name>/index.js, and for large resources lib/<name>/index-structs/*.js,
			// which hold some of its nested blocks: one text per kind and directory.
			rel := strings.TrimPrefix(name, "package/lib/")
			dir, _, nested := strings.Cut(rel, "/")
			if !nested {
				continue
			}
			b, err := io.ReadAll(tr)
			if err != nil {
				return nil, err
			}
			if files[dir] == nil {
				files[dir] = map[string]string{}
			}
			kind := "index.js"
			if strings.HasSuffix(name, ".d.ts") {
				kind = "index.d.ts"
			}
			files[dir][kind] += string(b) + "\n"
		}
	}
	var pkg struct {
		Name    string `json:"name"`
		Version string `json:"version"`
		CDKTF   struct {
			Provider struct {
				Name    string `json:"name"`
				Version string `json:"version"`
			} `json:"provider"`
		} `json:"cdktf"`
	}
	if pkgJSON == nil {
		return nil, fmt.Errorf("%w: no package.json", ErrNotCDKTF)
	}
	if err := json.Unmarshal(pkgJSON, &pkg); err != nil {
		return nil, fmt.Errorf("package.json: %w", err)
	}
	if pkg.CDKTF.Provider.Name == "" || pkg.CDKTF.Provider.Version == "" {
		return nil, fmt.Errorf("%w: package.json names no cdktf.provider", ErrNotCDKTF)
	}
	s := &Schema{
		Provider:    pkg.CDKTF.Provider.Name,
		Version:     pkg.CDKTF.Provider.Version,
		Source:      pkg.Name + "@" + pkg.Version,
		Resources:   map[string]*Block{},
		DataSources: map[string]*Block{},
	}
	// hashicorp/aws 6.0 gave every resource and data source an optional, computed region.
	major, _, _ := strings.Cut(s.Version, ".")
	n, err := strconv.Atoi(major)
	if err != nil {
		return nil, fmt.Errorf("package.json: provider version %q: %w", s.Version, err)
	}
	regionEverywhere := n >= 6
	dirs := make([]string, 0, len(files))
	for d := range files {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	for _, d := range dirs {
		js, dts := files[d]["index.js"], files[d]["index.d.ts"]
		if js == "" {
			continue
		}
		m := mainClassRE.FindStringSubmatch(js)
		if m == nil {
			continue // lib/index.js and the like: no class of a resource
		}
		f := newFile(d, js, dts, regionEverywhere)
		class, kind := m[1], m[2]
		tm := regexp.MustCompile(regexp.QuoteMeta(class) + `\.tfResourceType = "([^"]+)";`).FindStringSubmatch(js)
		if tm == nil {
			return nil, fmt.Errorf("lib/%s: class %s has no tfResourceType", d, class)
		}
		b, err := f.mainBlock(class)
		if err != nil {
			return nil, fmt.Errorf("lib/%s (%s): %w", d, tm[1], err)
		}
		switch kind {
		case "Resource":
			s.Resources[tm[1]] = b
		case "DataSource":
			s.DataSources[tm[1]] = b
		case "Provider":
			delete(b.Attributes, "alias") // a meta-argument, not the provider's
			for _, a := range b.Attributes {
				a.Computed = false // a provider's configuration has nothing computed
			}
			s.ProviderCfg = b
		}
	}
	for _, b := range s.Resources {
		noDynamicInSets(b)
	}
	for _, b := range s.DataSources {
		noDynamicInSets(b)
	}
	if s.ProviderCfg == nil || len(s.Resources) == 0 {
		return nil, fmt.Errorf("%w: no provider class or no resources", ErrNotCDKTF)
	}
	return s, nil
}

var (
	mainClassRE = regexp.MustCompile(`(?m)^class (\w+) extends cdktf\.Terraform(Resource|DataSource|Provider) \{`)
	// One row of an attribute table, in synthesizeHclAttributes or a ToHclTerraform function.
	rowRE = regexp.MustCompile(`(?m)^\s+(\w+): \{\n\s+value: (.*),\n\s+isBlock: (true|false),\n\s+type: "(\w+)",\n\s+storageClassType: "(\w+)",\n\s+\},?$`)
	// The comment cdktf puts before a computed attribute or a block, and the line after it.
	commentRE = regexp.MustCompile(`(?m)^\s+// (\w+) - computed: (true|false), optional: (true|false), required: (true|false)$`)
	// this._x = new SomeList(this, "x", false);
	newRE       = regexp.MustCompile(`this\._\w+ = new ((?:cdktf\.)?\w+)\(this, "\w+"(?:, (true|false))?\);`)
	getterRE    = regexp.MustCompile(`this\.get(\w+)Attribute\('\w+'\)`)
	valueFnRE   = regexp.MustCompile(`(\w+\.)?(\w+)ToHclTerraform\b`)
	valueNameRE = regexp.MustCompile(`(?:this\._|struct\.)(\w+)`)
	readonlyRE  = regexp.MustCompile(`(?m)^\s+readonly (\w+)(\?)?:`)
)

// file is one lib/<name> directory's code. regionEverywhere: the provider (6.x) gives
// every resource and data source an optional and computed region.
type file struct {
	dir, js, dts     string
	regionEverywhere bool
}

func newFile(dir, js, dts string, regionEverywhere bool) *file {
	return &file{dir: dir, js: js, dts: dts, regionEverywhere: regionEverywhere}
}

// section returns the text from the line that starts with head to the next line that
// is a lone "}" (the end of a top-level class, function or interface).
func section(text, head string) string {
	i := strings.Index(text, head)
	if i < 0 {
		return ""
	}
	rest := text[i:]
	if j := strings.Index(rest, "\n}\n"); j >= 0 {
		return rest[:j+2]
	}
	return rest
}

// required is the set of configuration fields (camelCase) without "?" in the interface.
func (f *file) required(iface string) map[string]bool {
	body := section(f.dts, "export interface "+iface+" ")
	req := map[string]bool{}
	for _, m := range readonlyRE.FindAllStringSubmatch(body, -1) {
		if m[2] == "" {
			req[m[1]] = true
		}
	}
	return req
}

// comment is what the generator's comment says of one attribute or block, and what
// follows it.
type comment struct {
	computed, optional, required bool
	// newClass is the class constructed on the next line (a List, Map or OutputReference),
	// newSet whether that List wraps a set.
	newClass string
	newSet   bool
	// getter is the kind of the getter that follows (String, Number, List, ...), tolist
	// whether it is a set read as a list.
	getter string
	tolist bool
}

func (f *file) comments(classBody string) map[string]*comment {
	out := map[string]*comment{}
	for _, ix := range commentRE.FindAllStringSubmatchIndex(classBody, -1) {
		g := func(i int) string { return classBody[ix[2*i]:ix[2*i+1]] }
		c := &comment{computed: g(2) == "true", optional: g(3) == "true", required: g(4) == "true"}
		// The two lines after the comment: `this._x = new ...;`, or `get x() {` and its return.
		after := strings.SplitN(strings.TrimPrefix(classBody[ix[1]:], "\n"), "\n", 3)
		for len(after) < 2 {
			after = append(after, "")
		}
		next := after[0] + "\n" + after[1]
		if n := newRE.FindStringSubmatch(after[0]); n != nil {
			c.newClass, c.newSet = n[1], n[2] == "true"
		} else if gm := getterRE.FindStringSubmatch(next); gm != nil {
			c.getter, c.tolist = gm[1], strings.Contains(next, "cdktf.Fn.tolist(")
		} else if strings.Contains(next, "interpolationForAttribute(") {
			c.getter = "Interpolation"
		}
		out[g(1)] = c
	}
	return out
}

type row struct {
	name, camel, kind, storage, fn string
	isBlock                        bool
}

func rows(body string) []row {
	matches := rowRE.FindAllStringSubmatch(body, -1)
	out := make([]row, 0, len(matches))
	for _, m := range matches {
		r := row{name: m[1], isBlock: m[3] == "true", kind: m[4], storage: m[5]}
		if v := valueNameRE.FindAllStringSubmatch(m[2], -1); len(v) > 0 {
			r.camel = v[len(v)-1][1]
			if r.camel == "internalValue" && len(v) > 1 {
				r.camel = v[len(v)-2][1]
			}
		}
		for _, fn := range valueFnRE.FindAllStringSubmatch(m[2], -1) {
			if fn[1] != "cdktf." { // cdktf's own stringToHclTerraform and the like
				r.fn = fn[2]
			}
		}
		out = append(out, r)
	}
	return out
}

// mainBlock is a resource's, data source's or the provider's block.
func (f *file) mainBlock(class string) (*Block, error) {
	body := section(f.js, "class "+class+" extends ")
	i := strings.Index(body, "synthesizeHclAttributes()")
	if i < 0 {
		return nil, fmt.Errorf("class %s has no synthesizeHclAttributes", class)
	}
	return f.block(class, body, body[i:], f.required(class+"Config"), true)
}

// structBlock is the block of the nested struct whose ToHclTerraform function is fn
// (e.g. eksClusterVpcConfig): its arguments, and its computed attributes from the
// struct's OutputReference class.
func (f *file) structBlock(fn string) (*Block, error) {
	name := strings.ToUpper(fn[:1]) + fn[1:]
	table := section(f.js, "function "+fn+"ToHclTerraform(struct)")
	if table == "" {
		return nil, fmt.Errorf("no function %sToHclTerraform", fn)
	}
	class := section(f.js, "class "+name+"OutputReference extends ")
	return f.block(name, class, table, f.required(name), false)
}

func (f *file) block(name, classBody, table string, required map[string]bool, top bool) (*Block, error) {
	b := &Block{Attributes: map[string]*Attribute{}, Blocks: map[string]*NestedBlock{}}
	cs := f.comments(classBody)
	for _, r := range rows(table) {
		c := cs[r.name]
		if !r.isBlock {
			t, err := storageType(r.kind, r.storage)
			if err != nil {
				return nil, fmt.Errorf("%s.%s: %w", name, r.name, err)
			}
			a := &Attribute{Type: t}
			switch {
			case required[r.camel]:
				a.Required = true
			default:
				a.Optional = true
				a.Computed = c != nil && c.computed
			}
			if top && a.Optional && (r.name == "id" || r.name == "tags_all" || r.name == "region" && f.regionEverywhere) {
				a.Computed = true
			}
			b.Attributes[r.name] = a
			continue
		}
		if r.fn == "" {
			return nil, fmt.Errorf("%s.%s: a block without a ToHclTerraform function", name, r.name)
		}
		nested, err := f.structBlock(r.fn)
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", name, r.name, err)
		}
		if c != nil && c.computed {
			// An optional and computed list of objects (SDKv2's "attribute as blocks", such
			// as aws_route_table's route): an attribute, which configurations may still
			// write as blocks.
			kind := List
			if r.kind == "set" {
				kind = Set
			}
			b.Attributes[r.name] = &Attribute{Type: CollectionOf(kind, nested.ObjectType()), Optional: true, Computed: true}
			continue
		}
		nb := &NestedBlock{Block: nested}
		switch r.kind {
		case "set":
			nb.Nesting = NestingSet
		case "struct":
			nb.Nesting = NestingSingle
		default:
			nb.Nesting = NestingList
		}
		if (c != nil && c.required) || required[r.camel] {
			nb.MinItems = 1
		}
		if nb.Nesting != NestingSingle && c != nil && strings.HasSuffix(c.newClass, "OutputReference") {
			nb.MaxItems = 1
		}
		if nb.Nesting == NestingSingle && nb.MinItems == 1 {
			// A required single block (the plugin framework's, as 5.x's
			// aws_verifiedpermissions_schema.definition, which older cdktf generators mark
			// required): Terraform takes a single block's bounds as 0/0 or 1/1 only.
			nb.MaxItems = 1
		}
		b.Blocks[r.name] = nb
	}
	// Computed-only attributes have no row: only the comment and a getter or a class.
	for n, c := range cs {
		if _, ok := b.Attributes[n]; ok {
			continue
		}
		if _, ok := b.Blocks[n]; ok {
			continue
		}
		if !c.computed || c.optional || c.required {
			continue
		}
		t, err := f.computedType(c)
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", name, n, err)
		}
		b.Attributes[n] = &Attribute{Type: t, Computed: true}
	}
	namePrefixed(b)
	if len(b.Attributes) == 0 {
		b.Attributes = nil
	}
	if len(b.Blocks) == 0 {
		b.Blocks = nil
	}
	return b, nil
}

// computedType is a computed-only attribute's type, from its getter or its class.
func (f *file) computedType(c *comment) (*Type, error) {
	coll := func(elem *Type) *Type {
		if c.tolist {
			return CollectionOf(Set, elem)
		}
		return CollectionOf(List, elem)
	}
	switch c.getter {
	case "String":
		return StringType, nil
	case "Number":
		return NumberType, nil
	case "Boolean":
		return BoolType, nil
	case "List":
		return coll(StringType), nil
	case "NumberList":
		return coll(NumberType), nil
	case "BooleanList":
		return coll(BoolType), nil
	case "StringMap":
		return CollectionOf(Map, StringType), nil
	case "NumberMap":
		return CollectionOf(Map, NumberType), nil
	case "BooleanMap":
		return CollectionOf(Map, BoolType), nil
	case "AnyMap":
		return CollectionOf(Map, DynamicType), nil
	case "Interpolation":
		return DynamicType, nil
	case "":
	default:
		return nil, fmt.Errorf("getter get%sAttribute: unknown", c.getter)
	}
	switch c.newClass {
	case "cdktf.StringMap":
		return CollectionOf(Map, StringType), nil
	case "cdktf.NumberMap":
		return CollectionOf(Map, NumberType), nil
	case "cdktf.BooleanMap":
		return CollectionOf(Map, BoolType), nil
	}
	var base string
	var kind Kind
	switch {
	case strings.HasSuffix(c.newClass, "List"):
		base, kind = strings.TrimSuffix(c.newClass, "List"), List
		if c.newSet {
			kind = Set
		}
	case strings.HasSuffix(c.newClass, "Map"):
		base, kind = strings.TrimSuffix(c.newClass, "Map"), Map
	case strings.HasSuffix(c.newClass, "OutputReference"):
		base, kind = strings.TrimSuffix(c.newClass, "OutputReference"), Object
	default:
		return nil, fmt.Errorf("no getter and no class (%q) to type it", c.newClass)
	}
	nested, err := f.structBlock(strings.ToLower(base[:1]) + base[1:])
	if err != nil {
		return nil, err
	}
	obj := nested.ObjectType()
	if kind == Object {
		return obj, nil
	}
	return CollectionOf(kind, obj), nil
}

// storageType is an argument's type from its row: the collection and cdktf's storage
// class of the element.
func storageType(kind, storage string) (*Type, error) {
	prim := map[string]*Type{"string": StringType, "number": NumberType, "boolean": BoolType, "any": DynamicType}
	if t, ok := prim[storage]; ok && kind == "simple" {
		return t, nil
	}
	coll := Kind(kind)
	if coll != List && coll != Set && coll != Map {
		return nil, fmt.Errorf("type %q of %q: unknown", kind, storage)
	}
	// stringList, numberMap, stringMapList...: the last word is the collection (given by
	// kind), the rest the element.
	for _, suffix := range []string{"List", "Map"} {
		if strings.HasSuffix(storage, suffix) {
			elem := strings.TrimSuffix(storage, suffix)
			if t, ok := prim[elem]; ok {
				return CollectionOf(coll, t), nil
			}
			innerKind := "list" // stringListList: cdktf does not say list or set inside
			if strings.HasSuffix(elem, "Map") {
				innerKind = "map"
			}
			inner, err := storageType(innerKind, elem)
			if err != nil {
				return nil, fmt.Errorf("element of %q: %w", storage, err)
			}
			return CollectionOf(coll, inner), nil
		}
	}
	return nil, fmt.Errorf("storage class %q: unknown", storage)
}

// namePrefixed marks X computed where the block also has X_prefix (name and name_prefix,
// node_group_name and node_group_name_prefix): hashicorp/aws generates X from the prefix,
// or entirely, when X is not set.
func namePrefixed(b *Block) {
	for n, a := range b.Attributes {
		if base, ok := strings.CutSuffix(n, "_prefix"); ok {
			if x := b.Attributes[base]; x != nil && x.Optional && a.Optional {
				x.Computed = true
			}
		}
	}
}

// noDynamicInSets makes a set of blocks holding an attribute of unknown type ("any":
// cdktf's generator gives up on the deepest schemas, such as aws_wafv2_rule_group's
// statement) a list: a set's elements need a known type, and Terraform refuses such a
// schema. It reports whether b holds one.
func noDynamicInSets(b *Block) bool {
	dynamic := false
	for _, a := range b.Attributes {
		if a.Type.hasDynamic() {
			dynamic = true
		}
	}
	for _, nb := range b.Blocks {
		if noDynamicInSets(nb.Block) {
			dynamic = true
			if nb.Nesting == NestingSet {
				nb.Nesting = NestingList
			}
		}
	}
	return dynamic
}

func (t *Type) hasDynamic() bool {
	switch t.Kind {
	case Dynamic:
		return true
	case List, Set, Map:
		return t.Elem.hasDynamic()
	case Object:
		for _, a := range t.Attrs {
			if a.hasDynamic() {
				return true
			}
		}
	}
	return false
}
