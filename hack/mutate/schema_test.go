package main

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestSchemataRunWhatTheOverlaysRun checks the schemata of every mutation of
// mutations.txt against the overlay of each: in every function of a schemata file, the
// block switched on a mutation's id holds exactly the statements of that function in
// the file the mutation's overlay gives, and what follows the blocks (what runs with the
// switch off) exactly the statements of the checkout's function; functions without
// mutations are unchanged. make mutate trusts a killed mutation only because of this.
func TestSchemataRunWhatTheOverlaysRun(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	mutations, err := load(filepath.Join(root, "hack", "mutate", "mutations.txt"))
	if err != nil {
		t.Fatal(err)
	}
	read := func(path string) (string, error) {
		b, err := os.ReadFile(path)
		return string(b), err
	}
	checked := 0
	for _, g := range groupByPackages(mutations) {
		s, own, err := buildSchema(root, g.mutations, read)
		if err != nil {
			t.Fatal(err)
		}
		for m, why := range own {
			t.Logf("%s keeps an overlay of its own: %s", m.ID, why)
		}
		byID := map[string]*mutation{}
		for _, m := range s.switched {
			byID[m.ID] = m
		}
		for path, content := range s.files {
			if filepath.Base(path) == switchFileName {
				if !strings.Contains(content, "var "+mutantSwitch+" = os.Getenv(\""+mutantEnv+"\")") {
					t.Errorf("%s: the switch is not read from %s:\n%s", path, mutantEnv, content)
				}
				continue
			}
			original, err := read(path)
			if err != nil {
				t.Fatal(err)
			}
			checked += compareSchemata(t, path, original, content, byID)
		}
	}
	if checked == 0 {
		t.Fatal("no mutation was checked")
	}
	t.Logf("%d switched mutations run what their overlays run", checked)
}

// compareSchemata checks one schemata file against the original and the overlay of each
// mutation it holds; it returns how many mutations it checked.
func compareSchemata(t *testing.T, path, original, schemata string, byID map[string]*mutation) int {
	t.Helper()
	fset := token.NewFileSet()
	orig := parseFuncs(t, fset, path, original)
	got := parseFuncs(t, fset, path, schemata)
	if len(orig) != len(got) {
		t.Fatalf("%s: %d functions, the schemata %d", path, len(orig), len(got))
	}
	checked := 0
	for name, fn := range got {
		stmts := fn.Body.List
		for len(stmts) > 0 {
			id, block, ok := switchBlock(stmts[0])
			if !ok {
				break
			}
			stmts = stmts[1:]
			m := byID[id]
			if m == nil {
				t.Errorf("%s %s: a block switched on %q, which is no mutation of this binary", path, name, id)
				continue
			}
			mutated, err := m.apply(original)
			if err != nil {
				t.Fatal(err)
			}
			want := parseFuncs(t, fset, path, mutated)[name]
			list := block.List
			if noResults(fn) && len(list) > 0 {
				if r, ok := list[len(list)-1].(*ast.ReturnStmt); ok && len(r.Results) == 0 {
					list = list[:len(list)-1]
				}
			}
			if a, b := printStmts(t, fset, list), printStmts(t, fset, want.Body.List); a != b {
				t.Errorf("%s %s: the block of %s is not the function of its overlay:\n--- block\n%s\n--- overlay\n%s", path, name, id, a, b)
			}
			checked++
		}
		if a, b := printStmts(t, fset, stmts), printStmts(t, fset, orig[name].Body.List); a != b {
			t.Errorf("%s %s: with the switch off the schemata run other code:\n--- schemata\n%s\n--- checkout\n%s", path, name, a, b)
		}
	}
	return checked
}

