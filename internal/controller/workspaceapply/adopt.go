package workspaceapply

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cluster-api/util/conditions"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/tfmodule"
	"github.com/capt-dev/capt/internal/workspace"
)

// Adopting existing Terraform state (spec.adopt, docs/adopt.md). provider-terraform
// v0.21.2 selects a Workspace's state by its external name and, with every management
// policy, applies whatever its plan finds in the same reconcile: a Workspace pointed at
// the wrong state, or at state its module does not describe exactly, would create a
// second cluster or change the one that runs. So:
//   - no Workspace is created until the state is confirmed (the kubernetes backend: its
//     Secret exists, decodes as Terraform state and holds resources; other backends
//     cannot be read from here and rely on the next step alone);
//   - the Workspace is created with managementPolicies ["Observe"]: provider-terraform
//     then only plans (crossplane-runtime calls neither Create nor Update, nor Delete on
//     deletion), sets Ready=True only when the plan shows no difference, and still
//     publishes the outputs; a state without resources or outputs is reported
//     ("external resource does not exist") and nothing is created, even in a wrong
//     Terraform workspace;
//   - Ready=True for the current rendering is the proof that the plan is a no-op: the
//     apply is then Adopted and the Workspace gets the template's own policies. A plan
//     that differs (Synced True, Ready not True) waits for a person, who reads the plan
//     and fixes the owner or template, or approves these changes with a token;
//   - on deletion the adopted Workspace is let go without a destroy unless
//     spec.adopt.deletionPolicy is Delete.

// crossplaneFinalizer is the finalizer crossplane-runtime's managed reconciler puts on
// every managed resource, provider-terraform's Workspaces included.
const crossplaneFinalizer = "finalizer.managedresource.crossplane.io"

// adoptedWorkspaceIndex indexes applies by the Terraform workspace they adopt, so that
// the kubernetes backend's state Secret (labelled with its workspace) wakes them.
const adoptedWorkspaceIndex = "spec.adopt.terraformWorkspace"

// stateNotFoundMessage is crossplane-runtime's error when an Observe-only resource does
// not exist: for provider-terraform, a state with neither resources nor outputs.
const stateNotFoundMessage = "external resource does not exist"

// adoption is what a pass found of an adopting apply.
type adoption struct {
	phase infrav1.AdoptionPhase
	// stateSecret is the kubernetes backend's state Secret ("namespace/name"), if known.
	stateSecret string
	// token names the changes the plan shows (ChangesPending).
	token string
	// approved: a person approved token's changes in this pass or before.
	approved bool
	// adoptedNow: this pass found the state adopted.
	adoptedNow bool
	// reason and message say why the apply is not adopted yet (Ready and Adopted).
	reason, message string
	// changed: the pass writes another rendering over an Observe-only Workspace, whose
	// Ready must not speak for it (markChangePending).
	changed bool
}

// observeOnly are the management policies of a Workspace that only plans.
var observeOnly = []infrav1.ManagementAction{"Observe"}

// isObserveOnly says w only plans.
func isObserveOnly(w *workspace.Workspace) bool {
	return slices.Equal(w.Spec.ManagementPolicies, observeOnly)
}

// adoptionInput is what decideAdoption reads: the pure part of an adoption.
type adoptionInput struct {
	adopt *infrav1.Adoption
	// status is the apply's status.adoption.
	status *infrav1.AdoptionStatus
	// approval is the apply's ApproveAdoptionChangesAnnotation.
	approval string
	// current is the Workspace, nil when it does not exist.
	current *workspace.Workspace
	// hash is the rollout hash of the rendering (the Terraform workspace included).
	hash string
	// apply is the apply's key, for the approval command.
	apply client.ObjectKey
}

