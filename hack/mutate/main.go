// Command mutate is CAPT's mutation test (make mutate): it breaks, one at a time, each
// promise listed in hack/mutate/mutations.txt (a proposal's or a doc's) and checks that a
// test notices. The source tree is never written: mutated files are handed to the go
// command through -overlay, so a mutation exists only inside the test build, and people
// editing the same checkout meanwhile see nothing of it.
//
// The mutations that test the same packages form a group. Each group's mutations are
// compiled into one test binary per package at once (mutant schemata, schema.go): the
// function a mutation lies in runs the mutated copy of its body when the binary's
// CAPT_MUTANT names that mutation, and its own body otherwise, so a package is compiled
// and linked once per run instead of once per mutation. A mutation that lies outside any
// function body (or in a function with a label) keeps an overlay and a go test of its
// own, as every mutation does with -schemata=false.
//
// For each mutation:
//
//   - the find snippet must occur exactly once in the file, else STALE (the code moved on
//     and the list must follow);
//   - its tests run, -run R of its packages, with KUBEBUILDER_ASSETS=<repo>/bin and
//     CAPT_MUTATE=1: the group's test binary through `go tool test2json`, in the package's
//     directory, with CAPT_MUTANT=<id> (or `go test -json -count=1 -vet=off -overlay=...`);
//   - a failing test, or a test binary that fails otherwise (at its -timeout too), is
//     KILLED; a mutation that does not compile is INVALID (it tells nothing: when a
//     group's schemata do not build, each of its mutations gets an overlay of its own,
//     which says which); every test passing is SURVIVED; a package in which run matches
//     no test is STALE; no verdict at all is ERROR.
//
// Mutations run -parallel at a time (4: most of a mutation's time is its tests waiting
// for an API server), each test binary with an API server of its own; a group's
// mutations run while the next group builds.
//
// Before the mutations, the same packages are tested without any (the baseline: the
// groups' test binaries with the switch off): a test that already fails would make every
// mutation look killed, so mutate stops there.
//
// It prints one line per mutation (id, result, seconds, which tests failed), then the
// kill ratio and the total time, and exits 1 unless every mutation was killed.
//
// Usage:
//
//	go run ./hack/mutate [-only REGEX] [-list] [-timeout 5m] [-baseline=false] [-parallel 4] [-schemata=false] [-mutations FILE]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	os.Exit(run())
}

