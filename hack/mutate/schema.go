package main

import (
	"context"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Mutant schemata (as Stryker calls them): every mutation of a test binary is compiled
// into it at once, each behind a switch read at run time, so that a package's test
// binary is built once per make mutate instead of once per mutation.
//
// A mutation lies inside the body of one top-level function (or method). That function's
// body becomes
//
//	{
//		if captMutant__ == "<id>" {
//			<the body with the mutation made>
//			return // only in a function without results
//		}
//		...one such block per mutation in this function...
//		<the body as it is>
//	}
//
// where captMutant__ is a package variable that a file added to the package initialises
// from the environment (CAPT_MUTANT). With the switch on a mutation's id the function
// runs exactly the code the overlay of that one mutation would give it; with the switch
// off (or on another id) exactly the code of the checkout. Labels are function-scoped in
// Go, so a body with a label would declare it twice: such a function, and a mutation
// outside any function body (a declaration, a signature), keeps the overlay of its own.

// mutantSwitch is the name of the package variable every block tests. The trailing
// underscores keep it out of the way of any name a package declares.
const mutantSwitch = "captMutant__"

// mutantEnv is the environment variable the switch reads.
const mutantEnv = "CAPT_MUTANT"

// switchFileName is the file added to every package with a switched mutation.
const switchFileName = "zz_capt_mutant_switch.go"

// schema is one test binary's mutations: the files the overlay replaces and adds.
type schema struct {
	// files maps a path of the checkout to the content the build sees in its place
	// (a new path adds a file to its package).
	files map[string]string
	// switched are the mutations compiled in behind the switch.
	switched []*mutation
}

// buildSchema compiles mutations (which all test the same packages) into one schema.
// The mutations that cannot be switched are returned with why, for the overlay of their
// own; content reads a file of the checkout.
func buildSchema(root string, mutations []*mutation, content func(path string) (string, error)) (schema, map[*mutation]string, error) {
	s := schema{files: map[string]string{}}
	own := map[*mutation]string{}
	byFile := map[string][]*mutation{}
	var order []string
	for _, m := range mutations {
		path := filepath.Join(root, filepath.FromSlash(m.File))
		if _, ok := byFile[path]; !ok {
			order = append(order, path)
		}
		byFile[path] = append(byFile[path], m)
	}
	for _, path := range order {
		src, err := content(path)
		if err != nil {
			return schema{}, nil, err
		}
		out, pkg, switched, reasons := switchFile(path, src, byFile[path])
		for m, why := range reasons {
			own[m] = why
		}
		if len(switched) == 0 {
			continue
		}
		s.files[path] = out
		s.files[filepath.Join(filepath.Dir(path), switchFileName)] = switchDeclFile(pkg)
		s.switched = append(s.switched, switched...)
	}
	return s, own, nil
}

// switchDeclFile is the added file that declares a package's switch.
func switchDeclFile(pkg string) string {
	return fmt.Sprintf("package %s\n\nimport \"os\"\n\n// %s is the id of the mutation this test binary runs (make mutate).\nvar %s = os.Getenv(%q)\n",
		pkg, mutantSwitch, mutantSwitch, mutantEnv)
}

// switchFile returns src (the file at path) with every mutation it can switch compiled in, the package's
// name, the mutations switched, and for the others why not.
func switchFile(path, src string, mutations []*mutation) (out, pkg string, switched []*mutation, own map[*mutation]string) {
	own = map[*mutation]string{}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, src, parser.SkipObjectResolution)
	if err != nil {
		for _, m := range mutations {
			own[m] = "the file does not parse: " + err.Error()
		}
		return src, "", nil, own
	}
	type fn struct {
		decl      *ast.FuncDecl
		lbrace    int // offsets of the body's braces
		rbrace    int
		mutations []*mutation
	}
	var fns []*fn
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Body != nil {
			fns = append(fns, &fn{decl: fd, lbrace: fset.Position(fd.Body.Lbrace).Offset, rbrace: fset.Position(fd.Body.Rbrace).Offset})
		}
	}
	for _, m := range mutations {
		if strings.Count(src, m.Find) != 1 {
			own[m] = "the find snippet does not occur exactly once"
			continue
		}
		start, end, _ := editRegion(src, m)
		i := slices.IndexFunc(fns, func(g *fn) bool { return g.lbrace < start && end <= g.rbrace })
		switch {
		case i < 0:
			own[m] = "not inside a function body"
		case hasLabel(fns[i].decl.Body):
			own[m] = "its function has a label"
		default:
			fns[i].mutations = append(fns[i].mutations, m)
			switched = append(switched, m)
		}
	}
	var b strings.Builder
	at := 0
	for _, g := range fns {
		if len(g.mutations) == 0 {
			continue
		}
		noResults := g.decl.Type.Results == nil || len(g.decl.Type.Results.List) == 0
		b.WriteString(src[at : g.lbrace+1])
		for _, m := range g.mutations {
			fmt.Fprintf(&b, "\n\tif %s == %s {", mutantSwitch, strconv.Quote(m.ID))
			start, end, edit := editRegion(src, m)
			b.WriteString(src[g.lbrace+1:start] + edit + src[end:g.rbrace])
			if noResults {
				b.WriteString("\n\treturn")
			}
			b.WriteString("\n\t}")
		}
		// The original body keeps its own lines' numbers in messages and stack traces.
		fmt.Fprintf(&b, "\n//line %s:%d\n", path, fset.Position(g.decl.Body.Lbrace).Line)
		at = g.lbrace + 1
	}
	b.WriteString(src[at:])
	return b.String(), f.Name.Name, switched, own
}

