package controlplane

import (
	"encoding/json"
	"slices"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	"github.com/capt-dev/capt/internal/workspace"
)

// The outputs of templates/aws/eks that status.eks reports. A module without them (one
// written before them, or not for EKS) reports nothing there: an output that is absent
// is not a state.
const (
	oidcIssuerOutput   = "oidc_issuer_url"
	oidcProviderOutput = "oidc_provider_arn"
	// addonVersionsOutput is a map of each add-on Terraform created or updated (and
	// waited for ACTIVE) to the version EKS runs.
	addonVersionsOutput = "addon_versions"
)

// eksOutputs is what the module reported of the EKS cluster.
type eksOutputs struct {
	issuerURL, providerARN string
	// addonVersions is nil when the module has no addon_versions output (or not a map
	// of strings).
	addonVersions map[string]string
}

// readEKSOutputs reads the EKS outputs of a Workspace's outputs.
func readEKSOutputs(outputs workspace.Outputs) *eksOutputs {
	e := &eksOutputs{issuerURL: outputs[oidcIssuerOutput], providerARN: outputs[oidcProviderOutput]}
	if raw, ok := outputs[addonVersionsOutput]; ok {
		var versions map[string]string
		if json.Unmarshal([]byte(raw), &versions) == nil {
			e.addonVersions = versions
			if e.addonVersions == nil {
				e.addonVersions = map[string]string{}
			}
		}
	}
	return e
}

// eksStatus is status.eks: the OIDC issuer and provider as the outputs give them, and the
// state of each add-on the spec asks for, in its order: Active with its version when the
// module's addon_versions lists it, WaitingForNodes when CAPT holds it until a node group
// is Ready, Pending otherwise. Nil when the module reports none of it.
func eksStatus(o *eksOutputs, want []controlplanev1.Addon, held []string) *controlplanev1.EKSStatus {
	st := &controlplanev1.EKSStatus{}
	if o.issuerURL != "" || o.providerARN != "" {
		st.OIDCProvider = &controlplanev1.OIDCProviderStatus{IssuerURL: o.issuerURL, ARN: o.providerARN}
	}
	if o.addonVersions != nil {
		for _, a := range want {
			s := controlplanev1.AddonStatus{Name: a.Name, State: controlplanev1.AddonPending}
			if v, ok := o.addonVersions[a.Name]; ok {
				s.State, s.Version = controlplanev1.AddonActive, v
			} else if slices.Contains(held, a.Name) {
				s.State = controlplanev1.AddonWaitingForNodes
			}
			st.Addons = append(st.Addons, s)
		}
	}
	if st.OIDCProvider == nil && len(st.Addons) == 0 {
		return nil
	}
	return st
}
