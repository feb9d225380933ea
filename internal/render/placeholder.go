// Package render turns a WorkspaceTemplate and a WorkspaceTemplateApply's variables into
// the Workspace CAPT applies. Everything here is a pure function.
//
// Variables reach Terraform as data: every WorkspaceTemplateApply variable becomes an
// entry of the Workspace's `varmap`, which provider-terraform writes to a variables file. `${NAME}` placeholders are substituted only inside string
// values of the rendered object (var values, varmap strings, env values, the connection
// secret reference, label and annotation values), never into the module's text, where
// `${...}` belongs to Terraform. `$${` stands for a literal `${`. A placeholder that names
// no variable is an error, not an empty string.
package render

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

var placeholderName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// FieldError says which field of the template cannot be rendered and why. It names the
// field and the placeholder, never a variable's value: its text goes into conditions.
type FieldError struct {
	Field       string
	Placeholder string
	Reason      string
}

func (e *FieldError) Error() string {
	field := e.Field
	if len(field) > maxField {
		// A path through deeply nested varmap objects: its start says where.
		i := maxField
		for i > 0 && !utf8.RuneStart(field[i]) {
			i--
		}
		field = field[:i] + "..."
	}
	if e.Placeholder == "" {
		return fmt.Sprintf("%s %s", field, e.Reason)
	}
	return fmt.Sprintf("%s: placeholder ${%s} %s", field, printable(e.Placeholder), e.Reason)
}

// maxPrintable bounds a map key or placeholder name in a FieldError: a template's own
// text, but one that can be megabytes long or carry control characters. maxField
// bounds the whole field path.
const (
	maxPrintable = 64
	maxField     = 512
)

// printable returns s for a message: as is when short and printable, else quoted and
// cut, with its length.
func printable(s string) string {
	if len(s) <= maxPrintable && !strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) || r == utf8.RuneError }) {
		return s
	}
	if len(s) <= maxPrintable {
		return strconv.Quote(s)
	}
	return fmt.Sprintf("%s... (%d bytes)", strconv.Quote(s[:maxPrintable]), len(s))
}

// lookup resolves a placeholder name.
type lookup func(name string) (string, bool)

// fromMap resolves placeholders from a WorkspaceTemplateApply's variables.
func fromMap(vars map[string]string) lookup {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

// anyName resolves every well-formed placeholder, to validate a template on its own.
func anyName(string) (string, bool) { return "x", true }

// substitute replaces ${NAME} in s with vars[NAME]. The result is a plain string: the
// caller stores it in a structured object, whose encoder escapes it for its format.
func substitute(s, field string, vars lookup) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "$${"):
			b.WriteString("${")
			i += 3
		case strings.HasPrefix(s[i:], "${"):
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return "", &FieldError{Field: field, Reason: "has an unterminated ${ (write $${ for a literal ${)"}
			}
			name := s[i+2 : i+2+end]
			if !placeholderName.MatchString(name) {
				return "", &FieldError{Field: field, Reason: fmt.Sprintf("has a placeholder that is not a variable name (%d characters; write $${ for a literal ${)", len(name))}
			}
			value, ok := vars(name)
			if !ok {
				return "", &FieldError{Field: field, Placeholder: name, Reason: "names no variable of the WorkspaceTemplateApply"}
			}
			b.WriteString(value)
			i += 2 + end + 1
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String(), nil
}

// substituteAny walks a decoded JSON value and substitutes every string in it. The
// field path of a string is built only for an error: a deeply nested value must not
// cost a path per level.
func substituteAny(v any, field string, vars lookup) (any, error) {
	return substituteTree(v, []string{field}, vars)
}

func substituteTree(v any, path []string, vars lookup) (any, error) {
	switch t := v.(type) {
	case string:
		s, err := substitute(t, "", vars)
		var fe *FieldError
		if errors.As(err, &fe) {
			fe.Field = strings.Join(path, "")
		}
		return s, err
	case map[string]any:
		out := make(map[string]any, len(t))
		// In key order: of two errors, every pass reports the same one.
		for _, k := range slices.Sorted(maps.Keys(t)) {
			r, err := substituteTree(t[k], append(path, "."+printable(k)), vars)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			r, err := substituteTree(e, append(path, "["+strconv.Itoa(i)+"]"), vars)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	default:
		return v, nil
	}
}
