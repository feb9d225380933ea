package controlplane

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"testing"

	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/clusterinfra"
	"github.com/capt-dev/capt/internal/testenv"
	"github.com/capt-dev/capt/internal/workspace"
)

// TestEKSVariablesSendOnlyWhatIsSet: each EKS setting becomes its variable, in the shape
// templates/aws/eks decodes, and a setting left unset sends none (the varmap's, or the
// module's default, decides).
func TestEKSVariablesSendOnlyWhatIsSet(t *testing.T) {
	const role = "arn:aws:iam::123456789012:role/ops"
	for _, tc := range []struct {
		name string
		eks  controlplanev1.EKSSettings
		want map[string]string
	}{
		{"nothing set", controlplanev1.EKSSettings{}, map[string]string{}},
		{"empty blocks", controlplanev1.EKSSettings{Access: &controlplanev1.AccessConfig{}, PodIdentity: &controlplanev1.PodIdentity{},
			Role: &controlplanev1.ControlPlaneRole{}, Encryption: &controlplanev1.Encryption{}}, map[string]string{}},
		{"CAPT's principal", controlplanev1.EKSSettings{Access: &controlplanev1.AccessConfig{CAPTPrincipalARN: role}},
			map[string]string{"capt_principal_arn": role}},
		{"creator admin false is sent", controlplanev1.EKSSettings{Access: &controlplanev1.AccessConfig{BootstrapClusterCreatorAdminPermissions: ptr.To(false)}},
			map[string]string{"bootstrap_cluster_creator_admin_permissions": "false"}},
		{"access entries", controlplanev1.EKSSettings{Access: &controlplanev1.AccessConfig{Entries: []controlplanev1.AccessEntry{{PrincipalARN: role, Type: "STANDARD",
			AccessPolicies: []controlplanev1.AccessPolicy{{PolicyARN: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy",
				Scope: controlplanev1.AccessScope{Type: "namespace", Namespaces: []string{"a"}}}}}}}},
			map[string]string{"access_entries": `[{"principalARN":"` + role + `","type":"STANDARD","accessPolicies":[{"policyARN":"arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy","scope":{"type":"namespace","namespaces":["a"]}}]}]`}},
		{"log types, sorted", controlplanev1.EKSSettings{Logging: []controlplanev1.LogType{"scheduler", "api"}},
			map[string]string{"enabled_cluster_log_types": `["api","scheduler"]`}},
		{"a key given", controlplanev1.EKSSettings{Encryption: &controlplanev1.Encryption{KeyARN: "arn:aws:kms:eu-west-1:123456789012:key/k"}},
			map[string]string{"encryption_kms_key_arn": "arn:aws:kms:eu-west-1:123456789012:key/k"}},
		{"a key created", controlplanev1.EKSSettings{Encryption: &controlplanev1.Encryption{CreateKey: true}}, map[string]string{"create_kms_key": "true"}},
		{"OIDC provider", controlplanev1.EKSSettings{AssociateOIDCProvider: ptr.To(true)}, map[string]string{"create_oidc_provider": "true"}},
		{"OIDC provider false is sent", controlplanev1.EKSSettings{AssociateOIDCProvider: ptr.To(false)}, map[string]string{"create_oidc_provider": "false"}},
		{"pod identity associations", controlplanev1.EKSSettings{PodIdentity: &controlplanev1.PodIdentity{Agent: true,
			Associations: []controlplanev1.PodIdentityAssociation{{Namespace: "apps", ServiceAccount: "reader", RoleARN: role}}}},
			map[string]string{"pod_identity_associations": `[{"namespace":"apps","serviceAccount":"reader","roleARN":"` + role + `"}]`}},
		{"upgrade policy", controlplanev1.EKSSettings{UpgradePolicy: "STANDARD"}, map[string]string{"support_type": "STANDARD"}},
		{"bootstrap add-ons false is sent", controlplanev1.EKSSettings{BootstrapSelfManagedAddons: ptr.To(false)}, map[string]string{"bootstrap_self_managed_addons": "false"}},
		{"role", controlplanev1.EKSSettings{Role: &controlplanev1.ControlPlaneRole{AdditionalPolicies: []string{"arn:aws:iam::aws:policy/P"}, PermissionsBoundary: "arn:aws:iam::123456789012:policy/B"}},
			map[string]string{"role_additional_policy_arns": `["arn:aws:iam::aws:policy/P"]`, "role_permissions_boundary": "arn:aws:iam::123456789012:policy/B"}},
	} {
		cp := &controlplanev1.CAPTControlPlane{Spec: controlplanev1.CAPTControlPlaneSpec{Version: "v1.31.2",
			ControlPlaneConfig: &controlplanev1.ControlPlaneConfig{EKSSettings: tc.eks}}}
		got := Variables(cp, &clusterv1.Cluster{}, &clusterinfra.Infrastructure{}, cp.Spec.Version, nil)
		for _, k := range []string{"cluster_name", "cluster_namespace", "kubernetes_version", "private_subnet_ids", "public_subnet_ids"} {
			delete(got, k)
		}
		if !maps.Equal(got, tc.want) {
			t.Errorf("%s:\n got %v\nwant %v", tc.name, got, tc.want)
		}
	}
}

