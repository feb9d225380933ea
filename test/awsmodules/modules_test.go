package awsmodules

import (
	"encoding/json"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/captcluster"
	"github.com/capt-dev/capt/internal/controller/clusterinfra"
	"github.com/capt-dev/capt/internal/controller/controlplane"
	"github.com/capt-dev/capt/internal/controller/machinepool"
)

// The typical Cluster of these tests, and the infrastructure its CAPTCluster reports.
var (
	cluster = &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "c1"}}
	infra   = &clusterinfra.Infrastructure{
		Region: "eu-west-1", VPCID: "vpc-0a1b2c3d4e5f60718",
		PrivateSubnetIDs: []string{"subnet-0000000000000000a", "subnet-0000000000000000b", "subnet-0000000000000000c"},
		PublicSubnetIDs:  []string{"subnet-0000000000000001a", "subnet-0000000000000001b", "subnet-0000000000000001c"},
		Tags:             map[string]string{"team": "a"},
	}
)

const clusterTag = "sigs.k8s.io/cluster-api-provider-terraform/cluster"

func sorted(s []string) []string { return slices.Sorted(slices.Values(s)) }

// TestVPCModulePlans plans templates/aws/vpc with what CAPT sends for a CAPTCluster
// without vpcConfig (the module's defaults) and with one.
func TestVPCModulePlans(t *testing.T) {
	for _, tc := range []struct {
		name       string
		vpcConfig  *infrav1.VPCConfig
		cidr       string
		natGateway int
	}{
		{name: "defaults", cidr: "10.0.0.0/16", natGateway: 3},
		// A field left unset is not sent: the module's default (NAT on, one per zone)
		// holds, or the Nodes of private subnets would have no way out.
		{name: "vpcConfig with only a CIDR", vpcConfig: &infrav1.VPCConfig{CIDR: "10.2.0.0/16"}, cidr: "10.2.0.0/16", natGateway: 3},
		{name: "one NAT gateway", vpcConfig: &infrav1.VPCConfig{CIDR: "10.1.0.0/16", EnableNATGateway: ptr.To(true), SingleNATGateway: ptr.To(true)}, cidr: "10.1.0.0/16", natGateway: 1},
		{name: "no NAT gateway", vpcConfig: &infrav1.VPCConfig{EnableNATGateway: ptr.To(false)}, cidr: "10.0.0.0/16", natGateway: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cc := &infrav1.CAPTCluster{Spec: infrav1.CAPTClusterSpec{Region: "eu-west-1", AdditionalTags: map[string]string{"team": "a"}, VPCConfig: tc.vpcConfig}}
			p := planModule(t, "vpc", "aws-vpc", captcluster.VPCVariables(cc, cluster))

			var vpc struct {
				CIDRBlock string            `json:"cidr_block"`
				TagsAll   map[string]string `json:"tags_all"`
			}
			p.after(t, "aws_vpc.this", &vpc)
			if vpc.CIDRBlock != tc.cidr {
				t.Errorf("VPC CIDR %q, want %q", vpc.CIDRBlock, tc.cidr)
			}
			// The provider's default_tags reach every resource (tags_all, as hashicorp/aws plans it).
			if vpc.TagsAll[clusterTag] != "team-a/c1" || vpc.TagsAll["team"] != "a" || vpc.TagsAll["Name"] != "c1" {
				t.Errorf("VPC tags_all %v: want the Cluster's tag, the CAPTCluster's additionalTags and Name", vpc.TagsAll)
			}
			zones := make([]string, 0, 3)
			for i, zone := range []string{"eu-west-1a", "eu-west-1b", "eu-west-1c"} {
				var subnet struct {
					AvailabilityZone string `json:"availability_zone"`
				}
				p.after(t, "aws_subnet.private["+string(rune('0'+i))+"]", &subnet)
				if subnet.AvailabilityZone != zone {
					t.Errorf("private subnet %d in %q, want %q", i, subnet.AvailabilityZone, zone)
				}
				zones = append(zones, zone)
			}
			if n := p.count("aws_subnet"); n != 6 {
				t.Errorf("%d subnets, want 3 private and 3 public", n)
			}
			if n := p.count("aws_nat_gateway"); n != tc.natGateway {
				t.Errorf("%d NAT gateways, want %d", n, tc.natGateway)
			}
			// What CAPT reads: the zones known at plan, the ids known after apply.
			var got []string
			if err := json.Unmarshal(p.OutputChanges["availability_zones"].After, &got); err != nil || !slices.Equal(got, zones) {
				t.Errorf("output availability_zones %s (%v), want %v", p.OutputChanges["availability_zones"].After, err, zones)
			}
			if string(p.OutputChanges["vpc_id"].AfterUnknown) != "true" {
				t.Errorf("output vpc_id is known at plan (%s): the stand-in must leave what AWS computes unknown", p.OutputChanges["vpc_id"].After)
			}
		})
	}
}

