package machinepool

import (
	"context"
	"fmt"
	"regexp"
	"strconv"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/childapply"
	"github.com/capt-dev/capt/internal/controller/clusterinfra"
	"github.com/capt-dev/capt/internal/controller/kubeversion"
	"github.com/capt-dev/capt/internal/controller/observed"
	"github.com/capt-dev/capt/internal/workspace"
)

// reconcileNormal waits for the Cluster's control plane and infrastructure, keeps the
// node group's WorkspaceTemplateApply in sync with the pool and its MachinePool, reads
// the node group's name from its Workspace, and the node group's Nodes from the workload
// cluster. It records what it finds in s; the deferred status reads it. Every wait ends
// with a watch event: the Cluster, the CAPTCluster, the apply, its Workspace, the Nodes,
// ClusterCache's connection.
func (r *Reconciler) reconcileNormal(ctx context.Context, s *scope) (ctrl.Result, error) {
	mp, owner, cluster := s.mp, s.owner, s.cluster
	if !ptr.Deref(cluster.Status.Initialization.ControlPlaneInitialized, false) {
		s.workspaceProblem = &observed.Problem{Reason: infrav1.WaitingForControlPlaneReason, Message: fmt.Sprintf("Waiting for the control plane of Cluster %s to be initialized", cluster.Name)}
		return ctrl.Result{}, nil
	}
	infra, waiting, err := clusterinfra.Read(ctx, r.Client, cluster)
	if err != nil {
		return ctrl.Result{}, err
	}
	if waiting != "" {
		s.workspaceProblem = &observed.Problem{Reason: infrav1.WaitingForInfrastructureReason, Message: "Waiting for " + waiting}
		return ctrl.Result{}, nil
	}
	if len(mp.Spec.SubnetIDs) == 0 && len(infra.PrivateSubnetIDs) == 0 {
		s.workspaceProblem = &observed.Problem{Reason: infrav1.WaitingForInfrastructureReason, Message: "No subnets for the node group: the Cluster's infrastructure reports no private subnets, and spec.subnetIDs is empty"}
		return ctrl.Result{}, nil
	}
	// The size the Nodes are measured against: the MachinePool's, which an autoscaler's
	// size is copied into (copyAutoscaledSize).
	s.desired = ptr.To(ptr.Deref(owner.Spec.Replicas, 1))
	sz, prob := desiredSize(mp, owner)
	if prob != nil {
		s.workspaceProblem = prob
		return ctrl.Result{}, r.observeNodes(ctx, s)
	}
	controlPlane, err := r.controlPlaneVersion(ctx, cluster)
	if err != nil {
		return ctrl.Result{}, err
	}
	child, err := r.ensureApply(ctx, s, infra, sz, controlPlane)
	if err != nil {
		return ctrl.Result{}, err
	}
	s.workspaceProblem, s.applyUnknown = child.State(nodeGroupWords)
	s.workspaceReady = s.workspaceProblem == nil && s.applyUnknown == nil
	// The Workspace's outputs are read while it applies a change too (a new size): the
	// node group's name does not change, and its Nodes are worth reporting meanwhile.
	ws := child.Workspace
	if ws != nil {
		group, prob := nodeGroupFromOutputs(ws)
		switch {
		case prob != nil && s.workspaceReady:
			s.workspaceReady, s.workspaceProblem = false, prob
		case prob == nil:
			mp.Status.NodeGroupName = group
		}
	}
	if err := r.observeNodes(ctx, s); err != nil {
		return ctrl.Result{}, err
	}
	if autoscaled(owner) && s.workspaceReady {
		return ctrl.Result{}, r.copyAutoscaledSize(ctx, s, ws)
	}
	return ctrl.Result{}, nil
}

// ensureApply keeps the node group's WorkspaceTemplateApply at the version the node group
// takes next (nextVersion: the MachinePool's, no newer than the control plane's
// status.version, one minor at a time) and records in status.version the version its
// Workspace runs. When the apply reports a step done, the same pass renders the next
// one, as the control plane's upgrade does: a version counts as reached when the apply is
// Ready with it and, after a change, the Workspace shows it (kubeversion.Evidence, from
// the module's kubernetes_version output); the first version is the one the node group
// was created with. A control plane that moves on brings a pass (controlPlaneVersion).
func (r *Reconciler) ensureApply(ctx context.Context, s *scope, infra *clusterinfra.Infrastructure, sz size, controlPlane string) (childapply.Child, error) {
	mp, owner, cluster := s.mp, s.owner, s.cluster
	want := owner.Spec.Template.Spec.Version
	var child childapply.Child
	var err error
	// Two rounds at most: a step found done, then the next step written (the apply then
	// reports on a generation it has not applied yet).
	for range 2 {
		next, held := nextVersion(want, controlPlane, mp.Status.Version)
		s.version = &versionState{want: want, controlPlane: controlPlane, applying: next, held: held}
		child, err = childapply.Observe(ctx, r.Client, r.APIReader, r.API, mp, childapply.Spec{
			Name:        applyName(mp),
			ClusterName: cluster.Name,
			TemplateRef: childapply.TemplateRef(mp.Spec.WorkspaceTemplateRef, mp.Namespace),
			Variables:   variables(mp, cluster, infra, sz, next),
			Adopt:       mp.Spec.Adopt,
		})
		if child.Apply != nil {
			mp.Status.WorkspaceTemplateApplyName = child.Apply.Name
		}
		if err != nil {
			return child, err
		}
		ready := child.Ready
		if ready == nil || ready.Status != metav1.ConditionTrue || child.Apply.Spec.Variables["kubernetes_version"] != kubeversion.Terraform(next) {
			return child, nil
		}
		if running := mp.Status.Version; running != "" && next != "" && running != next {
			// A change of version: Ready must be shown to be Ready with it.
			if child.Workspace == nil {
				return child, nil
			}
			applied, why := kubeversion.Evidence(child.Workspace, next, []string{VersionOutput})
			if s.version.unconfirmed = why; !applied {
				return child, nil
			}
		}
		mp.Status.Version = next
		if after, _ := nextVersion(want, controlPlane, next); after == next {
			return child, nil
		}
	}
	return child, nil
}