// decideAdoption says where an apply whose Workspace exists stands: adopted (the
// template's policies), or held Observe-only with the reason.
func decideAdoption(in adoptionInput, workspaceName string) adoption {
	a := adoption{phase: infrav1.AdoptionObserving}
	if in.status != nil {
		a.stateSecret = in.status.StateSecret
		a.approved = in.status.Approved
	}
	w := in.current
	tfws := in.adopt.TerraformWorkspace
	if (in.status != nil && in.status.Phase == infrav1.AdoptionAdopted) || (w != nil && !isObserveOnly(w)) {
		// Adopted before; or the Workspace already has other policies, which only CAPT's
		// switch (or a status lost with clusterctl move) explains.
		a.phase = infrav1.AdoptionAdopted
		return a
	}
	if w == nil {
		a.reason, a.message = infrav1.ObservingStateReason, fmt.Sprintf(
			"Workspace %s is created with managementPolicies Observe: it only plans over the state of Terraform workspace %s until a plan changes nothing",
			workspaceName, tfws)
		return a
	}
	current := w.Annotations[infrav1.RolloutHashAnnotation] == in.hash
	a.changed = !current
	sync := w.Condition(workspace.ConditionSynced)
	switch {
	case !current:
		a.reason, a.message = infrav1.ObservingStateReason, fmt.Sprintf(
			"Workspace %s only plans (managementPolicies Observe) over the state of Terraform workspace %s; CAPT is writing a new rendering, its plan is awaited",
			workspaceName, tfws)
	case w.IsReady():
		a.phase, a.adoptedNow = infrav1.AdoptionAdopted, true
	case sync != nil && sync.Status == metav1.ConditionFalse && strings.Contains(sync.Message, stateNotFoundMessage):
		a.reason, a.message = infrav1.AdoptionStateEmptyReason, fmt.Sprintf(
			"provider-terraform found neither resources nor outputs in the state of Terraform workspace %s (Workspace %s, managementPolicies Observe): "+
				"nothing is created; check spec.adopt.terraformWorkspace and the backend of the template's ProviderConfig", tfws, workspaceName)
	case sync != nil && sync.Status == metav1.ConditionTrue && w.ObservedCurrentSpec():
		a.phase = infrav1.AdoptionChangesPending
		a.token = adoptionToken(w, in.hash)
		if in.approval == a.token {
			a.phase, a.adoptedNow, a.approved = infrav1.AdoptionAdopted, true, true
			return a
		}
		a.reason, a.message = infrav1.AdoptionChangesPendingReason, fmt.Sprintf(
			"the plan of Workspace %s over the state of Terraform workspace %s shows changes; nothing is applied (managementPolicies Observe). "+
				"See them in provider-terraform's log (the template's forProvider.enableTerraformCLILogging: true) or with tofu plan on the same module, variables and state; "+
				"fix the owner's fields or the template until the plan changes nothing, or approve exactly these changes: "+
				"kubectl annotate workspacetemplateapply -n %s %s %s=%s --overwrite",
			workspaceName, tfws, in.apply.Namespace, in.apply.Name, infrav1.ApproveAdoptionChangesAnnotation, a.token)
	default:
		a.reason, a.message = infrav1.ObservingStateReason, fmt.Sprintf(
			"Workspace %s only plans (managementPolicies Observe) over the state of Terraform workspace %s until a plan changes nothing; its first plan is awaited",
			workspaceName, tfws)
	}
	return a
}

// adoptionToken names the changes a Workspace's plan shows: the Workspace (its UID) and
// the rendering planned. Another rendering, or another Workspace, is another token.
func adoptionToken(w *workspace.Workspace, hash string) string {
	sum := sha256.Sum256([]byte(string(w.UID) + "/" + hash))
	return hex.EncodeToString(sum[:8])
}