// TestEKSModulePlans plans templates/aws/eks with what CAPT sends for a CAPTControlPlane
// with endpoint access and add-ons, and the shipped template's varmap.
func TestEKSModulePlans(t *testing.T) {
	cp := &controlplanev1.CAPTControlPlane{Spec: controlplanev1.CAPTControlPlaneSpec{
		Version:        "v1.31.2",
		AdditionalTags: map[string]string{"tier": "prod"},
		ControlPlaneConfig: &controlplanev1.ControlPlaneConfig{
			EndpointAccess: &controlplanev1.EndpointAccess{Public: true, Private: true, PublicCIDRs: []string{"203.0.113.0/24"}},
			Addons:         []controlplanev1.Addon{{Name: "vpc-cni"}, {Name: "kube-proxy", Version: "v1.31.0-eksbuild.2"}},
		},
	}}
	p := planModule(t, "eks", "aws-eks", controlplane.Variables(cp, cluster, infra, cp.Spec.Version, addonsOf(cp)))

	var eks struct {
		Name      string `json:"name"`
		Version   string `json:"version"`
		VPCConfig []struct {
			SubnetIDs             []string `json:"subnet_ids"`
			EndpointPublicAccess  bool     `json:"endpoint_public_access"`
			EndpointPrivateAccess bool     `json:"endpoint_private_access"`
			PublicAccessCIDRs     []string `json:"public_access_cidrs"`
		} `json:"vpc_config"`
		AccessConfig []struct {
			AuthenticationMode string `json:"authentication_mode"`
		} `json:"access_config"`
		TagsAll map[string]string `json:"tags_all"`
	}
	p.after(t, "aws_eks_cluster.this", &eks)
	if eks.Name != "c1" || eks.Version != "1.31" {
		t.Errorf("EKS cluster %q version %q, want c1 and 1.31 (major.minor of v1.31.2)", eks.Name, eks.Version)
	}
	if len(eks.VPCConfig) != 1 {
		t.Fatalf("vpc_config %+v, want one", eks.VPCConfig)
	}
	vc := eks.VPCConfig[0]
	if !slices.Equal(sorted(vc.SubnetIDs), sorted(infra.PrivateSubnetIDs)) {
		t.Errorf("EKS subnets %v, want the CAPTCluster's private subnets %v", vc.SubnetIDs, infra.PrivateSubnetIDs)
	}
	if !vc.EndpointPublicAccess || !vc.EndpointPrivateAccess || !slices.Equal(vc.PublicAccessCIDRs, []string{"203.0.113.0/24"}) {
		t.Errorf("endpoint access %+v, want public and private, from 203.0.113.0/24", vc)
	}
	if len(eks.AccessConfig) != 1 || eks.AccessConfig[0].AuthenticationMode != "API_AND_CONFIG_MAP" {
		t.Errorf("access_config %+v, want API_AND_CONFIG_MAP (access entries)", eks.AccessConfig)
	}
	if eks.TagsAll[clusterTag] != "team-a/c1" || eks.TagsAll["team"] != "a" || eks.TagsAll["tier"] != "prod" {
		t.Errorf("EKS tags_all %v: want the Cluster's tag and both owners' additionalTags", eks.TagsAll)
	}
	for name, version := range map[string]*string{"vpc-cni": nil, "kube-proxy": ptr.To("v1.31.0-eksbuild.2")} {
		var addon struct {
			AddonName    string  `json:"addon_name"`
			AddonVersion *string `json:"addon_version"`
		}
		p.after(t, `aws_eks_addon.this["`+name+`"]`, &addon)
		if addon.AddonName != name || !equalPtr(addon.AddonVersion, version) {
			t.Errorf("add-on %s: %q version %v, want version %v", name, addon.AddonName, deref(addon.AddonVersion), deref(version))
		}
	}
	// The shipped template names no principal: no access entry (docs/install.md).
	if n := p.count("aws_eks_access_entry"); n != 0 {
		t.Errorf("%d access entries with the shipped varmap's empty capt_principal_arn, want 0", n)
	}
	for _, out := range []string{"cluster_endpoint", "cluster_certificate_authority_data"} {
		if string(p.OutputChanges[out].AfterUnknown) != "true" {
			t.Errorf("output %s known at plan (%s), want known after apply", out, p.OutputChanges[out].After)
		}
	}
	if string(p.OutputChanges["cluster_name"].After) != `"c1"` || string(p.OutputChanges["cluster_version"].After) != `"1.31"` {
		t.Errorf("outputs cluster_name %s, cluster_version %s: want c1 and 1.31", p.OutputChanges["cluster_name"].After, p.OutputChanges["cluster_version"].After)
	}
}