// nodeGroupWords are the node group's reasons for its apply's states.
var nodeGroupWords = childapply.Words{Waiting: infrav1.NodeGroupProvisioningReason, Failed: infrav1.NodeGroupFailedReason, Child: "node group"}

// observeNodes reads the Nodes of the node group once its name is known, and keeps
// spec.providerIDList to what it saw.
func (r *Reconciler) observeNodes(ctx context.Context, s *scope) error {
	group := s.mp.Status.NodeGroupName
	if group == "" {
		return nil
	}
	n, unreachable, err := r.readNodes(ctx, s.cluster, group)
	if err != nil {
		return err
	}
	if unreachable != "" {
		s.unreachable = unreachable
		return nil
	}
	s.nodes = n
	s.mp.Spec.ProviderIDList = n.providerIDs
	return nil
}

// copyAutoscaledSize copies the node group's desired size, as the cloud reports it in
// the Workspace's desired_size output, into the MachinePool's spec.replicas, as the
// contract asks of a pool whose size an autoscaler owns. Nothing is written when they
// agree, or when the Workspace reports no size.
func (r *Reconciler) copyAutoscaledSize(ctx context.Context, s *scope, ws *workspace.Workspace) error {
	if ws == nil {
		return nil
	}
	// A module without the output, or with one that is not a size, leaves the
	// MachinePool as it is: the autoscaler's own writes to it stand.
	v, parseErr := strconv.ParseInt(workspace.ReadOutputs(ws, nil)[DesiredSizeOutput], 10, 32)
	if parseErr != nil || v < 0 {
		return nil //nolint:nilerr // not a failure of the pass: nothing to copy
	}
	observed := int32(v)
	s.desired = &observed
	owner := s.owner
	if ptr.Deref(owner.Spec.Replicas, -1) == observed {
		return nil
	}
	base := owner.DeepCopy()
	owner.Spec.Replicas = &observed
	if err := r.Client.Patch(ctx, owner, client.MergeFrom(base)); err != nil {
		return fmt.Errorf("copying the node group's size into MachinePool %s: %w", owner.Name, err)
	}
	ctrl.LoggerFrom(ctx).Info("Copied the autoscaled node group's size into the MachinePool", "MachinePool", klog.KObj(owner), "replicas", observed,
		"managedBy", owner.Annotations[clusterv1.ReplicasManagedByAnnotation])
	return nil
}

// nodeGroupName is what a node group's name looks like (EKS's rule, which is also a
// label value's).
var nodeGroupPattern = regexp.MustCompile(`^[0-9A-Za-z][A-Za-z0-9_-]{0,62}$`)

// nodeGroupFromOutputs reads the node group's name; a missing or malformed output is a
// problem naming it, never quoting it.
func nodeGroupFromOutputs(ws *workspace.Workspace) (string, *observed.Problem) {
	if t := ws.OutputType(NodeGroupNameOutput); t != "" && t != "string" {
		return "", &observed.Problem{Reason: infrav1.NodeGroupOutputsInvalidReason, Message: fmt.Sprintf("output %s is a JSON %s, want a string", NodeGroupNameOutput, t)}
	}
	name := workspace.ReadOutputs(ws, nil)[NodeGroupNameOutput]
	if name == "" {
		return "", &observed.Problem{Reason: infrav1.NodeGroupOutputsInvalidReason, Message: "the node group Workspace has no output " + NodeGroupNameOutput}
	}
	if !nodeGroupPattern.MatchString(name) {
		return "", &observed.Problem{Reason: infrav1.NodeGroupOutputsInvalidReason, Message: fmt.Sprintf(
			"output %s is not a node group name (letters, digits, '-' and '_', at most 63 characters)", NodeGroupNameOutput)}
	}
	return name, nil
}
