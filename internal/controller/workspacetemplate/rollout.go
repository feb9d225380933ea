package workspacetemplate

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
)

// Rollouts are allocated here, by the template's controller, and nowhere else: the
// template's status.rollout.slots is the one count of the applies allowed to change their
// Workspace, written with the template's resourceVersion as a precondition. A pass that
// computed its slots from a view older than what etcd holds (a cache behind, a second
// manager during a leader handover) meets a conflict and computes again from a fresh
// read: it never grants from a count it did not see. allocate is the decision, pure;
// the reconciler gathers its inputs and writes its result.

// applyState is what the rollout needs of one WorkspaceTemplateApply of the template.
type applyState struct {
	// Canary says the template's canarySelector selects the apply; Rendered, that it
	// reported rendering the template's current generation (only canaries report it).
	Canary, Rendered bool
	// Pending is the rollout hash the apply waits a slot for, "" when none.
	Pending string
	// Hash is the rollout hash of its Workspace, which Ready and Failing speak of.
	Hash string
	// Ready says the apply reports its Workspace Ready, for its current generation.
	Ready bool
	// Failing says the apply reports its Workspace failing (WorkspaceNotSynced), for its
	// current generation.
	Failing bool
}

// rolloutInput is everything one allocation decides from.
type rolloutInput struct {
	Policy infrav1.RolloutPolicy
	// Status is the rollout as etcd holds it (the base the result is written over).
	Status *infrav1.RolloutStatus
	// UID and Generation are the template's.
	UID        types.UID
	Generation int64
	// Resume is the template's ResumeRolloutAnnotation.
	Resume string
	// Applies are the template's applies that are not being deleted, by "namespace/name";
	// a slot whose apply is not here is freed (the reconciler confirmed it gone, deleting
	// or moved to another template with a read from the API server).
	Applies map[string]applyState
	// SelectorErr is why the canarySelector cannot be used: no slot is granted then.
	SelectorErr error
	Now         metav1.Time
}

// allocate is the rollout after one pass: slots of applies that are gone or done are
// freed, a slot follows its apply to the rendering it now waits for, the rollout pauses
// at pauseAfterFailures failures and resumes on a spec change or the pause's token, and
// free slots go to waiting applies, canaries first, then by namespace and name.
func allocate(in rolloutInput) *infrav1.RolloutStatus {
	out := &infrav1.RolloutStatus{}
	if in.Status != nil {
		out = in.Status.DeepCopy()
	}
	out.Slots = keepSlots(in, out.Slots)
	held := map[string]bool{}
	for _, s := range out.Slots {
		held[s.Apply] = true
	}

	failing := func(s infrav1.RolloutSlot) bool {
		a := in.Applies[s.Apply]
		return a.Pending == "" && a.Hash == s.Hash && a.Failing
	}
	// A change of the template's spec (a fix) or the pause's own token resumes. The
	// failures seen until then no longer count: a person or a new template took them
	// into account. Their slots stay until the Workspace recovers or its apply moves to
	// another rendering, but no longer hold back the others.
	if p := out.Paused; p != nil && p.Reason == infrav1.RolloutApplyFailedReason &&
		(p.Generation != in.Generation || (in.Resume != "" && in.Resume == p.Token)) {
		out.Paused = nil
		for i := range out.Slots {
			if failing(out.Slots[i]) {
				out.Slots[i].Accepted = true
			}
		}
	}
	if out.Paused != nil && out.Paused.Reason == infrav1.RolloutSelectorInvalidReason && in.SelectorErr == nil {
		out.Paused = nil
	}

	var failed []string
	for _, s := range out.Slots {
		if !s.Accepted && failing(s) {
			failed = append(failed, s.Apply)
		}
	}
	switch limit := max(in.Policy.PauseAfterFailures, 1); {
	case in.SelectorErr != nil:
		if out.Paused == nil || out.Paused.Reason != infrav1.RolloutSelectorInvalidReason {
			out.Paused = &infrav1.RolloutPause{Reason: infrav1.RolloutSelectorInvalidReason, Generation: in.Generation, Since: in.Now,
				Message: fmt.Sprintf("spec.rollout.canarySelector cannot select applies: %v; no slot is granted until it is fixed", in.SelectorErr)}
			out.Paused.Token = pauseToken(in.UID, out.Paused)
		}
	case out.Paused == nil && len(failed) >= int(limit):
		p := &infrav1.RolloutPause{Reason: infrav1.RolloutApplyFailedReason, Failed: failed, Generation: in.Generation, Since: in.Now}
		p.Token = pauseToken(in.UID, p)
		p.Message = fmt.Sprintf("%d of the applies holding a slot report their Workspace failing (%s): no slot is granted until "+
			"the template's spec changes or annotation %s is set to %q", len(failed), strings.Join(failed, ", "),
			infrav1.ResumeRolloutAnnotation, p.Token)
		out.Paused = p
	}

	if out.Paused == nil {
		grant(in, out, held)
	}
	slices.SortFunc(out.Slots, func(a, b infrav1.RolloutSlot) int { return cmp.Compare(a.Apply, b.Apply) })
	count(in, out, failing)
	return out
}

