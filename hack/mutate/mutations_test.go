package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/capt-dev/capt/internal/testenv"
)

func TestParseMutations(t *testing.T) {
	const list = `# a comment

=== first
promise: CAPTEP-0041 step 3: wait for the Workspace
file: internal/a.go
packages: ./internal/a/ ./internal/b/
run: ^TestA$
timeout: 2m
--- find
	if x {
		return
--- replace
	if false {
		return

# a comment between two mutations, after a replace text

=== second
# a comment in the header
promise: p
file: b.go
packages: ./b/
--- find
# not a comment: find text is verbatim
--- replace
`
	// An indented '#' line is text; one at the start of a line, at the end, is a comment.
	const third = "=== third\npromise: p\nfile: f\npackages: ./p/\n--- find\nx\n--- replace\ny\n  # kept\n# dropped\n"
	if m, err := parseMutations(strings.NewReader(third)); err != nil || len(m) != 1 || m[0].Replace != "y\n  # kept" {
		t.Errorf("third: %+v, %v", m, err)
	}
	got, err := parseMutations(strings.NewReader(list))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d mutations, want 2", len(got))
	}
	first := got[0]
	if first.ID != "first" || first.Promise != "CAPTEP-0041 step 3: wait for the Workspace" || first.File != "internal/a.go" ||
		strings.Join(first.Packages, ",") != "./internal/a/,./internal/b/" || first.Run != "^TestA$" || first.Timeout != 2*time.Minute || first.Line != 3 {
		t.Errorf("first = %+v", first)
	}
	if first.Find != "\tif x {\n\t\treturn" || first.Replace != "\tif false {\n\t\treturn" {
		t.Errorf("first find %q replace %q", first.Find, first.Replace)
	}
	if second := got[1]; second.Find != "# not a comment: find text is verbatim" || second.Replace != "" {
		t.Errorf("second find %q replace %q", second.Find, second.Replace)
	}
}

