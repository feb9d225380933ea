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
// version is the Kubernetes version this apply asks for (nextVersion), addons the add-ons
// it gets now (addonsToRender: those that need Nodes wait for a node group). An optional field
// left unset sends no variable (docs/workspaces.md, "Variables"): the template's varmap,
// or else the module's own default, decides.
func Variables(cp *controlplanev1.CAPTControlPlane, cluster *clusterv1.Cluster, infra *clusterinfra.Infrastructure, version string, addons []controlplanev1.Addon) map[string]string {
	vars := map[string]string{
		"cluster_name":       cluster.Name,
		"cluster_namespace":  cluster.Namespace,
		"kubernetes_version": terraformVersion(version),
		// The subnets are the infrastructure's, not a field of this object: always sent,
		// so that a template never builds a cluster on subnets CAPT did not give it.
		"private_subnet_ids": clusterinfra.JSONText(nonNil(infra.PrivateSubnetIDs)),
		"public_subnet_ids":  clusterinfra.JSONText(nonNil(infra.PublicSubnetIDs)),
	}
	tags := maps.Clone(infra.Tags)
	if tags == nil {
		tags = map[string]string{}
	}
	maps.Copy(tags, cp.Spec.AdditionalTags)
	if len(tags) > 0 {
		vars["tags"] = clusterinfra.JSONText(tags)
	}
	if infra.Region != "" {
		vars["region"] = infra.Region
	}
	if infra.VPCID != "" {
		vars["vpc_id"] = infra.VPCID
	}
	if len(addons) > 0 {
		vars["addons"] = clusterinfra.JSONText(addons)
	}
	if cfg := cp.Spec.ControlPlaneConfig; cfg != nil && cfg.EndpointAccess != nil {
		a := cfg.EndpointAccess
		// public and private have the CRD's defaults: set once endpointAccess is.
		vars["endpoint_public_access"] = strconv.FormatBool(a.Public)
		vars["endpoint_private_access"] = strconv.FormatBool(a.Private)
		if len(a.PublicCIDRs) > 0 {
			vars["public_access_cidrs"] = clusterinfra.JSONText(a.PublicCIDRs)
		}
	}
	if cfg := cp.Spec.ControlPlaneConfig; cfg != nil {
		eksVariables(&cfg.EKSSettings, vars)
	}
	return vars
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
