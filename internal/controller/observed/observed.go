// Package observed is how CAPT's reconcilers say what a pass could not look at. A
// condition whose input the pass failed to read is Unknown with reason InternalError,
// never "not there yet"; a summary condition whose inputs are Unknown keeps what it said
// before, so a transient failure (an API server restart, a timeout) never reaches the
// Cluster as "not available".
package observed

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/cluster-api/util/conditions"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
)

// Describe is err for a condition message: the context CAPT wrapped it in and the API
// server's reason and message, except the field errors of an Invalid error, which can
// quote the values refused (variables, secret data): of those only the fields and the
// kind of error are kept ("writing WorkspaceTemplateApply x: Invalid:
// spec.variables[tags]: FieldValueTooLong"). An admission policy's or a webhook's
// denial names no field and keeps its message, which is what the user needs to read.
func Describe(err error) string {
	if err == nil {
		return ""
	}
	text := err.Error()
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return text
	}
	s := status.Status()
	var fields []string
	if s.Reason == metav1.StatusReasonInvalid && s.Details != nil {
		for _, c := range s.Details.Causes {
			if c.Field != "" {
				fields = append(fields, fmt.Sprintf("%s: %s", c.Field, c.Type))
			}
		}
	}
	if len(fields) == 0 {
		return text
	}
	summary := string(s.Reason) + ": " + strings.Join(fields, ", ")
	if s.Message != "" && strings.Contains(text, s.Message) {
		return strings.Replace(text, s.Message, summary, 1)
	}
	return summary
}

// Unknown is condType when the pass failed before it could compute it.
func Unknown(condType string, err error) metav1.Condition {
	return metav1.Condition{Type: condType, Status: metav1.ConditionUnknown, Reason: infrav1.InternalErrorReason,
		Message: "Could not be checked: " + Describe(err)}
}

// IsUnknown says c is Unknown.
func IsUnknown(c metav1.Condition) bool { return c.Status == metav1.ConditionUnknown }

// Keep leaves obj's condType as it was when it has one, and otherwise sets it Unknown
// with the message of the first Unknown input: a summary whose inputs could not be read
// says nothing new.
func Keep(obj conditions.Setter, condType string, inputs ...metav1.Condition) {
	if conditions.Has(obj, condType) {
		return
	}
	for _, in := range inputs {
		if IsUnknown(in) {
			conditions.Set(obj, metav1.Condition{Type: condType, Status: metav1.ConditionUnknown, Reason: in.Reason, Message: in.Message})
			return
		}
	}
}

// AnyUnknown says one of cs is Unknown.
func AnyUnknown(cs ...metav1.Condition) bool {
	for _, c := range cs {
		if IsUnknown(c) {
			return true
		}
	}
	return false
}

// Refused says the API server refused a write for what it carries (invalid, too large,
// forbidden by a policy or a webhook): retrying the same write cannot help until the
// object or the policy changes, so it is a failure to report, not a pass that failed to
// look. Anything else (a timeout, a restart, a conflict) is transient.
func Refused(err error) bool {
	return apierrors.IsInvalid(err) || apierrors.IsBadRequest(err) || apierrors.IsForbidden(err) ||
		apierrors.IsRequestEntityTooLargeError(err)
}

// Step is the deletion step a pass reached: what it does or waits for, as the Deleting
// condition's reason and message; Stalled, when set, is the DeletionStalled condition's
// message: the step made no progress for the stall timeout.
type Step struct {
	Reason, Message string
	Stalled         string
}

// SetDeleting sets Deleting=True with the step the pass reached (reason Deleting when it
// failed before its first step) and, when the pass failed, how; Ready and each of
// alsoFalse (a control plane's Available) turn False with reason Deleting and the same
// message. Every pass of an object being deleted sets it, so Deleting never lags behind
// a failure. DeletionStalled is set with it: true with step.Stalled, else false.
func SetDeleting(obj conditions.Setter, step *Step, err error, alsoFalse ...string) {
	s := Step{Reason: infrav1.DeletingReason, Message: "Deleting"}
	if step != nil {
		s = *step
	}
	if err != nil {
		s.Message += "; failed: " + Describe(err)
	}
	conditions.Set(obj, metav1.Condition{Type: infrav1.DeletingCondition, Status: metav1.ConditionTrue, Reason: s.Reason, Message: s.Message})
	stalled := metav1.Condition{Type: infrav1.DeletionStalledCondition, Status: metav1.ConditionFalse, Reason: infrav1.NotStalledReason}
	if s.Stalled != "" {
		stalled = metav1.Condition{Type: infrav1.DeletionStalledCondition, Status: metav1.ConditionTrue, Reason: infrav1.DeletionStalledReason, Message: s.Stalled}
	}
	conditions.Set(obj, stalled)
	for _, t := range append([]string{infrav1.ReadyCondition}, alsoFalse...) {
		conditions.Set(obj, metav1.Condition{Type: t, Status: metav1.ConditionFalse, Reason: infrav1.DeletingReason, Message: s.Message})
	}
}

// Problem is a condition's reason and message when something is wrong or awaited: what
// a reconciler records in its scope for the deferred status to say.
type Problem struct {
	Reason, Message string
}

// Pass is what every owner's scope records of its pass besides its own findings: the
// deletion step it reached, whether the deletion was already done, and what it failed
// to read or write. Each scope embeds it; status.go reads it from there.
type Pass struct {
	// Deletion is the step a deleting pass reached, and what it waits for.
	Deletion *Step
	// Finished says the API server shows the deletion done (the finalizer is gone): the
	// pass ran from a cache that has not caught up, and has nothing to report.
	Finished bool
	// Err is what the pass failed to read or write: the conditions it did not get to are
	// Unknown, and the summaries keep what they said.
	Err error
}

// Deleting records the deletion step the pass is at, before it acts, so that a failure
// of the step shows on the Deleting condition with the step's reason.
func (p *Pass) Deleting(reason, message string) {
	p.Deletion = &Step{Reason: reason, Message: message}
}

// IsFailure says c is False for one of failures: something a person has to fix, not a
// wait that time ends.
func IsFailure(c metav1.Condition, failures []string) bool {
	return c.Status == metav1.ConditionFalse && slices.Contains(failures, c.Reason)
}

// Phase is an infrastructure object's status.phase from the condition that says whether
// its child is ready: Failed while that condition reports a failure, Provisioned once it
// was provisioned (a later change or wait is a condition, not a revert), Provisioning
// before.
func Phase(provisioned bool, c metav1.Condition, failures []string) string {
	switch {
	case IsFailure(c, failures):
		return infrav1.PhaseFailed
	case provisioned:
		return infrav1.PhaseProvisioned
	default:
		return infrav1.PhaseProvisioning
	}
}

// NewFailure is after's condType when this pass turned it to a failure (another status
// or reason than before): the one transition an owner makes a Warning event of. Waits
// and recoveries make none: the conditions say them.
func NewFailure(before, after conditions.Getter, condType string, failures []string) *metav1.Condition {
	b, a := conditions.Get(before, condType), conditions.Get(after, condType)
	if a == nil || (b != nil && b.Status == a.Status && b.Reason == a.Reason) || !IsFailure(*a, failures) {
		return nil
	}
	return a
}
