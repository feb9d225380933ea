package awsmodules

import (
	"encoding/json"
	"slices"
	"testing"

	"k8s.io/utils/ptr"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	"github.com/capt-dev/capt/internal/controller/controlplane"
)

const (
	viewPolicy  = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"
	adminPolicy = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminPolicy"
	opsRole     = "arn:aws:iam::123456789012:role/ops"
	devRole     = "arn:aws:iam::123456789012:role/dev"
	nodeRole    = "arn:aws:iam::123456789012:role/self-managed-nodes"
	keyARN      = "arn:aws:kms:eu-west-1:123456789012:key/0c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f"
	cniRole     = "arn:aws:iam::123456789012:role/vpc-cni"
	s3Role      = "arn:aws:iam::123456789012:role/s3-reader"
	auditPolicy = "arn:aws:iam::123456789012:policy/audit"
	boundary    = "arn:aws:iam::123456789012:policy/boundary"
)

// eksSettingsPlane is a CAPTControlPlane with every EKS setting of issue 30 set.
func eksSettingsPlane() *controlplanev1.CAPTControlPlane {
	return &controlplanev1.CAPTControlPlane{Spec: controlplanev1.CAPTControlPlaneSpec{
		Version: "v1.31.2",
		ControlPlaneConfig: &controlplanev1.ControlPlaneConfig{
			Addons: []controlplanev1.Addon{{Name: "vpc-cni", AddonSettings: controlplanev1.AddonSettings{
				ConflictResolution: "PRESERVE", ServiceAccountRoleARN: cniRole, PreserveOnDelete: ptr.To(true)}}},
			EKSSettings: controlplanev1.EKSSettings{
				Access: &controlplanev1.AccessConfig{
					CAPTPrincipalARN:                        "arn:aws:iam::123456789012:role/capt",
					BootstrapClusterCreatorAdminPermissions: ptr.To(true),
					Entries: []controlplanev1.AccessEntry{
						{PrincipalARN: opsRole, Type: "STANDARD", AccessPolicies: []controlplanev1.AccessPolicy{
							{PolicyARN: adminPolicy, Scope: controlplanev1.AccessScope{Type: "cluster"}},
							{PolicyARN: viewPolicy, Scope: controlplanev1.AccessScope{Type: "namespace", Namespaces: []string{"team-a", "team-b"}}},
						}},
						{PrincipalARN: nodeRole, Type: "EC2_LINUX"},
					},
				},
				Logging:               []controlplanev1.LogType{"audit", "api"},
				Encryption:            &controlplanev1.Encryption{KeyARN: keyARN},
				AssociateOIDCProvider: ptr.To(true),
				PodIdentity: &controlplanev1.PodIdentity{Agent: true, Associations: []controlplanev1.PodIdentityAssociation{
					{Namespace: "apps", ServiceAccount: "reader", RoleARN: s3Role}}},
				UpgradePolicy:              "STANDARD",
				BootstrapSelfManagedAddons: ptr.To(false),
				Role:                       &controlplanev1.ControlPlaneRole{AdditionalPolicies: []string{auditPolicy}, PermissionsBoundary: boundary},
			},
		},
	}}
}

