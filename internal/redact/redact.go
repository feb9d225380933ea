// Package redact keeps secret values out of the messages CAPT writes into conditions,
// events and logs. Terraform errors can quote a variable's value; CAPT mirrors them only
// after every known value is masked.
package redact

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
)

// MinLength is the shortest value masked. Shorter values ("1", "us", "true") occur in
// ordinary text too often to mask without destroying it.
const MinLength = 4

// MaxMessageLength bounds a mirrored message, in bytes.
const MaxMessageLength = 1024

// Mask is what a masked value is replaced by.
const Mask = "[redacted]"

// Redactor masks a fixed set of values.
type Redactor struct {
	values []string
	public []string
}

// New returns a Redactor of the given values; short and duplicate values are ignored.
// A value that is a JSON object or list (a map or list variable, such as tags) also masks
// every string inside it: Terraform's messages quote the elements, not the text. Keys
// stay readable: they are names ("name", "version"), and masking them would mask them
// everywhere in the message.
func New(values ...string) *Redactor {
	seen := map[string]bool{}
	r := &Redactor{}
	add := func(v string) {
		if len(v) < MinLength || seen[v] {
			return
		}
		seen[v] = true
		r.values = append(r.values, v)
	}
	for _, v := range values {
		add(v)
		for _, inner := range jsonStrings(v) {
			add(inner)
		}
	}
	// Longest first, so a value that contains another is masked whole.
	sort.Slice(r.values, func(i, j int) bool { return len(r.values[i]) > len(r.values[j]) })
	return r
}

// jsonStrings returns the strings inside a JSON object or list, at any depth;
// nothing for any other value.
func jsonStrings(v string) []string {
	t := strings.TrimSpace(v)
	if !strings.HasPrefix(t, "{") && !strings.HasPrefix(t, "[") {
		return nil
	}
	var doc any
	if err := json.Unmarshal([]byte(t), &doc); err != nil {
		return nil
	}
	var out []string
	var walk func(any)
	walk = func(x any) {
		switch x := x.(type) {
		case string:
			out = append(out, x)
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(doc)
	return out
}

// Keep returns the Redactor with names that stay readable even when a value occurs in
// them: object names a message must be able to name (a Workspace called
// "team-demo-1a2b" stays whole although the variable "demo" is masked elsewhere).
func (r *Redactor) Keep(public ...string) *Redactor {
	out := &Redactor{values: r.values, public: append(slices.Clone(r.public), public...)}
	sort.Slice(out.public, func(i, j int) bool { return len(out.public[i]) > len(out.public[j]) })
	return out
}

// Message masks every value in msg, outside the kept names, and bounds its length.
func (r *Redactor) Message(msg string) string {
	if r != nil {
		msg = r.mask(msg, r.public)
	}
	return Truncate(msg, MaxMessageLength)
}

// mask masks values in the parts of msg between occurrences of the kept names.
func (r *Redactor) mask(msg string, public []string) string {
	for i, p := range public {
		if p == "" || !strings.Contains(msg, p) {
			continue
		}
		parts := strings.Split(msg, p)
		for j := range parts {
			parts[j] = r.mask(parts[j], public[i+1:])
		}
		return strings.Join(parts, p)
	}
	for _, v := range r.values {
		msg = strings.ReplaceAll(msg, v, Mask)
	}
	return msg
}

// Truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const ellipsis = "…"
	cut := n - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}
