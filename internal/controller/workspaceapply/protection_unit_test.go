package workspaceapply

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/workspace"
)

// refusalMessage is the Synced message provider-terraform v0.21.2 writes when OpenTofu
// refuses a plan for prevent_destroy on the addresses: the summary in clear, the
// stderr compressed.
func refusalMessage(addresses ...string) string {
	var stderr strings.Builder
	for _, a := range addresses {
		fmt.Fprintf(&stderr, "\nError: Resource instance cannot be destroyed\n\n  on main.tf line 6:\n   6: resource \"terraform_data\" \"x\" {\n\n"+
			"Resource instance %s has prevent_destroy set, but the plan\ncalls for it to be destroyed.\n", a)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write([]byte(stderr.String()))
	_ = zw.Close()
	return "observe failed: cannot diff (i.e. plan) Terraform configuration: Terraform encountered an error. Summary: Resource instance cannot be destroyed. " +
		`To see the full error run: echo "` + base64.StdEncoding.EncodeToString(buf.Bytes()) + `" | base64 -d | gunzip`
}

// TestDecideProtection walks the protection's state machine: a refusal is confirmed
// with a pause before it can be approved, only the approval of its hash lifts the
// protection, and protection comes back once the Workspace applied the change.
func TestDecideProtection(t *testing.T) {
	since := metav1.NewTime(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC))
	refused := &workspace.Condition{Type: "Synced", Status: metav1.ConditionFalse, Reason: "ReconcileError",
		Message: refusalMessage("terraform_data.x", "aws_vpc.this"), LastTransitionTime: since}
	paused := &workspace.Condition{Type: "Synced", Status: metav1.ConditionFalse, Reason: reconcilePausedReason}
	synced := &workspace.Condition{Type: "Synced", Status: metav1.ConditionTrue, Reason: "ReconcileSuccess"}
	otherFailure := &workspace.Condition{Type: "Synced", Status: metav1.ConditionFalse, Reason: "ReconcileError", Message: "cannot apply: AccessDenied"}
	addresses := []string{"aws_vpc.this", "terraform_data.x"}
	hash := changeHash("s1", addresses, since.Time)
	at := func(state string) marker { return marker{state: state, spec: "s1"} }

	for _, tc := range []struct {
		name        string
		in          protectionInput
		marker      marker
		protect     bool
		pause       bool
		phase       string
		hash        string
		addresses   []string
		approved    bool
		noAddresses bool
	}{
		{name: "a new Workspace is protected", in: protectionInput{spec: "s1"}, marker: at(protectedState), protect: true},
		{name: "a new spec is protected, an approval of the one before lapses",
			in:     protectionInput{spec: "s2", exists: true, marker: marker{approvedState, "s1", hash}, synced: refused, approval: hash},
			marker: marker{state: protectedState, spec: "s2"}, protect: true},
		{name: "protected and applied", in: protectionInput{spec: "s1", exists: true, marker: at(protectedState), synced: synced, applied: true},
			marker: at(protectedState), protect: true},
		{name: "another failure is not held", in: protectionInput{spec: "s1", exists: true, marker: at(protectedState), synced: otherFailure},
			marker: at(protectedState), protect: true},
		{name: "a refusal that may be of the spec before is confirmed by a pause",
			in:     protectionInput{spec: "s1", exists: true, marker: at(protectedState), synced: refused, approval: hash},
			marker: at(pausedState), protect: true, pause: true, phase: phaseConfirming, addresses: addresses},
		{name: "someone else's pause is waited out, not taken over",
			in:     protectionInput{spec: "s1", exists: true, marker: at(protectedState), synced: refused, pausedByOther: true},
			marker: at(protectedState), protect: true, phase: phaseConfirming, addresses: addresses},
		{name: "paused until provider-terraform says so",
			in:     protectionInput{spec: "s1", exists: true, marker: at(pausedState), synced: refused, approval: hash},
			marker: at(pausedState), protect: true, pause: true, phase: phaseConfirming, addresses: addresses},
		{name: "the pause is lifted once provider-terraform saw it",
			in:     protectionInput{spec: "s1", exists: true, marker: at(pausedState), synced: paused, previous: &infrav1.DestructiveChange{SpecHash: "s1", Addresses: addresses}},
			marker: at(resumedState), protect: true, phase: phaseConfirming, addresses: addresses},
		{name: "resumed, the plan passes", in: protectionInput{spec: "s1", exists: true, marker: at(resumedState), synced: synced, applied: true},
			marker: at(resumedState), protect: true},
		{name: "resumed, a refusal of this spec waits for its approval",
			in:     protectionInput{spec: "s1", exists: true, marker: at(resumedState), synced: refused},
			marker: at(resumedState), protect: true, phase: phasePending, hash: hash, addresses: addresses},
		{name: "an approval of another change approves nothing",
			in:     protectionInput{spec: "s1", exists: true, marker: at(resumedState), synced: refused, approval: changeHash("s0", addresses, since.Time)},
			marker: at(resumedState), protect: true, phase: phasePending, hash: hash, addresses: addresses},
		{name: "the approval of this change lifts the protection",
			in:     protectionInput{spec: "s1", exists: true, marker: at(resumedState), synced: refused, approval: " " + hash + "\n"},
			marker: marker{approvedState, "s1", hash}, protect: false, phase: phaseApproved, hash: hash, addresses: addresses, approved: true},
		{name: "a refusal whose addresses cannot all be read cannot be approved",
			in: protectionInput{spec: "s1", exists: true, marker: at(resumedState), approval: hash,
				synced: &workspace.Condition{Type: "Synced", Status: metav1.ConditionFalse, Message: "Summary: Resource instance cannot be destroyed.", LastTransitionTime: since}},
			marker: at(resumedState), protect: true, phase: phasePending, noAddresses: true},
		{name: "approved, until the Workspace applied it",
			in:     protectionInput{spec: "s1", exists: true, marker: marker{approvedState, "s1", hash}, synced: refused, previous: &infrav1.DestructiveChange{Hash: hash, Addresses: addresses}},
			marker: marker{approvedState, "s1", hash}, protect: false, phase: phaseApproved, hash: hash, addresses: addresses, approved: true},
		{name: "applied: protection comes back",
			in:     protectionInput{spec: "s1", exists: true, marker: marker{approvedState, "s1", hash}, synced: synced, applied: true, approval: hash},
			marker: at(protectedState), protect: true},
		{name: "the same refusal met again after its approval was applied is another change",
			in: protectionInput{spec: "s1", exists: true, marker: at(resumedState), approval: hash,
				synced: &workspace.Condition{Type: "Synced", Status: metav1.ConditionFalse, Message: refused.Message, LastTransitionTime: metav1.NewTime(since.Add(time.Hour))}},
			marker: at(resumedState), protect: true, phase: phasePending, hash: changeHash("s1", addresses, since.Add(time.Hour)), addresses: addresses},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := decideProtection(tc.in)
			if d.marker != tc.marker || d.protect != tc.protect || d.pause != tc.pause || d.phase != tc.phase {
				t.Fatalf("marker %s protect %v pause %v phase %q; want %s %v %v %q", d.marker, d.protect, d.pause, d.phase, tc.marker, tc.protect, tc.pause, tc.phase)
			}
			if tc.phase == phaseNone {
				if d.change != nil {
					t.Fatalf("change %+v, want none", d.change)
				}
				return
			}
			if d.change == nil {
				t.Fatal("no change recorded")
			}
			if d.change.Hash != tc.hash || d.change.Approved != tc.approved || d.change.SpecHash != "s1" ||
				(!tc.noAddresses && !slices.Equal(d.change.Addresses, tc.addresses)) {
				t.Errorf("change %+v, want hash %q approved %v addresses %q", d.change, tc.hash, tc.approved, tc.addresses)
			}
		})
	}
}

// TestChangeHash names a change by its spec, its addresses and when it was refused.
func TestChangeHash(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	base := changeHash("s1", []string{"a", "b"}, now)
	if len(base) != 16 {
		t.Errorf("hash %q: want 16 hex digits", base)
	}
	if changeHash("s1", []string{"a", "b"}, now.In(time.FixedZone("x", 3600))) != base {
		t.Error("the same instant in another zone changed the hash")
	}
	for name, h := range map[string]string{
		"spec":      changeHash("s2", []string{"a", "b"}, now),
		"addresses": changeHash("s1", []string{"a"}, now),
		"joined":    changeHash("s1", []string{"a\nb"}, now),
		"time":      changeHash("s1", []string{"a", "b"}, now.Add(time.Second)),
	} {
		if h == base {
			t.Errorf("another %s, the same hash", name)
		}
	}
}

// TestMarker reads back what it writes.
func TestMarker(t *testing.T) {
	for _, m := range []marker{{protectedState, "abc", ""}, {approvedState, "abc", "0123"}} {
		if got := parseMarker(m.String()); got != m {
			t.Errorf("%s read back as %+v", m, got)
		}
	}
	if got := parseMarker(""); got.spec != "" {
		t.Errorf("empty annotation: %+v", got)
	}
}
