package controlplane

import (
	"slices"
	"strconv"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	"github.com/capt-dev/capt/internal/controller/clusterinfra"
)

// eksVariables adds the variables of the EKS settings (docs/controlplane.md, "EKS
// settings") to vars. Each is sent only when its field is set: the template's varmap, or
// else the module's default, decides otherwise (capt_principal_arn and
// bootstrap_cluster_creator_admin_permissions lived in the varmap before they were
// fields, and still may). Lists and maps are JSON text, as the other variables.
func eksVariables(e *controlplanev1.EKSSettings, vars map[string]string) {
	if a := e.Access; a != nil {
		if a.CAPTPrincipalARN != "" {
			vars["capt_principal_arn"] = a.CAPTPrincipalARN
		}
		if a.BootstrapClusterCreatorAdminPermissions != nil {
			vars["bootstrap_cluster_creator_admin_permissions"] = strconv.FormatBool(*a.BootstrapClusterCreatorAdminPermissions)
		}
		if len(a.Entries) > 0 {
			vars["access_entries"] = clusterinfra.JSONText(a.Entries)
		}
	}
	if len(e.Logging) > 0 {
		// Sorted: a reordered list is the same setting, and must not change the apply.
		types := slices.Clone(e.Logging)
		slices.Sort(types)
		vars["enabled_cluster_log_types"] = clusterinfra.JSONText(types)
	}
	if enc := e.Encryption; enc != nil {
		if enc.KeyARN != "" {
			vars["encryption_kms_key_arn"] = enc.KeyARN
		}
		if enc.CreateKey {
			vars["create_kms_key"] = "true"
		}
	}
	if e.AssociateOIDCProvider != nil {
		vars["create_oidc_provider"] = strconv.FormatBool(*e.AssociateOIDCProvider)
	}
	if p := e.PodIdentity; p != nil && len(p.Associations) > 0 {
		vars["pod_identity_associations"] = clusterinfra.JSONText(p.Associations)
	}
	if e.UpgradePolicy != "" {
		vars["support_type"] = e.UpgradePolicy
	}
	if e.BootstrapSelfManagedAddons != nil {
		vars["bootstrap_self_managed_addons"] = strconv.FormatBool(*e.BootstrapSelfManagedAddons)
	}
	if r := e.Role; r != nil {
		if len(r.AdditionalPolicies) > 0 {
			vars["role_additional_policy_arns"] = clusterinfra.JSONText(r.AdditionalPolicies)
		}
		if r.PermissionsBoundary != "" {
			vars["role_permissions_boundary"] = r.PermissionsBoundary
		}
	}
}

// WantedAddons are the add-ons the spec asks for: spec.controlPlaneConfig.addons, and the
// Pod Identity agent when podIdentity.agent asks for it and the list does not name it
// (the list's entry, with its own settings, wins).
func WantedAddons(cp *controlplanev1.CAPTControlPlane) []controlplanev1.Addon {
	cfg := cp.Spec.ControlPlaneConfig
	if cfg == nil {
		return nil
	}
	addons := cfg.Addons
	if cfg.PodIdentity != nil && cfg.PodIdentity.Agent &&
		!slices.ContainsFunc(addons, func(a controlplanev1.Addon) bool { return a.Name == controlplanev1.PodIdentityAgentAddon }) {
		addons = append(slices.Clone(addons), controlplanev1.Addon{Name: controlplanev1.PodIdentityAgentAddon})
	}
	return addons
}
