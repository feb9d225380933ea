package tfmodule

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestReadAndCheck(t *testing.T) {
	dir := t.TempDir()
	src := `
variable "a" { type = string }
variable "b" {
  type    = bool
  default = true
}
output "x" { value = var.a }
resource "null_resource" "n" {}
`
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Variables["a"] || m.Variables["b"] || !m.Outputs["x"] || len(m.Outputs) != 1 {
		t.Fatalf("read %+v", m)
	}
	for _, tc := range []struct {
		passed []string
		read   [][]string
		want   string
	}{
		{[]string{"a"}, [][]string{{"y", "x"}}, ""},
		{[]string{"a", "b"}, nil, ""},
		{nil, nil, "variable a is required but not passed"},
		{[]string{"a", "c"}, nil, "variable c is passed but not declared"},
		{[]string{"a"}, [][]string{{"y"}}, "none of the outputs [y] is declared"},
	} {
		err := m.Check(tc.passed, tc.read...)
		if (tc.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Check(%v, %v) = %v, want %q", tc.passed, tc.read, err, tc.want)
		}
	}
	if _, err := Read(t.TempDir()); err == nil {
		t.Error("an empty directory is no module")
	}
	bad := t.TempDir()
	_ = os.WriteFile(filepath.Join(bad, "main.tf"), []byte(`variable "a" {`), 0o600)
	if _, err := Read(bad); err == nil {
		t.Error("a syntax error must be reported")
	}
}

// TestParse reads a module from its text, in either syntax, as an Inline Workspace
// carries it.
func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, filename, src string
		required, optional  []string
	}{
		{"native", "main.tf", `
variable "a" {
  type = string
  validation {
    condition     = length(var.a) > 0
    error_message = "a."
  }
}
variable "b" { default = null }
variable "c" { nullable = true }
locals { x = var.a }
terraform { required_version = ">= 1.5" }
output "o" { value = local.x }
`, []string{"a", "c"}, []string{"b"}},
		{"json", "main.tf.json", `{"variable": {"a": {"type": "string"}, "b": {"default": null}}, "output": {"o": {"value": "${var.a}"}}}`,
			[]string{"a"}, []string{"b"}},
		{"empty", "main.tf", ``, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Parse(tc.filename, []byte(tc.src))
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Unset(nil); !slices.Equal(got, tc.required) {
				t.Errorf("required %v, want %v", got, tc.required)
			}
			if len(m.Variables) != len(tc.required)+len(tc.optional) {
				t.Errorf("variables %v, want %v and %v", m.Variables, tc.required, tc.optional)
			}
			if got := m.Undeclared([]string{"a", "z", "b", "z"}); len(tc.required) > 0 && !slices.Equal(got, []string{"z"}) {
				t.Errorf("undeclared %v, want [z]", got)
			}
		})
	}
	for _, bad := range []struct{ filename, src string }{
		{"main.tf", "variable \"a\" {\n  default = \"secret-canary\" x\n}\n"},
		{"main.tf.json", `{"variable": `},
		{"main.tf", `variable {}`},
	} {
		_, err := Parse(bad.filename, []byte(bad.src))
		if err == nil || !strings.HasPrefix(err.Error(), "parsing "+bad.filename+": "+bad.filename+":") {
			t.Errorf("Parse(%q) = %v, want an error with its position", bad.src, err)
		}
		if err != nil && strings.Contains(err.Error(), "secret-canary") {
			t.Errorf("the error quotes the module: %v", err)
		}
	}
}

// BenchmarkParse: what checking an Inline module costs the apply's controller on a
// cache miss (the shipped EKS module's text, about the size of a large inline module).
func BenchmarkParse(b *testing.B) {
	src, err := os.ReadFile("../../templates/aws/eks/main.tf")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("main.tf", src); err != nil {
			b.Fatal(err)
		}
	}
}