// switchBlock recognises `if captMutant__ == "<id>" { ... }`.
func switchBlock(s ast.Stmt) (id string, block *ast.BlockStmt, ok bool) {
	is, isIf := s.(*ast.IfStmt)
	if !isIf || is.Init != nil || is.Else != nil {
		return "", nil, false
	}
	cond, isBin := is.Cond.(*ast.BinaryExpr)
	if !isBin || cond.Op != token.EQL {
		return "", nil, false
	}
	x, isIdent := cond.X.(*ast.Ident)
	lit, isLit := cond.Y.(*ast.BasicLit)
	if !isIdent || x.Name != mutantSwitch || !isLit || lit.Kind != token.STRING {
		return "", nil, false
	}
	id, err := strconv.Unquote(lit.Value)
	return id, is.Body, err == nil
}

// parseFuncs parses src and returns its function declarations by name (methods by
// receiver type and name).
func parseFuncs(t *testing.T, fset *token.FileSet, path, src string) map[string]*ast.FuncDecl {
	t.Helper()
	f, err := parser.ParseFile(fset, path, src, parser.SkipObjectResolution)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	funcs := map[string]*ast.FuncDecl{}
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Body == nil {
			continue
		}
		name := fd.Name.Name
		if fd.Recv != nil && len(fd.Recv.List) > 0 {
			var b bytes.Buffer
			_ = printer.Fprint(&b, fset, fd.Recv.List[0].Type)
			name = b.String() + "." + name
		}
		if name == "init" || name == "_" {
			name += "#" + strconv.Itoa(len(funcs))
		}
		funcs[name] = fd
	}
	return funcs
}

func noResults(fn *ast.FuncDecl) bool {
	return fn.Type.Results == nil || len(fn.Type.Results.List) == 0
}

func printStmts(t *testing.T, fset *token.FileSet, stmts []ast.Stmt) string {
	t.Helper()
	var b strings.Builder
	for _, s := range stmts {
		var one bytes.Buffer
		if err := printer.Fprint(&one, fset, s); err != nil {
			t.Fatal(err)
		}
		b.WriteString(one.String() + "\n")
	}
	return b.String()
}

// TestSwitchFileKeepsWhatItCannotSwitch: a mutation outside any function body, or in a
// function with a label (Go's labels are function-scoped: the copy would declare it
// twice), keeps an overlay of its own; a function without results returns at the end of
// its block; a find snippet that reaches past the closing brace is switched when the
// change lies inside.
func TestSwitchFileKeepsWhatItCannotSwitch(t *testing.T) {
	const src = `package p

var limit = 3

func labelled() {
outer:
	for {
		break outer
	}
}

func plain(x int) {
	println(x)
}

func result() int {
	return 1
}

// next
`
	ms := []*mutation{
		{ID: "decl", Find: "var limit = 3", Replace: "var limit = 4"},
		{ID: "label", Find: "break outer", Replace: "break outer // x"},
		{ID: "plain", Find: "println(x)", Replace: "println(x + 1)"},
		{ID: "result", Find: "return 1\n}\n\n// next", Replace: "return 2\n}\n\n// next"},
	}
	out, pkg, switched, own := switchFile("/p/p.go", src, ms)
	if pkg != "p" {
		t.Errorf("package %q", pkg)
	}
	if len(own) != 2 || own[ms[0]] == "" || own[ms[1]] == "" {
		t.Errorf("own = %v, want decl and label", own)
	}
	if len(switched) != 2 || switched[0].ID != "plain" || switched[1].ID != "result" {
		t.Errorf("switched = %v", switched)
	}
	for _, want := range []string{
		"if captMutant__ == \"plain\" {\n\tprintln(x + 1)\n\n\treturn\n\t}",
		"if captMutant__ == \"result\" {\n\treturn 2\n\n\t}",
		"//line /p/p.go:12\n\n\tprintln(x)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("schemata lack %q:\n%s", want, out)
		}
	}
	if _, err := parser.ParseFile(token.NewFileSet(), "", out, 0); err != nil {
		t.Errorf("schemata do not parse: %v\n%s", err, out)
	}
}
