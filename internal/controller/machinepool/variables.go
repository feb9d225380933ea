package machinepool

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"strconv"
	"strings"

	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/util/annotations"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/clusterinfra"
	"github.com/capt-dev/capt/internal/controller/kubeversion"
	"github.com/capt-dev/capt/internal/controller/observed"
	"github.com/capt-dev/capt/internal/render"
)

// Outputs CAPT reads from the node group Workspace.
const (
	// NodeGroupNameOutput is the node group's name: its Nodes carry NodeGroupLabel with it.
	NodeGroupNameOutput = "node_group_name"
	// DesiredSizeOutput is the node group's desired size as the cloud reports it: what an
	// autoscaler set, copied into the MachinePool when it owns the size.
	DesiredSizeOutput = "desired_size"
	// VersionOutput is the Kubernetes version the node group runs once applied ("1.31"):
	// how CAPT knows a version change was applied (kubeversion.Evidence), with a provider
	// that does not report the generation it applied.
	VersionOutput = "kubernetes_version"
)

// NodeGroupLabel is the label EKS puts on a managed node group's Nodes, with the node
// group's name.
const NodeGroupLabel = "eks.amazonaws.com/nodegroup"

// applyName is the CAPTMachinePool's node group WorkspaceTemplateApply.
func applyName(mp *infrav1.CAPTMachinePool) string { return render.ChildName(mp.Name, "nodegroup") }

// maxNodeGroupName is EKS's limit on a node group's name.
const maxNodeGroupName = 63

// nodeGroupName is the name CAPT asks for the node group: the pool's name, with what EKS
// refuses ('.') replaced, shortened with a hash when longer than EKS allows. EKS names
// node groups per EKS cluster, and a pool's name is unique in its namespace.
func nodeGroupName(mp *infrav1.CAPTMachinePool) string {
	name := strings.ReplaceAll(mp.Name, ".", "-")
	if len(name) <= maxNodeGroupName {
		return name
	}
	sum := sha256.Sum256([]byte(mp.Name))
	return strings.TrimRight(name[:maxNodeGroupName-9], "-") + "-" + hex.EncodeToString(sum[:])[:8]
}

// autoscaled says an autoscaler owns the pool's size (cluster.x-k8s.io/replicas-managed-by
// on the MachinePool): CAPT passes min and max only and copies what the cloud reports
// into the MachinePool.
func autoscaled(owner *clusterv1.MachinePool) bool {
	return owner != nil && annotations.ReplicasManagedByExternalAutoscaler(owner)
}

// size is the node group's bounds and, unless an autoscaler owns it, its desired size.
type size struct {
	min, max int32
	desired  *int32
}

// desiredSize is the pool's size from its MachinePool's replicas (1 when unset, Cluster
// API's default) and spec.scaling. Without spec.scaling the bounds are the replicas; a
// size outside spec.scaling is a problem, not a size clamped in silence.
func desiredSize(mp *infrav1.CAPTMachinePool, owner *clusterv1.MachinePool) (size, *observed.Problem) {
	replicas := ptr.Deref(owner.Spec.Replicas, 1)
	s := size{min: replicas, max: max(replicas, 1)}
	if sc := mp.Spec.Scaling; sc != nil {
		s.min, s.max = ptr.Deref(sc.MinSize, s.min), ptr.Deref(sc.MaxSize, max(s.max, ptr.Deref(sc.MinSize, 0), 1))
	}
	if s.min > s.max {
		return size{}, &observed.Problem{Reason: infrav1.ScalingInvalidReason, Message: fmt.Sprintf("spec.scaling: minSize %d is above maxSize %d", s.min, s.max)}
	}
	if autoscaled(owner) {
		return s, nil
	}
	if replicas < s.min || replicas > s.max {
		return size{}, &observed.Problem{Reason: infrav1.ScalingInvalidReason, Message: fmt.Sprintf(
			"MachinePool %s wants %d replicas, outside spec.scaling (%d to %d): change one of them", owner.Name, replicas, s.min, s.max)}
	}
	s.desired = &replicas
	return s, nil
}