// adoptGate runs before the Workspace is created or changed, for an apply with
// spec.adopt: desired gets the Terraform workspace as its external name; a Workspace
// that exists with another is left alone; no Workspace is created until the state is
// confirmed. It says whether the pass stops here.
func (r *Reconciler) adoptGate(ctx context.Context, apply *infrav1.WorkspaceTemplateApply, desired, current *workspace.Workspace, obs *observation) (bool, error) {
	adopt := apply.Spec.Adopt
	if adopt == nil {
		return false, nil
	}
	if desired.Annotations == nil {
		desired.Annotations = map[string]string{}
	}
	desired.Annotations[infrav1.ExternalNameAnnotation] = adopt.TerraformWorkspace
	// Created with the provider's own finalizer: crossplane-runtime v1.16 adds it in the
	// first reconcile by an Update whose answer replaces the status it has just observed,
	// so that reconcile would write Synced True without Ready, which reads as a plan that
	// shows changes until the next poll (10 minutes by default), even over a state it does
	// not change. Already there, it costs no Update, and the first plan's Ready stays.
	if !slices.Contains(desired.Finalizers, crossplaneFinalizer) {
		desired.Finalizers = append(desired.Finalizers, crossplaneFinalizer)
	}
	if current != nil && current.Annotations[infrav1.ExternalNameAnnotation] != adopt.TerraformWorkspace {
		obs.adoption = &adoption{phase: infrav1.AdoptionObserving, reason: infrav1.AdoptionConflictReason, message: fmt.Sprintf(
			"Workspace %s exists with the state of Terraform workspace %q, not %q (spec.adopt.terraformWorkspace): CAPT never moves a Workspace to another state; it is left as it is",
			obs.workspaceName, current.Annotations[infrav1.ExternalNameAnnotation], adopt.TerraformWorkspace)}
		return true, nil
	}
	hash, err := rolloutHash(desired)
	if err != nil {
		return false, err
	}
	a := decideAdoption(adoptionInput{adopt: adopt, status: apply.Status.Adoption, current: current, hash: hash,
		approval: apply.Annotations[infrav1.ApproveAdoptionChangesAnnotation], apply: client.ObjectKeyFromObject(apply)}, obs.workspaceName)
	obs.adoption = &a
	if current != nil || a.phase == infrav1.AdoptionAdopted {
		return false, nil
	}
	wait, secret, err := r.confirmState(ctx, apply, desired)
	if err != nil {
		return false, err
	}
	a.stateSecret = secret
	if wait != "" {
		a.phase = infrav1.AdoptionWaitingForState
		obs.waitingFor, obs.waitReason = []string{wait}, infrav1.WaitingForTerraformStateReason
		return true, nil
	}
	return false, nil
}

// adoptPolicies makes desired only plan until the state is adopted. Run after the
// rollout gate: the policy is not part of the rendering a rollout stages, so adopting
// needs no slot.
func adoptPolicies(desired *workspace.Workspace, obs *observation) {
	if obs.adoption != nil && obs.adoption.phase != infrav1.AdoptionAdopted {
		desired.Spec.ManagementPolicies = slices.Clone(observeOnly)
	}
}

