package captcluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/util/conditions"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/render"
)

// Outputs CAPT reads from the VPC Workspace.
const (
	VPCIDOutput             = "vpc_id"
	PrivateSubnetIDsOutput  = "private_subnet_ids"
	PublicSubnetIDsOutput   = "public_subnet_ids"
	AvailabilityZonesOutput = "availability_zones"
)

// applyName is the CAPTCluster's VPC WorkspaceTemplateApply.
func applyName(cc *infrav1.CAPTCluster) string { return render.ChildName(cc.Name, "vpc") }

// vpcVariables are what the VPC template receives (docs/captcluster.md).
func vpcVariables(cc *infrav1.CAPTCluster, cluster *clusterv1.Cluster) map[string]string {
	tags := maps.Clone(cc.Spec.AdditionalTags)
	if tags == nil {
		tags = map[string]string{}
	}
	b, _ := json.Marshal(tags)
	vars := map[string]string{
		"cluster_name":      cluster.Name,
		"cluster_namespace": cluster.Namespace,
		"region":            cc.Spec.Region,
		"tags":              string(b),
	}
	if c := cc.Spec.VPCConfig; c != nil {
		if c.CIDR != "" {
			vars["vpc_cidr"] = c.CIDR
		}
		vars["enable_nat_gateway"] = strconv.FormatBool(c.EnableNATGateway)
		vars["single_nat_gateway"] = strconv.FormatBool(c.SingleNATGateway)
	}
	return vars
}

// reconcileVPCApply creates or updates the VPC WorkspaceTemplateApply; it writes only
// when something differs.
func (r *Reconciler) reconcileVPCApply(ctx context.Context, cc *infrav1.CAPTCluster, cluster *clusterv1.Cluster) (*infrav1.WorkspaceTemplateApply, error) {
	apply := &infrav1.WorkspaceTemplateApply{ObjectMeta: metav1.ObjectMeta{Namespace: cc.Namespace, Name: applyName(cc)}}
	ref := *cc.Spec.VPCTemplateRef
	if ref.Namespace == "" {
		ref.Namespace = cc.Namespace
	}
	result, err := controllerutil.CreateOrPatch(ctx, r.Client, apply, func() error {
		if apply.Labels == nil {
			apply.Labels = map[string]string{}
		}
		apply.Labels[clusterv1.ClusterNameLabel] = cluster.Name
		if v, ok := cc.Labels[clusterv1.WatchLabel]; ok {
			apply.Labels[clusterv1.WatchLabel] = v
		}
		apply.Spec.TemplateRef = ref
		apply.Spec.Variables = vpcVariables(cc, cluster)
		apply.Spec.RetainWorkspaceOnDelete = cc.Spec.RetainVPCOnDelete
		return controllerutil.SetControllerReference(cc, apply, r.Client.Scheme())
	})
	if err != nil {
		return nil, fmt.Errorf("writing WorkspaceTemplateApply %s: %w", apply.Name, err)
	}
	if result == controllerutil.OperationResultCreated {
		r.Recorder.Eventf(cc, apply, "Normal", "WorkspaceTemplateApplyCreated", "Create", "Created WorkspaceTemplateApply %s from WorkspaceTemplate %s/%s", apply.Name, ref.Namespace, ref.Name)
	}
	return apply, nil
}

// vpcFromOutputs reads the VPC's id, subnets and zones; a missing or malformed output is
// a problem naming it.
func vpcFromOutputs(outputs map[string]string) (*infrav1.VPCStatus, []string, *problem) {
	id := outputs[VPCIDOutput]
	if id == "" {
		return nil, nil, &problem{infrav1.VPCOutputsInvalidReason, "the VPC Workspace has no output " + VPCIDOutput}
	}
	vpc := &infrav1.VPCStatus{ID: id}
	var zones []string
	for name, into := range map[string]*[]string{PrivateSubnetIDsOutput: &vpc.PrivateSubnetIDs, PublicSubnetIDsOutput: &vpc.PublicSubnetIDs, AvailabilityZonesOutput: &zones} {
		list, err := stringList(outputs[name])
		if err != nil {
			return nil, nil, &problem{infrav1.VPCOutputsInvalidReason, fmt.Sprintf("output %s %s", name, err)}
		}
		*into = list
	}
	return vpc, zones, nil
}

// identifier is what an AWS id or zone name looks like.
var identifier = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/-]*$`)

// stringList reads a list output: a JSON list of strings, or comma-separated text; each
// item must look like an id or a zone name.
func stringList(v string) ([]string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, nil
	}
	var list []string
	if strings.HasPrefix(v, "[") {
		if err := json.Unmarshal([]byte(v), &list); err != nil {
			return nil, errors.New("is not a list of strings")
		}
	} else {
		for _, p := range strings.Split(v, ",") {
			list = append(list, strings.TrimSpace(p))
		}
	}
	for _, item := range list {
		if !identifier.MatchString(item) {
			return nil, errors.New("holds an item that is not an id or a zone name")
		}
	}
	return list, nil
}

// applyReady reads the apply's Ready condition for its current generation.
func applyReady(a *infrav1.WorkspaceTemplateApply) *metav1.Condition {
	c := conditions.Get(a, infrav1.ReadyCondition)
	if c == nil || c.ObservedGeneration != a.Generation {
		return nil
	}
	return c
}