// keepSlots moves a slot to the rendering its apply now waits for, or has written: the
// slot stands for the apply's one Workspace, which is changing whatever the hash, so
// moving it takes nothing more from the limit. It then drops the slots of applies that
// are gone, and of applies that report their Workspace Ready with the slot's rendering
// and wait for nothing else. An accepted slot (a failure a resume or a fix took into
// account) does not move, and stays only while its apply keeps failing with that
// rendering: a new rendering needs a slot as any other change does.
func keepSlots(in rolloutInput, slots []infrav1.RolloutSlot) []infrav1.RolloutSlot {
	kept := slots[:0]
	for _, s := range slots {
		a, ok := in.Applies[s.Apply]
		if !ok {
			continue
		}
		switch {
		case s.Accepted:
		case a.Pending != "" && a.Pending != s.Hash:
			s.Hash, s.Since = a.Pending, in.Now
		case a.Pending == "" && a.Hash != "" && a.Hash != s.Hash:
			s.Hash, s.Since = a.Hash, in.Now
		}
		done := a.Pending == "" && a.Hash == s.Hash && a.Ready
		if done || (s.Accepted && (a.Pending != "" || a.Hash != s.Hash || !a.Failing)) {
			continue
		}
		kept = append(kept, s)
	}
	return kept
}

// grant gives the free slots to the applies that wait, canaries first: while a canary
// has not rendered the template's current generation, waits or holds a slot, no other
// apply gets one.
func grant(in rolloutInput, out *infrav1.RolloutStatus, held map[string]bool) {
	used := 0
	canaryBusy := false
	for _, s := range out.Slots {
		if !s.Accepted {
			used++
			canaryBusy = canaryBusy || in.Applies[s.Apply].Canary
		}
	}
	var waiting []string
	for key, a := range in.Applies {
		canaryBusy = canaryBusy || (a.Canary && !a.Rendered)
		if _, holds := held[key]; holds || a.Pending == "" {
			continue
		}
		waiting = append(waiting, key)
		canaryBusy = canaryBusy || a.Canary
	}
	slices.SortFunc(waiting, func(x, y string) int {
		if cx, cy := in.Applies[x].Canary, in.Applies[y].Canary; cx != cy {
			if cx {
				return -1
			}
			return 1
		}
		return cmp.Compare(x, y)
	})
	free := maxConcurrent(in.Policy.MaxConcurrent, len(in.Applies)) - used
	for _, key := range waiting {
		if free <= 0 {
			return
		}
		a := in.Applies[key]
		if canaryBusy && !a.Canary {
			return
		}
		out.Slots = append(out.Slots, infrav1.RolloutSlot{Apply: key, Hash: a.Pending, Since: in.Now})
		free--
	}
}

// count sets the figures the template's status shows.
func count(in rolloutInput, out *infrav1.RolloutStatus, failing func(infrav1.RolloutSlot) bool) {
	out.Updated, out.Applying, out.Failed, out.Waiting = 0, 0, 0, 0
	slotOf := map[string]infrav1.RolloutSlot{}
	for _, s := range out.Slots {
		slotOf[s.Apply] = s
		switch {
		case failing(s):
			out.Failed++
		case !s.Accepted:
			out.Applying++
		}
	}
	for key, a := range in.Applies {
		s, holds := slotOf[key]
		switch {
		case a.Pending != "" && (!holds || s.Hash != a.Pending):
			out.Waiting++
		case !holds && a.Pending == "" && a.Ready:
			out.Updated++
		}
	}
}

// maxConcurrent is the policy's limit for a template with n applies: a percentage is
// of n, rounded up; never below 1 (a rollout that grants nothing would never end), never
// above what status.rollout.slots holds.
func maxConcurrent(v intstr.IntOrString, n int) int {
	limit, err := intstr.GetScaledValueFromIntOrPercent(&v, n, true)
	if err != nil {
		return 1
	}
	return min(max(limit, 1), maxSlots)
}

// maxSlots is the most slots status.rollout.slots holds (its MaxItems).
const maxSlots = 1000

// pauseToken is the value of ResumeRolloutAnnotation that resumes pause p of the
// template uid: its generation and a digest of the moment and the failures, so that a
// resume written for an earlier pause, even at the same generation, resumes nothing.
func pauseToken(uid types.UID, p *infrav1.RolloutPause) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\n%d\n%s\n%s\n%s", uid, p.Generation, p.Since.UTC().Format("2006-01-02T15:04:05.999999999Z"),
		p.Reason, strings.Join(p.Failed, ",")))
	return fmt.Sprintf("%d-%s", p.Generation, hex.EncodeToString(sum[:4]))
}
