package provider

import (
	"fmt"
	"math/big"
	"slices"

	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/capt-dev/capt/hack/tools/aws-standin/schema"
)

// obj is an object value's attributes, read once and written back with build.
type obj struct {
	typ   tftypes.Type
	attrs map[string]tftypes.Value
}

func asObj(v tftypes.Value) (*obj, error) {
	o := &obj{typ: v.Type()}
	if err := v.As(&o.attrs); err != nil {
		return nil, err
	}
	return o, nil
}

func (o *obj) build() tftypes.Value { return tftypes.NewValue(o.typ, o.attrs) }

// str is a known string attribute, or "".
func (o *obj) str(name string) string {
	v, ok := o.attrs[name]
	if !ok || !v.IsKnown() || v.IsNull() {
		return ""
	}
	var s string
	if err := v.As(&s); err != nil {
		return ""
	}
	return s
}

// num is a known whole-number attribute.
func (o *obj) num(name string) (int, bool) {
	v, ok := o.attrs[name]
	if !ok || !v.IsKnown() || v.IsNull() {
		return 0, false
	}
	var f big.Float
	if err := v.As(&f); err != nil {
		return 0, false
	}
	n, acc := f.Int64()
	if acc != big.Exact {
		return 0, false
	}
	return int(n), true
}

// strMap is a known map(string) attribute; nil when null, unknown or absent.
func (o *obj) strMap(name string) map[string]string {
	v, ok := o.attrs[name]
	if !ok || !v.IsFullyKnown() || v.IsNull() {
		return nil
	}
	var m map[string]tftypes.Value
	if err := v.As(&m); err != nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, e := range m {
		var s string
		if err := e.As(&s); err == nil {
			out[k] = s
		}
	}
	return out
}

// strList is a known list or set of strings; nil when null, unknown or absent.
func (o *obj) strList(name string) []string {
	v, ok := o.attrs[name]
	if !ok || !v.IsFullyKnown() || v.IsNull() {
		return nil
	}
	return stringsOf(v)
}

func stringsOf(v tftypes.Value) []string {
	var elems []tftypes.Value
	if err := v.As(&elems); err != nil {
		return nil
	}
	out := make([]string, 0, len(elems))
	for _, e := range elems {
		var s string
		if err := e.As(&s); err == nil {
			out = append(out, s)
		}
	}
	return out
}

// blocks are the elements of nested block name (list or set); nil when none.
func (o *obj) blocks(name string) []*obj {
	v, ok := o.attrs[name]
	if !ok || !v.IsKnown() || v.IsNull() {
		return nil
	}
	var elems []tftypes.Value
	if err := v.As(&elems); err != nil {
		return nil
	}
	out := make([]*obj, 0, len(elems))
	for _, e := range elems {
		if eo, err := asObj(e); err == nil && !e.IsNull() {
			out = append(out, eo)
		}
	}
	return out
}

func stringValue(s string) tftypes.Value { return tftypes.NewValue(tftypes.String, s) }

func stringMapValue(m map[string]string) tftypes.Value {
	vals := make(map[string]tftypes.Value, len(m))
	for k, s := range m {
		vals[k] = stringValue(s)
	}
	return tftypes.NewValue(tftypes.Map{ElementType: tftypes.String}, vals)
}

func unknown(t tftypes.Type) tftypes.Value { return tftypes.NewValue(t, tftypes.UnknownValue) }

// attrVisitor decides an attribute's value from what it is.
type attrVisitor func(path []string, name string, a *schema.Attribute, v tftypes.Value) (tftypes.Value, error)

// walk applies visit to every attribute of block b in value v, nested blocks included,
// and returns the rebuilt value. Null and unknown blocks are left as they are.
func walk(b *schema.Block, v tftypes.Value, path []string, visit attrVisitor) (tftypes.Value, error) {
	// Each step gets a path of its own: an append to path would share its array
	// between siblings.
	at := func(step string) []string { return append(slices.Clip(path), step) }
	if v.IsNull() || !v.IsKnown() {
		return v, nil
	}
	o, err := asObj(v)
	if err != nil {
		return v, fmt.Errorf("%v: %w", path, err)
	}
	for _, n := range sortedKeys(b.Attributes) {
		nv, err := visit(at(n), n, b.Attributes[n], o.attrs[n])
		if err != nil {
			return v, err
		}
		o.attrs[n] = nv
	}
	for _, n := range sortedKeys(b.Blocks) {
		nb := b.Blocks[n]
		cur := o.attrs[n]
		if nb.Nesting == schema.NestingSingle {
			nv, err := walk(nb.Block, cur, at(n), visit)
			if err != nil {
				return v, err
			}
			o.attrs[n] = nv
			continue
		}
		if cur.IsNull() || !cur.IsKnown() {
			continue
		}
		var elems []tftypes.Value
		if err := cur.As(&elems); err != nil {
			return v, fmt.Errorf("%v.%s: %w", path, n, err)
		}
		for i, e := range elems {
			ne, err := walk(nb.Block, e, at(fmt.Sprintf("%s[%d]", n, i)), visit)
			if err != nil {
				return v, err
			}
			elems[i] = ne
		}
		o.attrs[n] = tftypes.NewValue(cur.Type(), elems)
	}
	return o.build(), nil
}

// zero is a known value of type t that a computed attribute nobody plays gets: "" , 0,
// false, empty collections, objects of zeros.
func zero(t tftypes.Type) tftypes.Value {
	switch {
	case t.Is(tftypes.String):
		return stringValue("")
	case t.Is(tftypes.Number):
		return tftypes.NewValue(t, big.NewFloat(0))
	case t.Is(tftypes.Bool):
		return tftypes.NewValue(t, false)
	case t.Is(tftypes.List{}), t.Is(tftypes.Set{}):
		return tftypes.NewValue(t, []tftypes.Value{})
	case t.Is(tftypes.Map{}):
		return tftypes.NewValue(t, map[string]tftypes.Value{})
	case t.Is(tftypes.Object{}):
		ot := t.(tftypes.Object)
		attrs := make(map[string]tftypes.Value, len(ot.AttributeTypes))
		for n, at := range ot.AttributeTypes {
			attrs[n] = zero(at)
		}
		return tftypes.NewValue(t, attrs)
	default:
		return tftypes.NewValue(tftypes.String, "")
	}
}

// known replaces every unknown inside v (a value the provider planned unknown and has
// no better answer for) with zero.
func known(v tftypes.Value) (tftypes.Value, error) {
	return tftypes.Transform(v, func(_ *tftypes.AttributePath, v tftypes.Value) (tftypes.Value, error) {
		if !v.IsKnown() {
			return zero(v.Type()), nil
		}
		return v, nil
	})
}