func equalPtr(a, b *string) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func deref(s *string) string {
	if s == nil {
		return "null"
	}
	return *s
}

// TestNodegroupModulePlans plans templates/aws/nodegroup with what CAPT sends for a
// CAPTMachinePool of a fixed size and of an autoscaled one.
func TestNodegroupModulePlans(t *testing.T) {
	for _, tc := range []struct {
		name       string
		autoscaled bool
		address    string
		desired    int
	}{
		{name: "fixed size", address: "aws_eks_node_group.fixed[0]", desired: 2},
		{name: "autoscaled", autoscaled: true, address: "aws_eks_node_group.autoscaled[0]", desired: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			mp := &infrav1.CAPTMachinePool{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "workers"}, Spec: infrav1.CAPTMachinePoolSpec{
				InstanceTypes: []string{"m7g.large", "m6g.large"}, CapacityType: infrav1.CapacityTypeSpot, AMIType: "AL2023_ARM_64_STANDARD",
				DiskSizeGiB: ptr.To[int32](50), Labels: map[string]infrav1.LabelValue{"role": "batch"},
				Taints: []infrav1.Taint{{Key: "dedicated", Value: "batch", Effect: string(corev1.TaintEffectNoSchedule)}},
			}}
			owner := &clusterv1.MachinePool{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "workers"}, Spec: clusterv1.MachinePoolSpec{
				Replicas: ptr.To[int32](2),
				Template: clusterv1.MachineTemplateSpec{Spec: clusterv1.MachineSpec{Version: "v1.31.2"}},
			}}
			if tc.autoscaled {
				mp.Spec.Scaling = &infrav1.MachinePoolScaling{MinSize: ptr.To[int32](1), MaxSize: ptr.To[int32](5)}
				owner.Annotations = map[string]string{clusterv1.ReplicasManagedByAnnotation: "cluster-autoscaler"}
			}
			vars, err := machinepool.TemplateVariables(mp, owner, cluster, infra)
			if err != nil {
				t.Fatal(err)
			}
			p := planModule(t, "nodegroup", "aws-nodegroup", vars)
			if n := p.count("aws_eks_node_group"); n != 1 {
				t.Fatalf("%d node groups, want 1", n)
			}
			var ng struct {
				ClusterName   string            `json:"cluster_name"`
				NodeGroupName string            `json:"node_group_name"`
				Version       string            `json:"version"`
				SubnetIDs     []string          `json:"subnet_ids"`
				InstanceTypes []string          `json:"instance_types"`
				CapacityType  string            `json:"capacity_type"`
				AMIType       string            `json:"ami_type"`
				DiskSize      int               `json:"disk_size"`
				Labels        map[string]string `json:"labels"`
				Scaling       []struct {
					Min     int `json:"min_size"`
					Max     int `json:"max_size"`
					Desired int `json:"desired_size"`
				} `json:"scaling_config"`
				Taints []struct {
					Key, Value, Effect string
				} `json:"taint"`
			}
			p.after(t, tc.address, &ng)
			if ng.ClusterName != "c1" || ng.NodeGroupName != "workers" || ng.Version != "1.31" {
				t.Errorf("node group %s/%s version %q, want c1/workers 1.31", ng.ClusterName, ng.NodeGroupName, ng.Version)
			}
			if !slices.Equal(sorted(ng.SubnetIDs), sorted(infra.PrivateSubnetIDs)) {
				t.Errorf("subnets %v, want the private subnets %v", ng.SubnetIDs, infra.PrivateSubnetIDs)
			}
			if !slices.Equal(ng.InstanceTypes, mp.Spec.InstanceTypes) || ng.CapacityType != "SPOT" || ng.AMIType != "AL2023_ARM_64_STANDARD" || ng.DiskSize != 50 {
				t.Errorf("instances %v %s %s %d GiB, want %v SPOT AL2023_ARM_64_STANDARD 50", ng.InstanceTypes, ng.CapacityType, ng.AMIType, ng.DiskSize, mp.Spec.InstanceTypes)
			}
			if ng.Labels["role"] != "batch" || len(ng.Taints) != 1 || ng.Taints[0].Effect != "NO_SCHEDULE" || ng.Taints[0].Key != "dedicated" {
				t.Errorf("labels %v taints %+v, want role=batch and dedicated=batch:NO_SCHEDULE", ng.Labels, ng.Taints)
			}
			if len(ng.Scaling) != 1 || ng.Scaling[0].Desired != tc.desired {
				t.Errorf("scaling_config %+v, want desired %d", ng.Scaling, tc.desired)
			}
		})
	}
}

