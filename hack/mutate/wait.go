package main

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Most mutations are killed by a test that waits for a convergence the mutation
// prevents: it fails at the tests' deadline (testenv.WaitTimeout), so that deadline is
// most of what such a kill costs. mutate runs the tests with a shorter one, -wait.
//
// A shorter deadline proves the same thing only while every wait that must succeed
// succeeds well within it, at mutate's load (-parallel test binaries, each with its API
// server, while the next group builds); otherwise a slow pass would count as a kill.
// Two things keep that visible:
//   - every run reports its longest successful wait (the tests log each wait of a second
//     or more under CAPT_WAIT_TIMEOUT), and mutate prints the longest of all against
//     the deadline;
//   - -null runs every mutation's tests exactly as mutate would, at the same load and
//     deadline, with no mutation: every test must pass (docs/reliability.md has the figures).

// defaultWait is -wait's default: at mutate's own load the longest successful wait
// measured with -null was 6.2 s (docs/reliability.md); half the tests' 30 s keeps a margin
// of more than two.
const defaultWait = 15 * time.Second

// waitEnv is the tests' deadline variable (internal/testenv/wait.go).
const waitEnv = "CAPT_WAIT_TIMEOUT"

// noteWait keeps the longest successful wait of all runs.
func (r *runner) noteWait(id string, w convergedWait) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if w.seconds > r.longest.seconds {
		r.longest, r.longID = w, id
	}
}

// printLongestWait says how close the slowest successful wait came to the deadline.
func (r *runner) printLongestWait(wait time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	deadline := "the tests' own deadline"
	if wait > 0 {
		deadline = wait.String() + " (-wait)"
	}
	if r.longest.seconds == 0 {
		fmt.Printf("\nno successful wait took a second or more; deadline %s\n", deadline)
		return
	}
	fmt.Printf("\nlongest successful wait: %.1fs of %s, in %s's %s: %s\n",
		r.longest.seconds, deadline, r.longID, r.longest.test, r.longest.what)
}

// unmutated runs m's tests as mutate would run them with m, but without it: the
// group's test binaries with the switch off, or go test without an overlay.
func (r *runner) unmutated(ctx context.Context, m *mutation, c *compiled, server []string) (result, detail string, took time.Duration, err error) {
	start := time.Now()
	var binaries map[string]string
	if c.switched[m] {
		binaries = c.binaries
	}
	result, detail, err = r.runTests(ctx, m, r.envWith(m, server, c.switched[m]), binaries, "")
	took = time.Since(start)
	switch {
	case err != nil:
		return "", "", took, err
	case result == Survived:
		return passed, "", took, nil
	case result == Killed:
		return failed, "tests fail without the mutation at this load and deadline: " + strings.TrimPrefix(detail, "by "), took, nil
	}
	return result, detail, took, nil
}

// A -null run's results.
const (
	passed = "PASSED"
	failed = "FAILED"
)

// nullSummary prints a -null run's verdict: it passes only when every mutation's tests
// passed.
func (r *runner) nullSummary(counts map[string]int, n int, total time.Duration, parallel int) int {
	fmt.Printf("passed %d/%d without their mutations", counts[passed], n)
	for _, res := range []string{failed, Stale, Invalid, Error} {
		if counts[res] > 0 {
			fmt.Printf(", %d %s", counts[res], strings.ToLower(res))
		}
	}
	fmt.Printf("; total %s (%d at a time)\n", total.Round(time.Second), parallel)
	if counts[passed] != n {
		fmt.Printf("logs of every run: %s\n", r.work)
		return 1
	}
	return 0
}
