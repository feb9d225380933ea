package workspaceapply

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/observed"
	"github.com/capt-dev/capt/internal/render"
	"github.com/capt-dev/capt/internal/workspace"
)

// reconcileNormal renders the Workspace, creates it once its dependencies are met, keeps
// it in sync, and computes the status. Every wait ends by a watch event, so it never
// asks for a requeue.
func (r *Reconciler) reconcileNormal(ctx context.Context, apply *infrav1.WorkspaceTemplateApply, obs *observation) error {
	current, err := r.getWorkspace(ctx, apply, obs.workspaceName)
	if err != nil {
		return err
	}
	obs.workspaceRead = true
	if current != nil && !ownedBy(current, apply) {
		obs.ownedByOther = true
		return nil
	}
	obs.workspace = current
	if obs.drift, err = r.observeDrift(ctx, apply, current); err != nil {
		return err
	}

	tmpl, desired, prob, err := r.desiredWorkspace(ctx, apply)
	if err != nil {
		return err
	}
	obs.templateRead = true
	obs.rollout = observeRollout(tmpl, apply)
	if tmpl != nil {
		obs.redactor = redactorFor(r.API, apply, tmpl, desired)
	}
	if prob != nil {
		obs.problem = prob
		return nil
	}
	// Before a doomed run, not after: a required variable nothing sets stops the Workspace.
	if obs.problem, obs.note = r.modules.check(templateKey(apply), desired.Spec.ForProvider); obs.problem != nil {
		return nil
	}

	// Before anything is created or changed: an adopting apply's state, its external name.
	if stop, err := r.adoptGate(ctx, apply, desired, current, obs); err != nil || stop {
		return err
	}
	if current == nil {
		wait, err := r.sharedStateWait(ctx, apply, desired)
		if err != nil {
			return err
		}
		if wait != "" {
			obs.waitingFor, obs.waitReason = []string{wait}, infrav1.WaitingForSharedStateReason
			return nil
		}
		if wait, err := r.providerConfigWait(ctx, apply, desired); err != nil || wait != "" {
			obs.waitingFor, obs.waitReason = []string{wait}, infrav1.WaitingForProviderConfigReason
			return err
		}
		obs.waitingFor, obs.waitReason, err = r.unmetDependencies(ctx, apply)
		if err != nil || len(obs.waitingFor) > 0 {
			return err
		}
	} else {
		forgetManagementCluster(apply)
	}
	obs.dependenciesChecked = true
	// A change of an existing Workspace waits for its slot in the template's rollout.
	if wait, err := rolloutGate(tmpl, apply, desired, current, obs); err != nil || wait {
		return err
	}
	adoptPolicies(desired, obs)
	// After every gate that may hold the change back: only the protection variable and
	// the Workspace's protection annotations change here.
	if obs.problem, err = r.protect(ctx, apply, tmpl, desired, current, obs); err != nil || obs.problem != nil {
		return err
	}
	// Right before the write: a provider without generations must not show the old Ready.
	if err := r.markChangePending(ctx, obs, current, desired); err != nil {
		return err
	}
	written, err := r.syncWorkspace(ctx, apply, desired, current)
	if apierrors.IsInvalid(err) || apierrors.IsBadRequest(err) || tooLarge(err) {
		// The provider's CRD, the API server's decoding or its storage refuses what the
		// template renders: retrying cannot help, a change of template or variables will.
		obs.problem = &observed.Problem{Reason: infrav1.TemplateInvalidReason, Message: fmt.Sprintf(
			"the Workspace rendered from WorkspaceTemplate %s is refused by the API server: %s", templateKey(apply), err)}
		return nil
	}
	if err != nil {
		return err
	}
	if written != nil {
		forgetManagementCluster(apply)
		obs.workspace = written
		ctrl.LoggerFrom(ctx).V(2).Info("Applied Workspace", "workspace", obs.workspaceName, "created", current == nil)
	}
	return nil
}

