package controlplane

import (
	"maps"
	"strconv"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	"github.com/capt-dev/capt/internal/controller/clusterinfra"
	"github.com/capt-dev/capt/internal/render"
)

// applyName is the control plane's WorkspaceTemplateApply.
func applyName(cp *controlplanev1.CAPTControlPlane) string {
	return render.ChildName(cp.Name, "controlplane")
}

// outputsSecretName is where the control plane Workspace writes every output.
func outputsSecretName(cp *controlplanev1.CAPTControlPlane) string {
	return render.ChildName(cp.Name, "controlplane-outputs")
}

// Variables are what the control plane template receives (docs/controlplane.md);
// test/awsmodules plans templates/aws/eks with them.
// version is the Kubernetes version this apply asks for (nextVersion).
func Variables(cp *controlplanev1.CAPTControlPlane, cluster *clusterv1.Cluster, infra *clusterinfra.Infrastructure, version string) map[string]string {
	vars := map[string]string{
		"cluster_name":       cluster.Name,
		"cluster_namespace":  cluster.Namespace,
		"kubernetes_version": terraformVersion(version),
	}
	tags := maps.Clone(infra.Tags)
	if tags == nil {
		tags = map[string]string{}
	}
	maps.Copy(tags, cp.Spec.AdditionalTags)
	vars["tags"] = clusterinfra.JSONText(tags)
	if infra.Region != "" {
		vars["region"] = infra.Region
	}
	if infra.VPCID != "" {
		vars["vpc_id"] = infra.VPCID
	}
	vars["private_subnet_ids"] = clusterinfra.JSONText(nonNil(infra.PrivateSubnetIDs))
	vars["public_subnet_ids"] = clusterinfra.JSONText(nonNil(infra.PublicSubnetIDs))

	public, private, cidrs := true, false, []string{}
	addons := []controlplanev1.Addon{}
	if cfg := cp.Spec.ControlPlaneConfig; cfg != nil {
		if a := cfg.EndpointAccess; a != nil {
			public, private, cidrs = a.Public, a.Private, nonNil(a.PublicCIDRs)
		}
		addons = append(addons, cfg.Addons...)
	}
	vars["endpoint_public_access"] = strconv.FormatBool(public)
	vars["endpoint_private_access"] = strconv.FormatBool(private)
	vars["public_access_cidrs"] = clusterinfra.JSONText(cidrs)
	vars["addons"] = clusterinfra.JSONText(addons)
	return vars
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