// TestEKSSettingsReachTheResources plans templates/aws/eks with what CAPT sends for a
// CAPTControlPlane with every EKS setting, through the shipped WorkspaceTemplate (whose
// varmap the typed capt_principal_arn and bootstrap_cluster_creator_admin_permissions
// win over), and reads from the plan that each reaches its AWS resource's argument.
func TestEKSSettingsReachTheResources(t *testing.T) {
	cp := eksSettingsPlane()
	p := planModule(t, "eks", "aws-eks", controlplane.Variables(cp, cluster, infra, cp.Spec.Version, controlplane.WantedAddons(cp)))

	var eks struct {
		EnabledLogTypes            []string `json:"enabled_cluster_log_types"`
		BootstrapSelfManagedAddons *bool    `json:"bootstrap_self_managed_addons"`
		AccessConfig               []struct {
			BootstrapAdmin bool `json:"bootstrap_cluster_creator_admin_permissions"`
		} `json:"access_config"`
		EncryptionConfig []struct {
			Resources []string `json:"resources"`
			Provider  []struct {
				KeyARN string `json:"key_arn"`
			} `json:"provider"`
		} `json:"encryption_config"`
		UpgradePolicy []struct {
			SupportType string `json:"support_type"`
		} `json:"upgrade_policy"`
	}
	p.after(t, "aws_eks_cluster.this", &eks)
	if !slices.Equal(sorted(eks.EnabledLogTypes), []string{"api", "audit"}) {
		t.Errorf("enabled_cluster_log_types %v, want api and audit", eks.EnabledLogTypes)
	}
	if eks.BootstrapSelfManagedAddons == nil || *eks.BootstrapSelfManagedAddons {
		t.Errorf("bootstrap_self_managed_addons %v, want false", eks.BootstrapSelfManagedAddons)
	}
	if len(eks.AccessConfig) != 1 || !eks.AccessConfig[0].BootstrapAdmin {
		t.Errorf("access_config %+v: want bootstrap_cluster_creator_admin_permissions true (the field, over the varmap's false)", eks.AccessConfig)
	}
	if len(eks.EncryptionConfig) != 1 || !slices.Equal(eks.EncryptionConfig[0].Resources, []string{"secrets"}) ||
		len(eks.EncryptionConfig[0].Provider) != 1 || eks.EncryptionConfig[0].Provider[0].KeyARN != keyARN {
		t.Errorf("encryption_config %+v, want the secrets encrypted with %s", eks.EncryptionConfig, keyARN)
	}
	if len(eks.UpgradePolicy) != 1 || eks.UpgradePolicy[0].SupportType != "STANDARD" {
		t.Errorf("upgrade_policy %+v, want STANDARD", eks.UpgradePolicy)
	}

	// Access entries: CAPT's (from the field, over the varmap's empty one) and the others.
	var capt struct {
		PrincipalARN string `json:"principal_arn"`
	}
	p.after(t, "aws_eks_access_entry.capt[0]", &capt)
	if capt.PrincipalARN != "arn:aws:iam::123456789012:role/capt" {
		t.Errorf("CAPT's access entry for %q, want the field's principal", capt.PrincipalARN)
	}
	for principal, typ := range map[string]string{opsRole: "STANDARD", nodeRole: "EC2_LINUX"} {
		var entry struct {
			PrincipalARN string `json:"principal_arn"`
			Type         string `json:"type"`
		}
		p.after(t, `aws_eks_access_entry.entries["`+principal+`"]`, &entry)
		if entry.PrincipalARN != principal || entry.Type != typ {
			t.Errorf("access entry %+v, want %s of type %s", entry, principal, typ)
		}
	}
	for policy, want := range map[string][]string{adminPolicy: nil, viewPolicy: {"team-a", "team-b"}} {
		var assoc struct {
			PrincipalARN string `json:"principal_arn"`
			PolicyARN    string `json:"policy_arn"`
			Scope        []struct {
				Type       string   `json:"type"`
				Namespaces []string `json:"namespaces"`
			} `json:"access_scope"`
		}
		p.after(t, `aws_eks_access_policy_association.entries["`+opsRole+" "+policy+`"]`, &assoc)
		wantType := "cluster"
		if want != nil {
			wantType = "namespace"
		}
		if assoc.PrincipalARN != opsRole || assoc.PolicyARN != policy || len(assoc.Scope) != 1 ||
			assoc.Scope[0].Type != wantType || !slices.Equal(sorted(assoc.Scope[0].Namespaces), want) {
			t.Errorf("access policy association %+v, want %s for %s scoped %s %v", assoc, policy, opsRole, wantType, want)
		}
	}
	if n := p.count("aws_eks_access_policy_association"); n != 3 {
		t.Errorf("%d access policy associations, want 3 (CAPT's and the two of %s; none for the EC2_LINUX entry)", n, opsRole)
	}

	// Add-ons: the listed one with its settings, and the Pod Identity agent.
	var cni struct {
		OnCreate       *string `json:"resolve_conflicts_on_create"`
		OnUpdate       *string `json:"resolve_conflicts_on_update"`
		ServiceAccount *string `json:"service_account_role_arn"`
		Preserve       *bool   `json:"preserve"`
	}
	p.after(t, `aws_eks_addon.this["vpc-cni"]`, &cni)
	if deref(cni.OnCreate) != "NONE" || deref(cni.OnUpdate) != "PRESERVE" || deref(cni.ServiceAccount) != cniRole || cni.Preserve == nil || !*cni.Preserve {
		t.Errorf("vpc-cni: on create %s, on update %s, role %s, preserve %v; want NONE (PRESERVE is for updates), PRESERVE, %s, true",
			deref(cni.OnCreate), deref(cni.OnUpdate), deref(cni.ServiceAccount), cni.Preserve, cniRole)
	}
	var agent struct {
		AddonName string  `json:"addon_name"`
		OnUpdate  *string `json:"resolve_conflicts_on_update"`
	}
	p.after(t, `aws_eks_addon.this["eks-pod-identity-agent"]`, &agent)
	if agent.OnUpdate != nil {
		t.Errorf("the Pod Identity agent's resolve_conflicts_on_update %s, want unset (EKS's default)", *agent.OnUpdate)
	}
	var assoc struct {
		Namespace      string `json:"namespace"`
		ServiceAccount string `json:"service_account"`
		RoleARN        string `json:"role_arn"`
	}
	p.after(t, `aws_eks_pod_identity_association.this["apps/reader"]`, &assoc)
	if assoc.Namespace != "apps" || assoc.ServiceAccount != "reader" || assoc.RoleARN != s3Role {
		t.Errorf("pod identity association %+v, want apps/reader with %s", assoc, s3Role)
	}

	// IRSA: the OIDC provider, for the issuer known after apply.
	var oidc struct {
		ClientIDs   []string `json:"client_id_list"`
		Thumbprints []string `json:"thumbprint_list"`
	}
	p.after(t, "aws_iam_openid_connect_provider.this[0]", &oidc)
	if !slices.Equal(oidc.ClientIDs, []string{"sts.amazonaws.com"}) || len(oidc.Thumbprints) != 1 {
		t.Errorf("OIDC provider %+v, want the audience sts.amazonaws.com", oidc)
	}
	if unknown := afterUnknown(t, p, "aws_iam_openid_connect_provider.this[0]"); unknown["url"] != true {
		t.Errorf("OIDC provider url unknown=%v at plan, want the cluster's issuer, known after apply", unknown["url"])
	}
	for _, out := range []string{"oidc_issuer_url", "oidc_provider_arn"} {
		if string(p.OutputChanges[out].AfterUnknown) != "true" {
			t.Errorf("output %s known at plan (%s), want known after apply", out, p.OutputChanges[out].After)
		}
	}

	// The control plane role: its boundary, the extra policy and the key's use.
	var role struct {
		Boundary *string `json:"permissions_boundary"`
	}
	p.after(t, "aws_iam_role.cluster", &role)
	if deref(role.Boundary) != boundary {
		t.Errorf("role permissions_boundary %s, want %s", deref(role.Boundary), boundary)
	}
	var attachment struct {
		PolicyARN string `json:"policy_arn"`
	}
	p.after(t, `aws_iam_role_policy_attachment.additional["`+auditPolicy+`"]`, &attachment)
	if attachment.PolicyARN != auditPolicy {
		t.Errorf("extra policy attachment %+v, want %s", attachment, auditPolicy)
	}
	var keyUse struct {
		Policy string `json:"policy"`
	}
	p.after(t, "aws_iam_role_policy.encryption[0]", &keyUse)
	var doc struct {
		Statement []struct {
			Resource any `json:"Resource"`
		}
	}
	if err := json.Unmarshal([]byte(keyUse.Policy), &doc); err != nil || len(doc.Statement) != 1 || doc.Statement[0].Resource != keyARN {
		t.Errorf("the role's key policy %s (%v), want one statement on %s", keyUse.Policy, err, keyARN)
	}
	if n := p.count("aws_kms_key"); n != 0 {
		t.Errorf("%d KMS keys created with a key given, want 0", n)
	}
}