// desiredWorkspace loads the template and renders it. A template that is missing or
// cannot render is a problem for the status, not an error: its watch brings the fix. The
// template is returned when it was read, for what it marks sensitive.
func (r *Reconciler) desiredWorkspace(ctx context.Context, apply *infrav1.WorkspaceTemplateApply) (*infrav1.WorkspaceTemplate, *workspace.Workspace, *observed.Problem, error) {
	key := templateKey(apply)
	if prob, err := r.templateRefRefused(ctx, apply); err != nil || prob != nil {
		return nil, nil, prob, err
	}
	tmpl := &infrav1.WorkspaceTemplate{}
	if err := r.Client.Get(ctx, key, tmpl); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil, &observed.Problem{Reason: infrav1.TemplateNotFoundReason, Message: fmt.Sprintf("WorkspaceTemplate %s not found", key)}, nil
		}
		return nil, nil, nil, fmt.Errorf("getting WorkspaceTemplate %s: %w", key, err)
	}
	if err := render.ValidateTemplate(r.API, tmpl); err != nil {
		return tmpl, nil, templateProblem(key, err), nil
	}
	desired, err := render.Workspace(r.API, tmpl, apply)
	if err != nil {
		return tmpl, nil, templateProblem(key, err), nil
	}
	if prob, err := r.referencesRefused(ctx, apply, desired); err != nil || prob != nil {
		return tmpl, nil, prob, err
	}
	return tmpl, desired, unappliable(key, apply, desired), nil
}

// unappliable says why the API server cannot take a rendered Workspace whatever the
// number of tries, or nil: larger than etcd stores, or holding a character that JSON
// carries but server-side apply, which decodes its body as YAML, refuses.
func unappliable(key client.ObjectKey, apply *infrav1.WorkspaceTemplateApply, desired *workspace.Workspace) *observed.Problem {
	encoded, err := json.Marshal(desired)
	if err != nil {
		return nil
	}
	if len(encoded) > maxWorkspaceBytes {
		return &observed.Problem{Reason: infrav1.TemplateInvalidReason, Message: fmt.Sprintf(
			"the Workspace rendered from WorkspaceTemplate %s is %d bytes, more than the API server stores (%d): pass less data through variables",
			key, len(encoded), maxWorkspaceBytes)}
	}
	if !bytes.ContainsFunc(encoded, notAppliable) {
		return nil
	}
	var names []string
	for name, value := range apply.Spec.Variables {
		if strings.ContainsFunc(value, notAppliable) {
			names = append(names, name)
		}
	}
	where := "WorkspaceTemplate " + key.String() + " holds"
	switch slices.Sort(names); len(names) {
	case 0:
	case 1:
		where = "variable " + names[0] + " holds"
	default:
		where = "variables " + strings.Join(names, ", ") + " hold"
	}
	return &observed.Problem{Reason: infrav1.TemplateInvalidReason, Message: where + " a character that server-side apply refuses " +
		"(U+007F, a C1 control character other than U+0085, U+FFFE or U+FFFF)"}
}

// notAppliable is a character the YAML decoding of a server-side apply body refuses
// although JSON carries it unescaped; JSON escapes the other control characters.
func notAppliable(r rune) bool {
	return r == 0x7f || (r >= 0x80 && r <= 0x9f && r != 0x85) || r == 0xfffe || r == 0xffff
}

// maxWorkspaceBytes is etcd's default request size limit (--max-request-bytes): a
// Workspace larger than that cannot be stored, and trying again cannot change it.
const maxWorkspaceBytes = 3 << 19

// tooLarge reports an API server refusal of an object for its size: its own request
// limit (413), or etcd's and its client's, which reach the client as internal errors.
func tooLarge(err error) bool {
	if err == nil {
		return false
	}
	if apierrors.IsRequestEntityTooLargeError(err) {
		return true
	}
	var status apierrors.APIStatus
	if !errors.As(err, &status) || status.Status().Code != http.StatusInternalServerError {
		return false
	}
	msg := status.Status().Message
	return strings.Contains(msg, "request is too large") || strings.Contains(msg, "message larger than max")
}

func templateProblem(key client.ObjectKey, err error) *observed.Problem {
	var fe *render.FieldError
	if errors.As(err, &fe) {
		return &observed.Problem{Reason: infrav1.TemplateInvalidReason, Message: fmt.Sprintf("WorkspaceTemplate %s cannot be rendered: %s", key, fe)}
	}
	return &observed.Problem{Reason: infrav1.TemplateInvalidReason, Message: fmt.Sprintf("WorkspaceTemplate %s cannot be rendered", key)}
}

// templateKey is the template's key, its namespace defaulting to the apply's.
func templateKey(apply *infrav1.WorkspaceTemplateApply) client.ObjectKey {
	ns := apply.Spec.TemplateRef.Namespace
	if ns == "" {
		ns = apply.Namespace
	}
	return client.ObjectKey{Namespace: ns, Name: apply.Spec.TemplateRef.Name}
}
