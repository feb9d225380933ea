package captcluster

import (
	"encoding/json"
	"strconv"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/render"
)

// applyName is the CAPTCluster's VPC WorkspaceTemplateApply.
func applyName(cc *infrav1.CAPTCluster) string { return render.ChildName(cc.Name, "vpc") }

// VPCVariables are what the VPC template receives (docs/captcluster.md); test/awsmodules
// plans templates/aws/vpc with them. An optional field left unset sends no variable
// (docs/workspaces.md, "Variables"): the template's varmap, or else the module's own
// default, decides.
func VPCVariables(cc *infrav1.CAPTCluster, cluster *clusterv1.Cluster) map[string]string {
	vars := map[string]string{
		"cluster_name":      cluster.Name,
		"cluster_namespace": cluster.Namespace,
		"region":            cc.Spec.Region,
	}
	if len(cc.Spec.AdditionalTags) > 0 {
		b, _ := json.Marshal(cc.Spec.AdditionalTags)
		vars["tags"] = string(b)
	}
	if c := cc.Spec.VPCConfig; c != nil {
		if c.CIDR != "" {
			vars["vpc_cidr"] = c.CIDR
		}
		if c.EnableNATGateway != nil {
			vars["enable_nat_gateway"] = strconv.FormatBool(*c.EnableNATGateway)
		}
		if c.SingleNATGateway != nil {
			vars["single_nat_gateway"] = strconv.FormatBool(*c.SingleNATGateway)
		}
	}
	return vars
}
