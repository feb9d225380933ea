package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Results. Only KILLED passes; every other result fails `make mutate`.
const (
	// Killed: a test failed (or the test binary did, e.g. at its -timeout).
	Killed = "KILLED"
	// Survived: every test passed with the mutation in place.
	Survived = "SURVIVED"
	// Stale: the list no longer matches the code: the find snippet does not occur
	// exactly once, or run matches no test of a package.
	Stale = "STALE"
	// Invalid: the mutated code does not compile, so it tells nothing.
	Invalid = "INVALID"
	// Error: go test gave no verdict: it could not start, or outlived its deadline.
	Error = "ERROR"
)

// testRun is one go test invocation.
type testRun struct {
	root     string
	packages []string
	run      string
	timeout  time.Duration
	overlay  string // the overlay JSON file, or "" for the code as it is
	env      []string
	log      io.Writer
}

// verdict is what a go test invocation said.
type verdict struct {
	failed     []string // top-level tests that failed, in order
	timedOut   string   // the test running when the binary's -timeout fired
	buildError string   // the first compile error, when a test binary did not build
	packages   map[string]*pkgResult
	goError    string        // go test's own complaint when no package got a verdict
	longest    convergedWait // the longest wait that succeeded (testenv.ConvergedPrefix)
}

// convergedWait is a test's wait that succeeded, as testenv logs it under
// CAPT_WAIT_TIMEOUT.
type convergedWait struct {
	seconds float64
	test    string
	what    string
}

// convergedLine is testenv.ConvergedPrefix's line (the tool does not import the tests'
// package: it must build without them).
var convergedLine = regexp.MustCompile(`testenv: converged after ([0-9.]+)s: (.*)`)

type pkgResult struct {
	action string // pass, fail or skip
	tests  int    // top-level tests that ran
}

// event is a line of go test -json (cmd/test2json).
type event struct {
	Action      string
	Package     string
	ImportPath  string
	Test        string
	Output      string
	FailedBuild string
}

// graceAfterTimeout is how much longer than its -timeout go test may take in all, for
// compiling and linking on a loaded machine, before it is stopped.
const graceAfterTimeout = 10 * time.Minute

// goTest runs go test -json and reads its verdict. ctx ending stops it.
func goTest(ctx context.Context, r testRun) (verdict, error) {
	args := append([]string{"test", "-json", "-count=1", "-vet=off", "-timeout", r.timeout.String()}, buildFlags...)
	if r.overlay != "" {
		args = append(args, "-overlay", r.overlay)
	}
	if r.run != "" {
		args = append(args, "-run", r.run)
	}
	args = append(args, r.packages...)
	stdout, stderr, runErr, err := runCommand(ctx, r.root, r.env, r.log, r.timeout+graceAfterTimeout, "go", args...)
	if err != nil {
		return verdict{}, err
	}
	v := parseEvents(bytes.NewReader(stdout), r.root)
	if len(v.packages) == 0 && v.buildError == "" && v.goError == "" {
		v.goError = firstLine(string(stderr))
		if v.goError == "" && runErr != nil {
			v.goError = runErr.Error()
		}
	}
	return v, nil
}

// graceAfterBinaryTimeout is how much longer than its -test.timeout a test binary may
// take in all (its TestMain stopping the API server) before it is stopped.
const graceAfterBinaryTimeout = 2 * time.Minute

// binaryRun is one run of a test binary built in advance (a package's schemata).
type binaryRun struct {
	testRun
	binaries map[string]string // package (as the list names it) → its test binary
}

// runBinaries runs each package's test binary through test2json, in the package's
// directory as go test does, and reads their verdict as goTest's.
func runBinaries(ctx context.Context, r binaryRun) (verdict, error) {
	var all bytes.Buffer
	var exits []string
	for _, pkg := range r.packages {
		bin, ok := r.binaries[pkg]
		if !ok {
			return verdict{goError: "no test binary for " + pkg + " (no test files?)"}, nil
		}
		args := []string{"tool", "test2json", "-p", pkg, "-t", bin, "-test.v=test2json", "-test.count=1", "-test.timeout", r.timeout.String()}
		if r.run != "" {
			args = append(args, "-test.run", r.run)
		}
		stdout, stderr, runErr, err := runCommand(ctx, filepath.Join(r.root, filepath.FromSlash(pkg)), r.env, r.log, r.timeout+graceAfterBinaryTimeout, "go", args...)
		if err != nil {
			return verdict{}, err
		}
		all.Write(stdout)
		v := parseEvents(bytes.NewReader(stdout), r.root)
		if v.packages[pkg] == nil {
			// A test binary that dies (a panic, its -test.timeout) prints no final
			// PASS or FAIL: go test would add the package's FAIL, so does this.
			if runErr == nil {
				return verdict{goError: pkg + ": the test binary gave no verdict: " + firstLine(string(stderr))}, nil
			}
			exits = append(exits, fmt.Sprintf(`{"Action":"fail","Package":%q}`, pkg))
		}
	}
	for _, e := range exits {
		all.WriteString(e + "\n")
	}
	return parseEvents(&all, r.root), nil
}