// TestWantedAddons: podIdentity.agent adds the agent add-on, unless the list names it
// with its own settings.
func TestWantedAddons(t *testing.T) {
	agent := controlplanev1.Addon{Name: controlplanev1.PodIdentityAgentAddon}
	own := controlplanev1.Addon{Name: controlplanev1.PodIdentityAgentAddon, Version: "v1.3.0-eksbuild.1"}
	for _, tc := range []struct {
		name string
		cfg  *controlplanev1.ControlPlaneConfig
		want []controlplanev1.Addon
	}{
		{"no config", nil, nil},
		{"agent off", &controlplanev1.ControlPlaneConfig{Addons: []controlplanev1.Addon{{Name: "vpc-cni"}}}, []controlplanev1.Addon{{Name: "vpc-cni"}}},
		{"agent on", &controlplanev1.ControlPlaneConfig{Addons: []controlplanev1.Addon{{Name: "vpc-cni"}},
			EKSSettings: controlplanev1.EKSSettings{PodIdentity: &controlplanev1.PodIdentity{Agent: true}}}, []controlplanev1.Addon{{Name: "vpc-cni"}, agent}},
		{"agent listed", &controlplanev1.ControlPlaneConfig{Addons: []controlplanev1.Addon{own},
			EKSSettings: controlplanev1.EKSSettings{PodIdentity: &controlplanev1.PodIdentity{Agent: true}}}, []controlplanev1.Addon{own}},
	} {
		cp := &controlplanev1.CAPTControlPlane{Spec: controlplanev1.CAPTControlPlaneSpec{ControlPlaneConfig: tc.cfg}}
		if got := WantedAddons(cp); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

// TestEKSStatus: status.eks from the module's outputs.
func TestEKSStatus(t *testing.T) {
	want := []controlplanev1.Addon{{Name: "vpc-cni"}, {Name: "coredns"}, {Name: "aws-ebs-csi-driver"}}
	for _, tc := range []struct {
		name    string
		outputs workspace.Outputs
		held    []string
		want    *controlplanev1.EKSStatus
	}{
		{"a module without these outputs", workspace.Outputs{"cluster_endpoint": "https://x"}, nil, nil},
		{"issuer without provider", workspace.Outputs{oidcIssuerOutput: "https://oidc.eks.eu-west-1.amazonaws.com/id/ABC", oidcProviderOutput: ""}, nil,
			&controlplanev1.EKSStatus{OIDCProvider: &controlplanev1.OIDCProviderStatus{IssuerURL: "https://oidc.eks.eu-west-1.amazonaws.com/id/ABC"}}},
		{"issuer and provider", workspace.Outputs{oidcIssuerOutput: "https://i", oidcProviderOutput: "arn:aws:iam::1:oidc-provider/i"}, nil,
			&controlplanev1.EKSStatus{OIDCProvider: &controlplanev1.OIDCProviderStatus{IssuerURL: "https://i", ARN: "arn:aws:iam::1:oidc-provider/i"}}},
		{"add-ons: active, waiting, pending", workspace.Outputs{addonVersionsOutput: `{"vpc-cni":"v1.18.0-eksbuild.1","kube-proxy":"v1.31.0"}`}, []string{"coredns"},
			&controlplanev1.EKSStatus{Addons: []controlplanev1.AddonStatus{
				{Name: "vpc-cni", State: controlplanev1.AddonActive, Version: "v1.18.0-eksbuild.1"},
				{Name: "coredns", State: controlplanev1.AddonWaitingForNodes},
				{Name: "aws-ebs-csi-driver", State: controlplanev1.AddonPending}}}},
		{"no add-on applied yet", workspace.Outputs{addonVersionsOutput: `{}`}, nil,
			&controlplanev1.EKSStatus{Addons: []controlplanev1.AddonStatus{
				{Name: "vpc-cni", State: controlplanev1.AddonPending}, {Name: "coredns", State: controlplanev1.AddonPending},
				{Name: "aws-ebs-csi-driver", State: controlplanev1.AddonPending}}}},
		{"addon_versions not a map of strings", workspace.Outputs{addonVersionsOutput: `["vpc-cni"]`}, nil, nil},
	} {
		if got := eksStatus(readEKSOutputs(tc.outputs), want, tc.held); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.name, got, tc.want)
		}
	}
}