// variables are what the node group template receives (docs/machinepool.md), as text;
// lists and maps as JSON. version is the Kubernetes version this apply asks for
// (nextVersion: the MachinePool's, held at the control plane's, one minor at a time). An optional field left unset sends no variable
// (docs/workspaces.md, "Variables"): the template's varmap, or else the module's own
// default, decides. The subnets, the version and the size are always sent: they come
// from the infrastructure and the MachinePool, and desired_size "" means an autoscaler
// owns the size.
func variables(mp *infrav1.CAPTMachinePool, cluster *clusterv1.Cluster, infra *clusterinfra.Infrastructure, sz size, version string) map[string]string {
	spec := mp.Spec
	subnets := spec.SubnetIDs
	if len(subnets) == 0 {
		subnets = infra.PrivateSubnetIDs
	}
	vars := map[string]string{
		"cluster_name":       cluster.Name,
		"cluster_namespace":  cluster.Namespace,
		"node_group_name":    nodeGroupName(mp),
		"region":             infra.Region,
		"kubernetes_version": kubeversion.Terraform(version),
		"subnet_ids":         clusterinfra.JSONText(nonNil(subnets)),
		"min_size":           strconv.Itoa(int(sz.min)),
		"max_size":           strconv.Itoa(int(sz.max)),
		"desired_size":       "",
	}
	if sz.desired != nil {
		vars["desired_size"] = strconv.Itoa(int(*sz.desired))
	}
	if len(spec.InstanceTypes) > 0 {
		vars["instance_types"] = clusterinfra.JSONText(spec.InstanceTypes)
	}
	if spec.CapacityType != "" {
		vars["capacity_type"] = eksCapacityType[spec.CapacityType]
	}
	if spec.AMIType != "" {
		vars["ami_type"] = spec.AMIType
	}
	if spec.DiskSizeGiB != nil {
		vars["disk_size"] = strconv.Itoa(int(*spec.DiskSizeGiB))
	}
	if u := spec.UpdateConfig; u != nil && u.MaxUnavailable != nil {
		vars["max_unavailable"] = strconv.Itoa(int(*u.MaxUnavailable))
	}
	if len(spec.Labels) > 0 {
		vars["labels"] = clusterinfra.JSONText(spec.Labels)
	}
	if len(spec.Taints) > 0 {
		taints := make([]eksTaint, 0, len(spec.Taints))
		for _, t := range spec.Taints {
			taints = append(taints, eksTaint{Key: t.Key, Value: t.Value, Effect: eksEffect[t.Effect]})
		}
		vars["taints"] = clusterinfra.JSONText(taints)
	}
	tags := maps.Clone(infra.Tags)
	if tags == nil {
		tags = map[string]string{}
	}
	maps.Copy(tags, spec.AdditionalTags)
	if len(tags) > 0 {
		vars["tags"] = clusterinfra.JSONText(tags)
	}
	return vars
}

// eksTaint is a taint as EKS's API (and the aws provider) names its effect.
type eksTaint struct {
	Key    string `json:"key"`
	Value  string `json:"value"`
	Effect string `json:"effect"`
}

var eksEffect = map[string]string{"NoSchedule": "NO_SCHEDULE", "PreferNoSchedule": "PREFER_NO_SCHEDULE", "NoExecute": "NO_EXECUTE"}

var eksCapacityType = map[infrav1.CapacityType]string{infrav1.CapacityTypeOnDemand: "ON_DEMAND", infrav1.CapacityTypeSpot: "SPOT"}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// TemplateVariables are the variables a pass renders for the node group template, the
// size included, or the problem that stops it (test/awsmodules plans
// templates/aws/nodegroup with them).
func TemplateVariables(mp *infrav1.CAPTMachinePool, owner *clusterv1.MachinePool, cluster *clusterv1.Cluster, infra *clusterinfra.Infrastructure) (map[string]string, error) {
	sz, prob := desiredSize(mp, owner)
	if prob != nil {
		return nil, fmt.Errorf("%s: %s", prob.Reason, prob.Message)
	}
	return variables(mp, cluster, infra, sz, owner.Spec.Template.Spec.Version), nil
}
