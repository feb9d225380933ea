package tfmodule

import (
	"os"
	"path/filepath"
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