// TestModulesPlanWithOptionalFieldsUnset plans the control plane and node group modules
// with what CAPT sends when every optional field is unset (no variable for them): each
// variable CAPT may leave out has a default in the module, and the defaults are the ones
// docs/controlplane.md and docs/machinepool.md give.
func TestModulesPlanWithOptionalFieldsUnset(t *testing.T) {
	t.Run("eks", func(t *testing.T) {
		t.Parallel()
		cp := &controlplanev1.CAPTControlPlane{Spec: controlplanev1.CAPTControlPlaneSpec{Version: "v1.31.2"}}
		bare := &clusterinfra.Infrastructure{Region: infra.Region, VPCID: infra.VPCID, PrivateSubnetIDs: infra.PrivateSubnetIDs}
		p := planModule(t, "eks", "aws-eks", controlplane.Variables(cp, cluster, bare, cp.Spec.Version, nil))
		var eks struct {
			VPCConfig []struct {
				EndpointPublicAccess  bool `json:"endpoint_public_access"`
				EndpointPrivateAccess bool `json:"endpoint_private_access"`
			} `json:"vpc_config"`
		}
		p.after(t, "aws_eks_cluster.this", &eks)
		if len(eks.VPCConfig) != 1 || !eks.VPCConfig[0].EndpointPublicAccess || eks.VPCConfig[0].EndpointPrivateAccess {
			t.Errorf("vpc_config %+v, want the public endpoint only", eks.VPCConfig)
		}
		if n := p.count("aws_eks_addon"); n != 0 {
			t.Errorf("%d add-ons, want none", n)
		}
		// The EKS settings left unset: what the module did before they were fields.
		var settings struct {
			LogTypes         []string `json:"enabled_cluster_log_types"`
			Bootstrap        *bool    `json:"bootstrap_self_managed_addons"`
			EncryptionConfig []any    `json:"encryption_config"`
			UpgradePolicy    []any    `json:"upgrade_policy"`
		}
		p.after(t, "aws_eks_cluster.this", &settings)
		if len(settings.LogTypes) != 0 || settings.Bootstrap != nil || len(settings.EncryptionConfig) != 0 || len(settings.UpgradePolicy) != 0 {
			t.Errorf("EKS settings %+v, want none set", settings)
		}
		for _, typ := range []string{"aws_eks_access_entry", "aws_eks_access_policy_association", "aws_kms_key", "aws_iam_role_policy",
			"aws_iam_openid_connect_provider", "aws_eks_pod_identity_association"} {
			if n := p.count(typ); n != 0 {
				t.Errorf("%d %s, want none", n, typ)
			}
		}
		if n := p.count("aws_iam_role_policy_attachment"); n != 1 {
			t.Errorf("%d role policy attachments, want AmazonEKSClusterPolicy's only", n)
		}
	})
	t.Run("nodegroup", func(t *testing.T) {
		t.Parallel()
		mp := &infrav1.CAPTMachinePool{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "plain"}}
		owner := &clusterv1.MachinePool{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "plain"}, Spec: clusterv1.MachinePoolSpec{
			Template: clusterv1.MachineTemplateSpec{Spec: clusterv1.MachineSpec{Version: "v1.31.2"}}}}
		vars, err := machinepool.TemplateVariables(mp, owner, cluster, infra)
		if err != nil {
			t.Fatal(err)
		}
		p := planModule(t, "nodegroup", "aws-nodegroup", vars)
		var ng struct {
			CapacityType string `json:"capacity_type"`
			Scaling      []struct {
				Desired int `json:"desired_size"`
			} `json:"scaling_config"`
			UpdateConfig []struct {
				MaxUnavailable int `json:"max_unavailable"`
			} `json:"update_config"`
		}
		p.after(t, "aws_eks_node_group.fixed[0]", &ng)
		if ng.CapacityType != "ON_DEMAND" || len(ng.Scaling) != 1 || ng.Scaling[0].Desired != 1 ||
			len(ng.UpdateConfig) != 1 || ng.UpdateConfig[0].MaxUnavailable != 1 {
			t.Errorf("node group %+v, want ON_DEMAND, 1 Node (Cluster API's default replicas), max_unavailable 1", ng)
		}
	})
}

// addonsOf is every add-on of the spec, as a pass renders them once a node group is Ready.
func addonsOf(cp *controlplanev1.CAPTControlPlane) []controlplanev1.Addon {
	if cp.Spec.ControlPlaneConfig == nil {
		return nil
	}
	return cp.Spec.ControlPlaneConfig.Addons
}