// editRegion is the part of src a mutation changes: its find snippet without the text
// it shares with the replacement at either end ([start, end) in src), and what takes
// its place. A snippet may reach past a function's closing brace to be unique while
// changing only what lies inside.
func editRegion(src string, m *mutation) (start, end int, edit string) {
	find, repl := m.Find, m.Replace
	prefix := 0
	for prefix < len(find) && prefix < len(repl) && find[prefix] == repl[prefix] {
		prefix++
	}
	suffix := 0
	for suffix < len(find)-prefix && suffix < len(repl)-prefix && find[len(find)-1-suffix] == repl[len(repl)-1-suffix] {
		suffix++
	}
	start = strings.Index(src, find) + prefix
	return start, start + len(find) - prefix - suffix, repl[prefix : len(repl)-suffix]
}

// hasLabel reports whether a function body declares a label.
func hasLabel(body *ast.BlockStmt) bool {
	found := false
	ast.Inspect(body, func(n ast.Node) bool {
		if _, ok := n.(*ast.LabeledStmt); ok {
			found = true
		}
		return !found
	})
	return found
}

// group is the mutations that test the same packages, in the list's order.
type group struct {
	packages  []string
	mutations []*mutation
}

// groupByPackages groups mutations by the packages they test, the largest group first
// (in the list's order among groups of one size): with several mutations running at a
// time, the many short runs of the small groups fill the end, instead of one long group
// running alone.
func groupByPackages(mutations []mutation) []*group {
	var groups []*group
	byKey := map[string]*group{}
	for i := range mutations {
		m := &mutations[i]
		key := strings.Join(m.Packages, " ")
		g := byKey[key]
		if g == nil {
			g = &group{packages: m.Packages}
			byKey[key] = g
			groups = append(groups, g)
		}
		g.mutations = append(g.mutations, m)
	}
	slices.SortStableFunc(groups, func(a, b *group) int { return len(b.mutations) - len(a.mutations) })
	return groups
}

// compiled is a group's schemata, built.
type compiled struct {
	binaries map[string]string    // package → test binary
	switched map[*mutation]bool   // the mutations the binaries hold behind the switch
	own      map[*mutation]string // the others, and why they get an overlay of their own
}

// buildGroup writes the group's schemata to an overlay and builds one test binary per
// package with it. When the schemata do not compile (one mutation that does not, say),
// every mutation of the group gets an overlay of its own, which tells which.
func (r *runner) buildGroup(ctx context.Context, g *group, log io.Writer) (compiled, error) {
	c := compiled{binaries: map[string]string{}, switched: map[*mutation]bool{}, own: map[*mutation]string{}}
	s, own, err := buildSchema(r.root, g.mutations, func(path string) (string, error) {
		b, err := os.ReadFile(path) //nolint:gosec // a file of this checkout, named by the list
		return string(b), err
	})
	if err != nil {
		for _, m := range g.mutations {
			c.own[m] = err.Error()
		}
		return c, nil
	}
	c.own = own
	if len(s.switched) == 0 {
		return c, nil
	}
	dir := filepath.Join(r.work, "schemata", groupDirName(g.packages))
	overlay, err := writeOverlayFiles(dir, s.files)
	if err != nil {
		return compiled{}, err
	}
	for _, pkg := range g.packages {
		bin := filepath.Join(dir, strings.ReplaceAll(strings.Trim(pkg, "./"), "/", "_")+".test")
		args := append([]string{"test", "-c", "-vet=off", "-overlay", overlay, "-o", bin}, buildFlags...)
		args = append(args, pkg)
		_, stderr, runErr, err := runCommand(ctx, r.root, r.env, log, graceAfterTimeout, "go", args...)
		if err != nil {
			return compiled{}, err
		}
		if runErr != nil {
			why := "the schemata do not build: " + firstLine(string(stderr))
			for _, m := range s.switched {
				c.own[m] = why
			}
			return compiled{binaries: map[string]string{}, switched: map[*mutation]bool{}, own: c.own}, nil
		}
		if _, err := os.Stat(bin); err == nil {
			c.binaries[pkg] = bin
		}
	}
	for _, m := range s.switched {
		c.switched[m] = true
	}
	return c, nil
}

func groupDirName(packages []string) string {
	name := strings.NewReplacer("/", "_", ".", "", " ", "+").Replace(strings.Join(packages, " "))
	return strings.Trim(name, "_")
}

// writeOverlayFiles writes files (a path of the checkout → the content the build sees)
// to dir and the overlay JSON that maps them; it returns the JSON's path.
func writeOverlayFiles(dir string, files map[string]string) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	replace := map[string]string{}
	i := 0
	for path, content := range files {
		i++
		name := filepath.Join(dir, fmt.Sprintf("%d-%s", i, filepath.Base(path)))
		if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
			return "", err
		}
		replace[path] = name
	}
	data, err := json.Marshal(map[string]any{"Replace": replace})
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "overlay.json")
	return path, os.WriteFile(path, data, 0o600)
}