// TestEKSStatusFromOutputs: on the real API server, the settings reach the
// WorkspaceTemplateApply's variables and status.eks is read from the Workspace's outputs:
// the OIDC issuer and provider, each add-on's state and version; a new apply's outputs
// change it.
func TestEKSStatusFromOutputs(t *testing.T) {
	ctx := context.Background()
	startControllers(t)
	ns := newNamespace(t)
	_, cp := newCluster(t, ns, "eks-settings")
	testenv.Eventually(t, "set the EKS settings", func() error {
		c := getCP(t, cp)
		c.Spec.ControlPlaneConfig = &controlplanev1.ControlPlaneConfig{
			Addons: []controlplanev1.Addon{{Name: "vpc-cni"}, {Name: "coredns"}},
			EKSSettings: controlplanev1.EKSSettings{
				AssociateOIDCProvider: ptr.To(true),
				PodIdentity:           &controlplanev1.PodIdentity{Agent: true},
				Logging:               []controlplanev1.LogType{"audit"},
			},
		}
		return env.Client.Update(ctx, c)
	})
	apply := &infrav1.WorkspaceTemplateApply{}
	testenv.Eventually(t, "the apply carries the settings", func() error {
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: applyName(cp)}, apply); err != nil {
			return err
		}
		v := apply.Spec.Variables
		if v["create_oidc_provider"] != "true" || v["enabled_cluster_log_types"] != `["audit"]` ||
			v["addons"] != `[{"name":"vpc-cni"},{"name":"eks-pod-identity-agent"}]` {
			return fmt.Errorf("variables %v", v)
		}
		return nil
	})

	p := goodProvider(t)
	p.extra = map[string]string{
		oidcIssuerOutput:    "https://oidc.eks.us-west-2.amazonaws.com/id/ABCDEF",
		oidcProviderOutput:  "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/ABCDEF",
		addonVersionsOutput: `{"vpc-cni":"v1.18.0-eksbuild.1","eks-pod-identity-agent":"v1.3.0-eksbuild.1"}`,
	}
	p.apply(t, cp)
	wantStatus := func(addons []controlplanev1.AddonStatus) func(*controlplanev1.CAPTControlPlane) error {
		return func(c *controlplanev1.CAPTControlPlane) error {
			want := &controlplanev1.EKSStatus{
				OIDCProvider: &controlplanev1.OIDCProviderStatus{IssuerURL: p.extra[oidcIssuerOutput], ARN: p.extra[oidcProviderOutput]},
				Addons:       addons,
			}
			if !reflect.DeepEqual(c.Status.EKS, want) {
				got, _ := json.Marshal(c.Status.EKS)
				return fmt.Errorf("status.eks %s", got)
			}
			return nil
		}
	}
	waitCP(t, cp, "status.eks from the outputs", wantStatus([]controlplanev1.AddonStatus{
		{Name: "vpc-cni", State: controlplanev1.AddonActive, Version: "v1.18.0-eksbuild.1"},
		{Name: "coredns", State: controlplanev1.AddonWaitingForNodes},
		{Name: "eks-pod-identity-agent", State: controlplanev1.AddonActive, Version: "v1.3.0-eksbuild.1"},
	}))

	// The next apply upgrades vpc-cni: the status follows the outputs.
	p.extra[addonVersionsOutput] = `{"vpc-cni":"v1.19.0-eksbuild.1","eks-pod-identity-agent":"v1.3.0-eksbuild.1"}`
	p.apply(t, cp)
	waitCP(t, cp, "status.eks follows the outputs", wantStatus([]controlplanev1.AddonStatus{
		{Name: "vpc-cni", State: controlplanev1.AddonActive, Version: "v1.19.0-eksbuild.1"},
		{Name: "coredns", State: controlplanev1.AddonWaitingForNodes},
		{Name: "eks-pod-identity-agent", State: controlplanev1.AddonActive, Version: "v1.3.0-eksbuild.1"},
	}))
}