func run() int {
	only := flag.String("only", "", "run only the mutations whose id matches this regex")
	list := flag.Bool("list", false, "print the mutations and whether each still applies, and exit")
	timeout := flag.Duration("timeout", 5*time.Minute, "go test -timeout of a mutation without its own")
	baseline := flag.Bool("baseline", true, "first test the packages without mutation; stop if that fails")
	parallel := flag.Int("parallel", 4, "how many mutations run at a time")
	switched := flag.Bool("schemata", true, "build each package's mutations into one test binary, each behind a switch (false: an overlay and a build per mutation)")
	file := flag.String("mutations", "hack/mutate/mutations.txt", "the list of mutations (a relative path is from the repository root)")
	wait := flag.Duration("wait", defaultWait, "the tests' deadline for a convergence (CAPT_WAIT_TIMEOUT); 0 leaves the tests' own (30s)")
	share := flag.Bool("share", true, "start one API server per mutation running at a time and let the packages that allow it reuse it (internal/testenv/shared.go) instead of each test binary starting its own")
	null := flag.Bool("null", false, "run every mutation's tests as mutate would, at the same load, but without the mutation: each must pass (the proof that -wait kills by breaking, not by slowness)")
	serveDir := flag.String("serve", "", "internal: run a shared API server in this directory until stdin closes (see servers.go)")
	flag.Parse()
	if *serveDir != "" {
		return serve(*serveDir)
	}
	if *parallel < 1 {
		return fail(fmt.Errorf("-parallel %d: want at least 1", *parallel))
	}
	if *wait < 0 {
		return fail(fmt.Errorf("-wait %s: want 0 or more", *wait))
	}

	root, err := repoRoot()
	if err != nil {
		return fail(err)
	}
	listPath := *file
	if !filepath.IsAbs(listPath) {
		listPath = filepath.Join(root, listPath)
	}
	mutations, err := load(listPath)
	if err != nil {
		return fail(err)
	}
	if *only != "" {
		re, err := regexp.Compile(*only)
		if err != nil {
			return fail(fmt.Errorf("-only: %w", err))
		}
		mutations = slices.DeleteFunc(mutations, func(m mutation) bool { return !re.MatchString(m.ID) })
		if len(mutations) == 0 {
			return fail(fmt.Errorf("-only %q matches no mutation", *only))
		}
	}
	if *list {
		printList(os.Stdout, root, mutations)
		return 0
	}

	if err := becomeSubreaper(); err != nil {
		fmt.Fprintln(os.Stderr, "mutate: warning:", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	work, err := os.MkdirTemp("", "capt-mutate-")
	if err != nil {
		return fail(err)
	}
	r := &runner{root: root, work: work, timeout: *timeout, env: testEnv(root, *wait), null: *null}

	start := time.Now()
	var servers []*server
	if *share {
		// Started while the first group builds.
		servers = startServers(work, min(*parallel, len(mutations)))
		defer func() {
			for _, s := range servers {
				s.stop()
			}
		}()
	}
	groups := groupByPackages(mutations)
	built := make([]compiled, len(groups))
	// build builds group i's schemata (or, without -schemata, nothing: each mutation
	// then gets an overlay of its own) and says so.
	build := func(i int) bool {
		if !*switched {
			return true
		}
		g := groups[i]
		c, took, err := r.build(ctx, g)
		if err != nil {
			fmt.Fprintf(os.Stderr, "mutate: building %s: %v; logs in %s\n", strings.Join(g.packages, " "), err, work)
			return false
		}
		built[i] = c
		out.printf("%-40s %-8s %6.1fs  %d of %d mutations switched in one test binary\n",
			"build "+strings.Join(g.packages, " "), "built", took.Seconds(), len(c.switched), len(g.mutations))
		for _, m := range g.mutations {
			if why, ok := c.own[m]; ok {
				out.printf("%-40s %-8s %6s   an overlay of its own: %s\n", "  "+m.ID, "", "", why)
			}
		}
		return true
	}
	// With a baseline every binary is built first: the baseline runs them with the
	// switch off. Without, a group's mutations run while the next group builds.
	var baselineTime time.Duration
	nextBuild := 0
	if *baseline {
		for ; nextBuild < len(groups); nextBuild++ {
			if !build(nextBuild) {
				return 130
			}
		}
		bstart := time.Now()
		if ok, err := r.baseline(ctx, mutations, built, groups); err != nil || !ok {
			if err != nil {
				fmt.Fprintln(os.Stderr, "mutate:", err)
			}
			fmt.Fprintf(os.Stderr, "mutate: logs in %s\n", work)
			return 2
		}
		baselineTime = time.Since(bstart)
	}

	type job struct {
		m *mutation
		c *compiled
	}
	jobs := make(chan job)
	buildFailed := make(chan struct{})
	go func() {
		defer close(jobs)
		for i := range groups {
			if i >= nextBuild && !build(i) {
				close(buildFailed)
				return
			}
			for _, m := range groups[i].mutations {
				select {
				case jobs <- job{m: m, c: &built[i]}:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	var (
		mu          sync.Mutex
		counts      = map[string]int{}
		interrupted error
		wg          sync.WaitGroup
	)
	for w := range *parallel {
		wg.Go(func() {
			// This worker's runs, one at a time, and only they, use its server.
			var server []string
			if w < len(servers) {
				server = servers[w].env()
			}
			for j := range jobs {
				var (
					res, detail string
					took        time.Duration
					err         error
				)
				switch {
				case r.null:
					res, detail, took, err = r.unmutated(ctx, j.m, j.c, server)
				case j.c.switched[j.m]:
					res, detail, took, err = r.mutateSwitched(ctx, j.m, j.c.binaries, server)
				default:
					res, detail, took, err = r.mutate(ctx, j.m, server)
				}
				mu.Lock()
				if err != nil {
					if interrupted == nil {
						interrupted = fmt.Errorf("%s: %w", j.m.ID, err)
					}
				} else {
					counts[res]++
				}
				mu.Unlock()
				if err == nil {
					out.printf("%-40s %-8s %6.1fs  %s\n", j.m.ID, res, took.Seconds(), describe(res, detail, j.m))
				}
			}
		})
	}
	wg.Wait()
	select {
	case <-buildFailed:
		return 130
	default:
	}
	if interrupted != nil {
		fmt.Fprintf(os.Stderr, "mutate: %v; logs in %s\n", interrupted, work)
		return 130
	}

	total := time.Since(start)
	r.printLongestWait(*wait)
	if r.null {
		return r.nullSummary(counts, len(mutations), total, *parallel)
	}
	fmt.Printf("\nkilled %d/%d (%.0f%%)", counts[Killed], len(mutations), 100*float64(counts[Killed])/float64(len(mutations)))
	for _, res := range []string{Survived, Stale, Invalid, Error} {
		if counts[res] > 0 {
			fmt.Printf(", %d %s", counts[res], strings.ToLower(res))
		}
	}
	fmt.Printf("; total %s (baseline %s; %d at a time)\n", total.Round(time.Second), baselineTime.Round(time.Second), *parallel)
	if counts[Killed] != len(mutations) {
		fmt.Printf("logs of every run: %s\n", work)
		return 1
	}
	_ = os.RemoveAll(work)
	return 0
}

// out serialises the result lines of mutations running at the same time.
var out lockedStdout

type lockedStdout struct{ mu sync.Mutex }

func (l *lockedStdout) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Printf(format, args...)
}

// runner runs mutations.
type runner struct {
	root, work string
	timeout    time.Duration
	env        []string
	null       bool // run the mutations' tests without the mutations (-null)

	mu      sync.Mutex
	longest convergedWait // the longest successful wait of any run so far
	longID  string        // the mutation whose tests waited it
}

// mutate makes one mutation in an overlay and runs its tests. An error means the run
// was interrupted.
func (r *runner) mutate(ctx context.Context, m *mutation, server []string) (result, detail string, took time.Duration, interrupted error) {
	start := time.Now()
	overlay, copied, result, detail := r.overlay(m)
	if result != "" {
		return result, detail, time.Since(start), nil
	}
	result, detail, interrupted = r.runTests(ctx, m, r.envWith(m, server, false), nil, overlay)
	took = time.Since(start)
	if interrupted != nil {
		return "", "", took, interrupted
	}
	// Compiler messages name the overlay's copy: name the file of the checkout.
	return result, strings.ReplaceAll(detail, copied, m.File), took, nil
}

// overlay writes m's mutated file and its overlay into <work>/<id> and returns the
// overlay's path and the mutated copy's; or a result (Stale, Error) when it cannot.
func (r *runner) overlay(m *mutation) (overlay, copied, result, detail string) {
	path := filepath.Join(r.root, filepath.FromSlash(m.File))
	content, err := os.ReadFile(path) //nolint:gosec // a file of this checkout, named by the list
	if err != nil {
		return "", "", Stale, err.Error()
	}
	mutated, err := m.apply(string(content))
	if err != nil {
		return "", "", Stale, err.Error()
	}
	dir := filepath.Join(r.work, m.ID)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", Error, err.Error()
	}
	if overlay, err = writeOverlay(dir, path, mutated); err != nil {
		return "", "", Error, err.Error()
	}
	return overlay, filepath.Join(dir, filepath.Base(path)), "", ""
}

// build builds a group's schemata, logging to <work>/<group>.build.log.
func (r *runner) build(ctx context.Context, g *group) (compiled, time.Duration, error) {
	start := time.Now()
	log, err := os.Create(filepath.Join(r.work, groupDirName(g.packages)+".build.log"))
	if err != nil {
		return compiled{}, 0, err
	}
	defer func() { _ = log.Close() }()
	c, err := r.buildGroup(ctx, g, log)
	return c, time.Since(start), err
}

// mutateSwitched runs the tests of one mutation compiled into its package's test
// binaries, with the switch on it. An error means the run was interrupted.
func (r *runner) mutateSwitched(ctx context.Context, m *mutation, binaries map[string]string, server []string) (result, detail string, took time.Duration, err error) {
	start := time.Now()
	result, detail, err = r.runTests(ctx, m, append(r.envWith(m, server, true), mutantEnv+"="+m.ID), binaries, "")
	return result, detail, time.Since(start), err
}

// runTests runs m's tests, logging to <work>/<id>.log: through the group's test
// binaries when binaries is set, else with go test (and overlay, when set). It keeps
// the longest successful wait and classifies the verdict; err is set only when ctx
// ended (the run was interrupted).
func (r *runner) runTests(ctx context.Context, m *mutation, env []string, binaries map[string]string, overlay string) (result, detail string, err error) {
	log, err := os.Create(filepath.Join(r.work, m.ID+".log"))
	if err != nil {
		return Error, err.Error(), nil
	}
	defer func() { _ = log.Close() }()
	timeout := m.Timeout
	if timeout == 0 {
		timeout = r.timeout
	}
	tr := testRun{root: r.root, packages: m.Packages, run: m.Run, timeout: timeout, overlay: overlay, env: env, log: log}
	var v verdict
	if binaries != nil {
		v, err = runBinaries(ctx, binaryRun{testRun: tr, binaries: binaries})
	} else {
		v, err = goTest(ctx, tr)
	}
	switch {
	case ctx.Err() != nil:
		return "", "", ctx.Err()
	case err != nil:
		return Error, err.Error(), nil
	}
	r.noteWait(m.ID, v.longest)
	result, detail = classify(v)
	return result, detail, nil
}

// baseline tests each package the mutations test, without mutation, once, with the
// union of the -run regexes the mutations give it: a package with schemata runs its
// test binary with the switch off, the others go test. It reports false when a test
// fails or does not build.
func (r *runner) baseline(ctx context.Context, mutations []mutation, built []compiled, groups []*group) (bool, error) {
	binaries := map[string]string{}
	for i := range groups {
		for pkg, bin := range built[i].binaries {
			binaries[pkg] = bin
		}
	}
	type pkgRuns struct {
		pkg  string
		runs []string
		all  bool // a mutation runs every test of the package
	}
	var pkgs []*pkgRuns
	byPkg := map[string]*pkgRuns{}
	for _, m := range mutations {
		if _, err := m.apply(readOrEmpty(filepath.Join(r.root, m.File))); err != nil {
			continue // stale: reported with the mutation, nothing to compare with
		}
		for _, name := range m.Packages {
			p := byPkg[name]
			if p == nil {
				p = &pkgRuns{pkg: name}
				byPkg[name] = p
				pkgs = append(pkgs, p)
			}
			// -run splits a regex at its slashes into levels: a union of regexes with
			// subtests in them cannot be written as one, so such a package runs every test.
			if m.Run == "" || strings.Contains(m.Run, "/") {
				p.all = true
			} else if !slices.Contains(p.runs, m.Run) {
				p.runs = append(p.runs, m.Run)
			}
		}
	}
	log, err := os.Create(filepath.Join(r.work, "baseline.log"))
	if err != nil {
		return false, err
	}
	defer func() { _ = log.Close() }()
	ok := true
	for _, p := range pkgs {
		run := ""
		if !p.all {
			run = "(" + strings.Join(p.runs, ")|(") + ")"
		}
		start := time.Now()
		tr := testRun{root: r.root, packages: []string{p.pkg}, run: run, timeout: r.timeout, env: r.env, log: log}
		var v verdict
		if _, ok := binaries[p.pkg]; ok {
			v, err = runBinaries(ctx, binaryRun{testRun: tr, binaries: binaries})
		} else {
			v, err = goTest(ctx, tr)
		}
		if err != nil {
			return false, fmt.Errorf("baseline %s: %w", p.pkg, err)
		}
		result, detail := classify(v)
		took := time.Since(start).Seconds()
		if result == Survived { // every test passed, as it must without mutation
			fmt.Printf("%-40s %-8s %6.1fs  %s\n", "baseline "+p.pkg, "ok", took, runDescription(run))
			continue
		}
		if result == Killed {
			detail = "tests fail without any mutation: " + strings.TrimPrefix(detail, "by ")
		}
		fmt.Printf("%-40s %-8s %6.1fs  %s\n", "baseline "+p.pkg, "FAILED", took, detail)
		ok = false
	}
	if !ok {
		fmt.Println("\nthe tests must pass on the code as it is before mutations can say anything; fix that first (or -baseline=false)")
	}
	return ok, nil
}

func runDescription(run string) string {
	if run == "" {
		return "every test"
	}
	return "-run " + run
}

// describe is a result line's last column.
func describe(result, detail string, m *mutation) string {
	if result == Survived {
		return "no test failed; broken promise: " + m.Promise
	}
	return detail
}

func printList(w io.Writer, root string, mutations []mutation) {
	for _, m := range mutations {
		state := "applies"
		if _, err := m.apply(readOrEmpty(filepath.Join(root, m.File))); err != nil {
			state = "STALE: " + err.Error()
		}
		run := m.Run
		if run == "" {
			run = "(all tests)"
		}
		fmt.Fprintf(w, "%s\n  promise:  %s\n  file:     %s (%s)\n  packages: %s\n  run:      %s\n",
			m.ID, m.Promise, m.File, state, strings.Join(m.Packages, " "), run)
	}
}

func load(path string) ([]mutation, error) {
	f, err := os.Open(path) //nolint:gosec // the list named on the command line
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	mutations, err := parseMutations(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(mutations) == 0 {
		return nil, fmt.Errorf("%s: no mutations", path)
	}
	return mutations, nil
}

func readOrEmpty(path string) string {
	b, err := os.ReadFile(path) //nolint:gosec // a file of this checkout, named by the list
	if err != nil {
		return ""
	}
	return string(b)
}

// testEnv is the tests' environment: envtest's binaries from bin/, CAPT_MUTATE=1,
// which tests that wait long may read to wait less (see docs/reliability.md),
// CAPT_WAIT_TIMEOUT=wait (see wait.go) and CGO_ENABLED=0 (with buildFlags' -trimpath:
// see there).
func testEnv(root string, wait time.Duration) []string {
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		for _, k := range []string{"KUBEBUILDER_ASSETS=", "CAPT_MUTATE=", mutantEnv + "=", "CGO_ENABLED=", waitEnv + "="} {
			if strings.HasPrefix(kv, k) {
				return true
			}
		}
		return false
	})
	env = append(env, "KUBEBUILDER_ASSETS="+filepath.Join(root, "bin"), "CAPT_MUTATE=1", "CGO_ENABLED=0")
	if wait > 0 {
		env = append(env, waitEnv+"="+wait.String())
	}
	return env
}

// buildFlags (with CGO_ENABLED=0 in testEnv) build the tests as make build, make image
// and make lint's go vet build CAPT: one compile configuration, so that the packages
// CAPT's tests import are compiled once on a machine with an empty build cache, not
// once more here (the race detector's configuration, make test's, is another anyway).
// -ldflags=-w leaves DWARF out of each mutant's test binary: a link about a quarter
// shorter, 70 times; it changes no compiled package.
var buildFlags = []string{"-trimpath", "-ldflags=-w"}

// repoRoot is the directory of the go.mod above the working directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

func fail(err error) int {
	fmt.Fprintln(os.Stderr, "mutate:", err)
	return 2
}