// confirmState says what the state to adopt waits for ("" when nothing), and the
// kubernetes backend's state Secret it read. Only that backend can be read from here:
// its Secret must exist, decode as Terraform state and hold at least one resource. A
// ProviderConfig that declares its state shared, or whose kubernetes backend is on
// another API server (host), or another backend, is not checked: the Observe-only
// Workspace is then the only guard.
func (r *Reconciler) confirmState(ctx context.Context, apply *infrav1.WorkspaceTemplateApply, desired *workspace.Workspace) (string, string, error) {
	tfws := apply.Spec.Adopt.TerraformWorkspace
	key := r.providerConfigKey(apply, desired)
	pc := &unstructured.Unstructured{}
	pc.SetGroupVersionKind(r.providerConfig().GroupVersionKind())
	// The cache holds ProviderConfigs as metadata only; this read happens only before an
	// adopting apply's Workspace exists.
	err := r.APIReader.Get(ctx, key, pc)
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Sprintf("ProviderConfig %s (not found), whose backend holds the state of Terraform workspace %s", key.Name, tfws), "", nil
	case err != nil:
		return "", "", fmt.Errorf("getting ProviderConfig %s: %w", key.Name, err)
	case pc.GetAnnotations()[infrav1.SharedTerraformStateAnnotation] == "true":
		return "", "", nil
	}
	configuration, _, _ := unstructured.NestedString(pc.Object, "spec", "configuration")
	backendFile, _, _ := unstructured.NestedString(pc.Object, "spec", "backendFile")
	backend, err := tfmodule.ReadBackend(configuration, backendFile)
	if err != nil {
		return fmt.Sprintf("a readable backend in ProviderConfig %s (%v) to confirm the state of Terraform workspace %s", key.Name, err, tfws), "", nil
	}
	if backend.Type != "kubernetes" || backend.Remote {
		return "", "", nil
	}
	secretKey := client.ObjectKey{Namespace: backend.Namespace, Name: backend.StateSecretName(tfws)}
	where := fmt.Sprintf("the Terraform state of workspace %s: Secret %s (ProviderConfig %s's kubernetes backend)", tfws, secretKey, key.Name)
	secret := &corev1.Secret{}
	err = r.APIReader.Get(ctx, secretKey, secret)
	switch {
	case apierrors.IsNotFound(err):
		return where + " not found; no Workspace is created until it exists: check spec.adopt.terraformWorkspace", secretKey.String(), nil
	case err != nil:
		return "", "", fmt.Errorf("getting Secret %s: %w", secretKey, err)
	}
	state, err := tfmodule.ReadState(secret.Data["tfstate"])
	if err != nil {
		return fmt.Sprintf("%s, which cannot be read (%v)", where, err), secretKey.String(), nil
	}
	if state.Resources == 0 {
		return where + ", which holds no resource: adopting it would create everything", secretKey.String(), nil
	}
	return "", secretKey.String(), nil
}

// setAdoptionStatus writes status.adoption and the Adopted condition of an adopting
// apply; a pass that did not get to the adoption keeps both.
func setAdoptionStatus(apply *infrav1.WorkspaceTemplateApply, obs *observation) {
	adopt := apply.Spec.Adopt
	if adopt == nil {
		apply.Status.Adoption = nil
		return
	}
	st := apply.Status.Adoption
	if st == nil {
		st = &infrav1.AdoptionStatus{}
		apply.Status.Adoption = st
	}
	st.DeletionPolicy = infrav1.AdoptionRetain
	if !adopt.Retains() {
		st.DeletionPolicy = infrav1.AdoptionDelete
	}
	a := obs.adoption
	if a == nil {
		return
	}
	st.Phase, st.ChangesToken, st.Approved = a.phase, a.token, a.approved
	if a.stateSecret != "" {
		st.StateSecret = a.stateSecret
	}
	if a.adoptedNow && st.AdoptedTime == nil {
		st.AdoptedTime = &obs.now
	}
	c := metav1.Condition{Type: infrav1.AdoptedCondition, Status: metav1.ConditionFalse, Reason: a.reason, Message: obs.redactor.Message(a.message)}
	switch {
	case a.phase == infrav1.AdoptionAdopted:
		how := "its plan over the existing state changed nothing"
		if st.Approved {
			how = "a person approved the changes of its plan over the existing state"
		}
		c = metav1.Condition{Type: infrav1.AdoptedCondition, Status: metav1.ConditionTrue, Reason: infrav1.StateAdoptedReason, Message: fmt.Sprintf(
			"Workspace %s took over the state of Terraform workspace %s: %s; on deletion: %s", obs.workspaceName, adopt.TerraformWorkspace, how, deletionWords(adopt))}
	case len(obs.waitingFor) > 0 && obs.waitReason == infrav1.WaitingForTerraformStateReason:
		c.Reason, c.Message = infrav1.WaitingForTerraformStateReason, "Waiting for "+strings.Join(obs.waitingFor, ", ")
	}
	conditions.Set(apply, c)
}

