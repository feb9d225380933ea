package main

import (
	"bytes"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// capt runs the command in-process, as main does, and returns its exit code and output.
func capt(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestSubcommandsExplainBadArguments checks that neither subcommand exits silently: a bad
// flag or a positional argument prints what was wrong and the usage to stderr (exit 2),
// and --help prints the usage to stdout (exit 0). None of these starts anything.
func TestSubcommandsExplainBadArguments(t *testing.T) {
	dir := t.TempDir()
	// Should a command accept its arguments after all, these make it fail at once, before
	// it starts anything: no kubeconfig for the manager, no binaries for dev (whose data
	// directory, emptied at start, is not the user's).
	guards := map[string][]string{
		"manager": {"--kubeconfig=" + filepath.Join(dir, "missing"), "--health-addr=0", "--diagnostics-address=0"},
		"dev":     {"--bin-dir=" + filepath.Join(dir, "no-binaries"), "--data-dir=" + filepath.Join(dir, "data")},
	}
	// A duration flag of each subcommand, to give a bad value.
	for cmd, duration := range map[string]string{"manager": "--sync-period", "dev": "--interval"} {
		name := "capt " + cmd
		usage := "Usage: " + name + " [flags]\n\nFlags:\n"
		for _, c := range []struct {
			args []string
			code int
			// wantErr is how stderr starts; empty when stderr must be empty and the
			// usage must be on stdout instead.
			wantErr string
		}{
			{[]string{"--no-such-flag"}, 2, name + ": unknown flag: --no-such-flag\n" + usage},
			{[]string{"--no-such-flag=1", "--help"}, 2, name + ": unknown flag: --no-such-flag\n" + usage},
			{[]string{duration + "=soon"}, 2, name + `: invalid argument "soon" for "` + duration + `" flag`},
			{[]string{duration}, 2, name + ": flag needs an argument: " + duration + "\n" + usage},
			{[]string{"foo"}, 2, name + ": unexpected argument \"foo\"\n" + usage},
			{[]string{"--", "bar"}, 2, name + ": unexpected argument \"bar\"\n" + usage},
			{[]string{"--help"}, 0, ""},
			{[]string{"-h"}, 0, ""},
		} {
			code, stdout, stderr := capt(slices.Concat([]string{cmd}, guards[cmd], c.args)...)
			if code != c.code {
				t.Errorf("%s %q: exit %d, want %d", name, c.args, code, c.code)
			}
			usageOn, usageOnName, otherOut := stderr, "stderr", stdout
			if c.wantErr == "" {
				usageOn, usageOnName, otherOut = stdout, "stdout", stderr
				if !strings.HasPrefix(stdout, usage) {
					t.Errorf("%s %q: stdout %q, want it to start with %q", name, c.args, stdout, usage)
				}
			} else if !strings.HasPrefix(stderr, c.wantErr) {
				t.Errorf("%s %q: stderr %q, want it to start with %q", name, c.args, stderr, c.wantErr)
			}
			if !strings.Contains(usageOn, usage) || !strings.Contains(usageOn, "\n      "+duration+" duration ") {
				t.Errorf("%s %q: %s %q, want the usage with the flags", name, c.args, usageOnName, usageOn)
			}
			if otherOut != "" {
				t.Errorf("%s %q: unexpected output %q besides the usage on %s", name, c.args, otherOut, usageOnName)
			}
		}
	}
}

func TestManagerUsageListsKubeconfig(t *testing.T) {
	_, stdout, _ := capt("manager", "--help")
	if !strings.Contains(stdout, "--kubeconfig string") || !strings.Contains(stdout, "precedence over KUBECONFIG") {
		t.Errorf("capt manager --help does not list --kubeconfig and its precedence:\n%s", stdout)
	}
}

func TestTopLevelUsage(t *testing.T) {
	for _, c := range []struct {
		args                   []string
		code                   int
		wantStdout, wantStderr string
	}{
		{nil, 2, "", usage},
		{[]string{"bogus"}, 2, "", "capt: unknown command \"bogus\"\n\n" + usage},
		{[]string{"--no-such-flag"}, 2, "", "capt: unknown command \"--no-such-flag\"\n\n" + usage},
		{[]string{"help"}, 0, usage, ""},
		{[]string{"--help"}, 0, usage, ""},
	} {
		code, stdout, stderr := capt(c.args...)
		if code != c.code || stdout != c.wantStdout || stderr != c.wantStderr {
			t.Errorf("capt %q: exit %d, stdout %q, stderr %q; want exit %d, stdout %q, stderr %q",
				c.args, code, stdout, stderr, c.code, c.wantStdout, c.wantStderr)
		}
	}
}