func TestParseMutationsRefuses(t *testing.T) {
	const ok = "promise: p\nfile: f.go\npackages: ./p/\n--- find\nx\n--- replace\ny\n"
	for name, list := range map[string]string{
		"text before the first mutation": "promise: p\n=== a\n" + ok,
		"bad id":                         "=== A b\n" + ok,
		"duplicate id":                   "=== a\n" + ok + "=== a\n" + ok,
		"unknown key":                    "=== a\nowner: me\n" + ok,
		"bad run":                        "=== a\nrun: (\n" + ok,
		"bad timeout":                    "=== a\ntimeout: soon\n" + ok,
		"no promise":                     "=== a\nfile: f.go\npackages: ./p/\n--- find\nx\n--- replace\ny\n",
		"no find":                        "=== a\npromise: p\nfile: f.go\npackages: ./p/\n",
		"empty find":                     "=== a\npromise: p\nfile: f.go\npackages: ./p/\n--- find\n\n--- replace\ny\n",
		"replace same as find":           "=== a\npromise: p\nfile: f.go\npackages: ./p/\n--- find\nx\n--- replace\nx\n",
	} {
		if _, err := parseMutations(strings.NewReader(list)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestApplyWantsExactlyOneMatch(t *testing.T) {
	m := mutation{File: "f.go", Find: "a := 1", Replace: "a := 2"}
	if got, err := m.apply("x\na := 1\ny"); err != nil || got != "x\na := 2\ny" {
		t.Errorf("apply = %q, %v", got, err)
	}
	for _, content := range []string{"b := 1", "a := 1\na := 1"} {
		if _, err := m.apply(content); err == nil {
			t.Errorf("apply(%q): no error", content)
		}
	}
}

func TestClassify(t *testing.T) {
	pass := func(tests int) *pkgResult { return &pkgResult{action: "pass", tests: tests} }
	for _, tc := range []struct {
		name   string
		v      verdict
		result string
	}{
		{"tests pass", verdict{packages: map[string]*pkgResult{"a": pass(3)}}, Survived},
		{"a test fails", verdict{failed: []string{"TestA"}, packages: map[string]*pkgResult{"a": {action: "fail", tests: 3}, "b": pass(1)}}, Killed},
		{"timeout", verdict{timedOut: "TestA", packages: map[string]*pkgResult{"a": {action: "fail", tests: 1}}}, Killed},
		{"TestMain fails", verdict{packages: map[string]*pkgResult{"a": {action: "fail"}}}, Killed},
		{"does not compile", verdict{buildError: "x.go:1: undefined: y", packages: map[string]*pkgResult{}}, Invalid},
		{"run matches nothing", verdict{packages: map[string]*pkgResult{"a": pass(2), "b": pass(0)}}, Stale},
		{"no verdict", verdict{goError: "no Go files", packages: map[string]*pkgResult{}}, Error},
		{"one package not set up", verdict{goError: "directory not found", packages: map[string]*pkgResult{"a": pass(1)}}, Error},
	} {
		if got, detail := classify(tc.v); got != tc.result {
			t.Errorf("%s: %s (%s), want %s", tc.name, got, detail, tc.result)
		}
	}
}

func TestParseEvents(t *testing.T) {
	const events = `{"ImportPath":"p/a [p/a.test]","Action":"build-output","Output":"# p/a [p/a.test]\n"}
{"ImportPath":"p/a [p/a.test]","Action":"build-output","Output":"/repo/a/a.go:2:23: undefined: x\n"}
{"ImportPath":"./nosuch","Action":"build-output","Output":"stat /repo/nosuch: directory not found\n"}
{"ImportPath":"./nosuch","Action":"build-fail"}
{"ImportPath":"p/a [p/a.test]","Action":"build-fail"}
{"Action":"fail","Package":"p/a","FailedBuild":"p/a [p/a.test]"}
{"Action":"run","Package":"p/b","Test":"TestB"}
{"Action":"run","Package":"p/b","Test":"TestB/sub"}
{"Action":"fail","Package":"p/b","Test":"TestB/sub"}
{"Action":"fail","Package":"p/b","Test":"TestB"}
{"Action":"output","Package":"p/b","Test":"TestC","Output":"panic: test timed out after 2s\n"}
{"Action":"fail","Package":"p/b"}
`
	v := parseEvents(strings.NewReader(events), "/repo")
	if v.buildError != "a/a.go:2:23: undefined: x" || v.goError != "stat nosuch: directory not found" {
		t.Errorf("buildError %q, goError %q", v.buildError, v.goError)
	}
	if strings.Join(v.failed, ",") != "TestB" || v.timedOut != "TestC" {
		t.Errorf("failed %v, timed out %q", v.failed, v.timedOut)
	}
	if b := v.packages["p/b"]; b == nil || b.action != "fail" || b.tests != 1 {
		t.Errorf("p/b %+v", b)
	}
}

// TestTheListParses reads the checked-in list; whether each mutation still applies and
// is killed is make mutate's job.
func TestTheListParses(t *testing.T) {
	f, err := os.Open("mutations.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	list, err := parseMutations(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) == 0 {
		t.Fatal("no mutations")
	}
}

// TestLongestWait reads the waits testenv logs (its own format, from its own prefix)
// and keeps the longest: the margin make mutate reports against -wait.
func TestLongestWait(t *testing.T) {
	line := func(test string, sec float64, what string) string {
		out := fmt.Sprintf("    x_test.go:12: %s %.2fs: %s\n", testenv.ConvergedPrefix, sec, what)
		b, err := json.Marshal(event{Action: "output", Package: "p/a", Test: test, Output: out})
		if err != nil {
			t.Fatal(err)
		}
		return string(b) + "\n"
	}
	events := line("TestA", 1.5, "a is ready") + line("TestB", 7.25, "b is gone") + line("TestA", 2, "a again") +
		`{"Action":"pass","Package":"p/a"}` + "\n"
	v := parseEvents(strings.NewReader(events), "/repo")
	if v.longest != (convergedWait{seconds: 7.25, test: "TestB", what: "b is gone"}) {
		t.Errorf("longest %+v, want TestB's 7.25s", v.longest)
	}
}