// deletionWords says what deleting an adopting apply does.
func deletionWords(adopt *infrav1.Adoption) string {
	if adopt.Retains() {
		return "retained (the Workspace goes without a destroy; the resources and the Terraform state stay)"
	}
	return "destroyed (spec.adopt.deletionPolicy Delete)"
}

// adoptionHold is the apply's Ready while an adoption holds the Workspace Observe-only.
func adoptionHold(obs *observation) (metav1.Condition, bool) {
	a := obs.adoption
	if a == nil || a.phase == infrav1.AdoptionAdopted || a.reason == "" || obs.workspace == nil {
		return metav1.Condition{}, false
	}
	if a.reason == infrav1.ObservingStateReason && obs.workspace.SyncFailed() {
		// A plan that failed says why itself (WorkspaceNotSynced).
		return metav1.Condition{}, false
	}
	return metav1.Condition{Type: infrav1.ReadyCondition, Status: metav1.ConditionFalse, Reason: a.reason, Message: obs.redactor.Message(a.message)}, true
}

// releaseAdopted lets an adopted Workspace go without a destroy, as the abandon
// annotation does (spec.adopt.deletionPolicy Retain, the default).
func (r *Reconciler) releaseAdopted(ctx context.Context, apply *infrav1.WorkspaceTemplateApply, w *workspace.Workspace) error {
	return r.deleteWithoutDestroy(ctx, w, func() {
		ctrl.LoggerFrom(ctx).Info("Releasing adopted Workspace without a destroy", "workspace", w.Name, "terraformWorkspace", apply.Spec.Adopt.TerraformWorkspace)
		if r.Recorder != nil {
			r.Recorder.Eventf(apply, nil, "Normal", infrav1.AdoptedWorkspaceReleasedReason, "Delete",
				"Released adopted Workspace %s without a destroy (spec.adopt.deletionPolicy Retain): its resources and the state of Terraform workspace %s stay",
				w.Name, apply.Spec.Adopt.TerraformWorkspace)
		}
	})
}

// stateSecretToApplies maps a kubernetes backend state Secret (labelled with its
// Terraform workspace) to the applies that adopt that workspace.
func (r *Reconciler) stateSecretToApplies(ctx context.Context, o client.Object) []reconcile.Request {
	labels := o.GetLabels()
	if labels["tfstate"] != "true" || labels["tfstateWorkspace"] == "" {
		return nil
	}
	list := &infrav1.WorkspaceTemplateApplyList{}
	if err := r.Client.List(ctx, list, client.MatchingFields{adoptedWorkspaceIndex: labels["tfstateWorkspace"]}); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing WorkspaceTemplateApplies by adopted Terraform workspace")
		return nil
	}
	requests := make([]reconcile.Request, 0, len(list.Items))
	for i := range list.Items {
		// An adopted apply has nothing to wait for: the state's later writes (every apply
		// of its Workspace) bring it no pass.
		if st := list.Items[i].Status.Adoption; st == nil || st.Phase != infrav1.AdoptionAdopted {
			requests = append(requests, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
		}
	}
	return requests
}

// stateSecrets passes the events of Secrets the kubernetes backend labels as state.
func stateSecrets() predicate.Predicate {
	return predicate.NewPredicateFuncs(func(o client.Object) bool { return o.GetLabels()["tfstate"] == "true" })
}

// adoptedWorkspace is the index value of an apply: the Terraform workspace it adopts.
func adoptedWorkspace(o client.Object) []string {
	if a := o.(*infrav1.WorkspaceTemplateApply); a.Spec.Adopt != nil {
		return []string{a.Spec.Adopt.TerraformWorkspace}
	}
	return nil
}

// adoptionHeld says the apply's Workspace only plans and Ready says why.
func adoptionHeld(obs *observation) bool {
	_, held := adoptionHold(obs)
	return held
}