// TestEKSModuleCreatesTheKey: encryption with createKey makes the module create the key
// and encrypt the Secrets with it.
func TestEKSModuleCreatesTheKey(t *testing.T) {
	cp := &controlplanev1.CAPTControlPlane{Spec: controlplanev1.CAPTControlPlaneSpec{Version: "v1.31.2",
		ControlPlaneConfig: &controlplanev1.ControlPlaneConfig{EKSSettings: controlplanev1.EKSSettings{
			Encryption: &controlplanev1.Encryption{CreateKey: true}}}}}
	p := planModule(t, "eks", "aws-eks", controlplane.Variables(cp, cluster, infra, cp.Spec.Version, nil))
	var key struct {
		Rotation bool `json:"enable_key_rotation"`
	}
	p.after(t, "aws_kms_key.secrets[0]", &key)
	if !key.Rotation {
		t.Errorf("the created key rotates=%v, want true", key.Rotation)
	}
	var eks struct {
		EncryptionConfig []struct {
			Provider []any `json:"provider"`
		} `json:"encryption_config"`
	}
	p.after(t, "aws_eks_cluster.this", &eks)
	if len(eks.EncryptionConfig) != 1 || len(eks.EncryptionConfig[0].Provider) != 1 {
		t.Fatalf("encryption_config %+v, want one, with the created key", eks.EncryptionConfig)
	}
	unknown := afterUnknown(t, p, "aws_eks_cluster.this")
	ec, _ := unknown["encryption_config"].([]any)
	if len(ec) != 1 {
		t.Fatalf("encryption_config's unknowns %v", unknown["encryption_config"])
	}
	prov, _ := ec[0].(map[string]any)["provider"].([]any)
	if len(prov) != 1 || prov[0].(map[string]any)["key_arn"] != true {
		t.Errorf("encryption key_arn unknown=%v at plan, want the created key's ARN, known after apply", prov)
	}
}

// afterUnknown is the plan's after_unknown of a resource.
func afterUnknown(t *testing.T, p *plan, address string) map[string]any {
	t.Helper()
	for _, rc := range p.ResourceChanges {
		if rc.Address == address {
			var m map[string]any
			if err := json.Unmarshal(rc.Change.AfterUnknown, &m); err != nil {
				t.Fatalf("%s after_unknown: %v", address, err)
			}
			return m
		}
	}
	t.Fatalf("the plan creates no %s", address)
	return nil
}