// runCommand runs name with args in dir, in a process group of its own, and returns
// what it printed and how it exited (runErr); err is set only when ctx ended or the
// command outlived limit.
func runCommand(ctx context.Context, dir string, env []string, log io.Writer, limit time.Duration, name string, args ...string) (stdout, stderr []byte, runErr, err error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...) //nolint:gosec // go test or a test binary, with the list's packages and regex
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout = io.MultiWriter(&out, log)
	cmd.Stderr = io.MultiWriter(&errOut, log)
	ownProcessGroup(cmd)
	// A process the test binary started and left running may hold the output pipes.
	cmd.WaitDelay = 30 * time.Second
	fmt.Fprintf(log, "$ (cd %s && %s %s)\n", dir, name, strings.Join(args, " "))
	if done, err := startCommand(cmd); err != nil {
		runErr = err
	} else {
		runErr = cmd.Wait()
		done()
	}
	group := 0
	if cmd.Process != nil {
		group = cmd.Process.Pid // the group's leader: see ownProcessGroup
	}
	reapOrphans(log, group)
	if ctx.Err() != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, nil, nil, fmt.Errorf("%s did not finish within %s", name, limit)
		}
		return nil, nil, nil, ctx.Err()
	}
	return out.Bytes(), errOut.Bytes(), runErr, nil
}

// parseEvents reads go test -json's events.
func parseEvents(r io.Reader, root string) verdict {
	v := verdict{packages: map[string]*pkgResult{}}
	buildOutput := map[string][]string{} // by the ImportPath of the build
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
	for sc.Scan() {
		var e event
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			continue
		}
		top, _, _ := strings.Cut(e.Test, "/")
		pkg := v.packages[e.Package]
		if pkg == nil && e.Package != "" {
			pkg = &pkgResult{}
			v.packages[e.Package] = pkg
		}
		switch {
		case e.Action == "build-output":
			buildOutput[e.ImportPath] = append(buildOutput[e.ImportPath], e.Output)
		case e.Action == "build-fail" || e.FailedBuild != "":
			// A compiler message makes the mutation invalid; anything else (a package
			// that does not exist, a broken go.mod) is go test failing to set up.
			build := e.ImportPath
			if e.FailedBuild != "" {
				build = e.FailedBuild
			}
			if msg, ok := compileError(buildOutput[build], root); ok && v.buildError == "" {
				v.buildError = msg
			} else if !ok && v.goError == "" {
				v.goError = msg
			}
		case e.Action == "run" && e.Test != "" && e.Test == top:
			pkg.tests++
		case e.Action == "fail" && e.Test != "":
			if !slices.Contains(v.failed, top) {
				v.failed = append(v.failed, top)
			}
		case e.Action == "output" && convergedLine.MatchString(e.Output):
			m := convergedLine.FindStringSubmatch(e.Output)
			if sec, err := strconv.ParseFloat(m[1], 64); err == nil && sec > v.longest.seconds {
				v.longest = convergedWait{seconds: sec, test: e.Test, what: strings.TrimSpace(m[2])}
			}
		case e.Action == "output" && strings.HasPrefix(e.Output, "panic: test timed out after"):
			v.timedOut = top
			if v.timedOut == "" {
				v.timedOut = "?"
			}
		case e.Test == "" && (e.Action == "pass" || e.Action == "fail" || e.Action == "skip"):
			pkg.action = e.Action
		}
	}
	// Packages that only appeared in build events carry no verdict.
	for name, p := range v.packages {
		if p.action == "" {
			delete(v.packages, name)
		}
	}
	return v
}

// compilerMessage is a compiler's "file.go:line:col: message".
var compilerMessage = regexp.MustCompile(`\.go:\d+:\d+: `)

// compileError picks the first compiler message from a build's output, or, when there
// is none, reports false with the first line of the output.
func compileError(lines []string, root string) (string, bool) {
	first := ""
	for _, l := range lines {
		l = strings.ReplaceAll(strings.TrimSpace(l), root+string(filepath.Separator), "")
		switch {
		case l == "" || strings.HasPrefix(l, "#"):
		case compilerMessage.MatchString(l):
			return l, true
		case first == "":
			first = l
		}
	}
	if first == "" {
		first = "build failed"
	}
	return first, false
}

// classify turns a mutation's verdict into a result and a detail.
func classify(v verdict) (result, detail string) {
	if v.buildError != "" {
		return Invalid, "does not compile: " + v.buildError
	}
	if v.goError != "" || len(v.packages) == 0 {
		return Error, "go test: " + v.goError
	}
	var failedPkgs, empty []string
	for name, p := range v.packages {
		if p.action == "fail" {
			failedPkgs = append(failedPkgs, name)
		}
		if p.action == "pass" && p.tests == 0 {
			empty = append(empty, name)
		}
	}
	slices.Sort(empty)
	switch {
	case len(failedPkgs) > 0 && v.timedOut != "":
		detail = "test binary timed out in " + v.timedOut
		if others := slices.DeleteFunc(slices.Clone(v.failed), func(t string) bool { return t == v.timedOut }); len(others) > 0 {
			detail = "by " + strings.Join(others, ", ") + "; " + detail
		}
		return Killed, detail
	case len(failedPkgs) > 0 && len(v.failed) == 0:
		slices.Sort(failedPkgs)
		return Killed, "package failed outside any test (TestMain?): " + strings.Join(failedPkgs, ", ")
	case len(failedPkgs) > 0:
		return Killed, "by " + strings.Join(v.failed, ", ")
	case len(empty) > 0:
		return Stale, "run matches no test in " + strings.Join(empty, ", ")
	}
	return Survived, ""
}

// writeOverlay writes the mutated file and the overlay JSON that puts it in place of the
// original for the go command, in dir; it returns the overlay's path.
func writeOverlay(dir, original, mutated string) (string, error) {
	replacement := filepath.Join(dir, filepath.Base(original))
	if err := os.WriteFile(replacement, []byte(mutated), 0o600); err != nil { //nolint:gosec // in our own temporary directory
		return "", err
	}
	overlay, err := json.Marshal(map[string]any{"Replace": map[string]string{original: replacement}})
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "overlay.json")
	return path, os.WriteFile(path, overlay, 0o600)
}

func firstLine(s string) string {
	for l := range strings.SplitSeq(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return ""
}
