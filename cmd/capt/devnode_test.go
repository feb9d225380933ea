package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// capt dev-node exits non-zero with the reason on bad input, before it connects to
// anything, and never falls back to ~/.kube/config.
func TestDevNodeExplainsBadInput(t *testing.T) {
	for _, env := range []string{"KUBECONFIG", "CAPT_DEV_NODE_NAME", "CAPT_DEV_NODE_PROVIDER_ID", "CAPT_DEV_NODE_LABELS", "CAPT_DEV_NODE_TAINTS"} {
		t.Setenv(env, "")
	}
	missing := filepath.Join(t.TempDir(), "no-such.kubeconfig")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"dev-node"}, 2, "Usage:\n  capt dev-node apply"},
		{[]string{"dev-node", "create"}, 2, `capt dev-node: unknown action "create"`},
		{[]string{"dev-node", "apply", "--no-such-flag"}, 2, "capt dev-node apply: unknown flag: --no-such-flag"},
		{[]string{"dev-node", "delete", "--labels={}"}, 2, "capt dev-node delete: unknown flag: --labels"},
		{[]string{"dev-node", "apply", "--provider-id=p"}, 1, "capt dev-node apply: name: required"},
		{[]string{"dev-node", "apply", "--name=n"}, 1, "capt dev-node apply: provider ID: required"},
		{[]string{"dev-node", "apply", "--name=n", "--provider-id=p", "--labels=[1]"}, 1, "capt dev-node apply: labels: want a JSON object of strings"},
		{[]string{"dev-node", "apply", "--name=n", "--provider-id=p", `--taints=[{"key":"a","effect":"NoEvict"}]`}, 1,
			`capt dev-node apply: taints[0] (key "a"): effect "NoEvict": want NO_SCHEDULE, NO_EXECUTE or PREFER_NO_SCHEDULE`},
		{[]string{"dev-node", "apply", "--name=n", "--provider-id=p"}, 1, "capt dev-node apply: no kubeconfig: give --kubeconfig or set KUBECONFIG"},
		{[]string{"dev-node", "delete"}, 1, "capt dev-node delete: --name is required"},
		{[]string{"dev-node", "delete", "--name=n", "--kubeconfig=" + missing}, 1, "capt dev-node delete: kubeconfig " + missing + ": no such file"},
	} {
		code, stdout, stderr := capt(c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) || stdout != "" {
			t.Errorf("capt %q: exit %d, stdout %q, stderr %q; want exit %d and stderr with %q", c.args, code, stdout, stderr, c.code, c.want)
		}
	}
	// The provisioners pass their values in the environment.
	t.Setenv("CAPT_DEV_NODE_NAME", "n")
	t.Setenv("CAPT_DEV_NODE_PROVIDER_ID", "p")
	t.Setenv("CAPT_DEV_NODE_TAINTS", `[{"key":"a","effect":"NO_SCHEDULE"}]`)
	t.Setenv("CAPT_DEV_NODE_LABELS", `{"a":1}`)
	if code, _, stderr := capt("dev-node", "apply"); code != 1 || !strings.Contains(stderr, `labels: the value of "a" is a number`) {
		t.Errorf("capt dev-node apply from the environment: exit %d, stderr %q", code, stderr)
	}
	if code, stdout, _ := capt("dev-node", "--help"); code != 0 || !strings.Contains(stdout, "CAPT_DEV_NODE_NAME") {
		t.Errorf("capt dev-node --help: exit %d, stdout %q", code, stdout)
	}
}
