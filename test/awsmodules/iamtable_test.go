package awsmodules

// The IAM actions hashicorp/aws calls for each resource and data source type the shipped
// modules declare, per phase of a resource's life, and what each acts on. Derived from
// the provider's code paths (create, read, update, delete and tagging of each resource)
// and AWS's Service Authorization Reference (which resource an action is authorized
// against, and its condition keys); never exercised against AWS. test/awsmodules checks
// that every type a module declares is here, that every type here is one of the
// provider's, and that each module's iam-policy.json allows every call below for every
// resource the module creates (iam_test.go).

// awsType is what one resource or data source type calls. A data source only reads.
type awsType struct {
	Create, Read, Update, Delete, Tag []call
	// ARN is the resource's ARN where it has no arn attribute (aws_nat_gateway):
	// ${region}, ${account} and ${<attribute>} are filled in.
	ARN string
}

// call is one IAM action on one resource. A call on several resources (CreateSubnet:
// the new subnet and its VPC) is one call per resource: IAM authorizes each.
type call struct {
	action string
	on     target
	// context are condition keys the call sets, beside the tags of what it acts on; a
	// value ${attribute} is the resource's attribute.
	context map[string]string
}

type targetKind int

const (
	// onNew: the resource being created. Its ARN, and its tags as aws:RequestTag.
	onNew targetKind = iota
	// onSelf: the resource itself, existing: its tags as aws:ResourceTag.
	onSelf
	// onRef: another resource of the module (its ARN and tags as aws:ResourceTag),
	// found by an attribute of this one.
	onRef
	// onARN: a resource of a fixed ARN (a service-linked role; the cluster a node
	// group joins, made by the eks module with the same default tags).
	onARN
	// onAny: an action without resource-level permissions ("*").
	onAny
)

type target struct {
	kind targetKind
	// onRef: the resource of type typ whose attribute key equals this one's attr.
	attr, typ, key string
	// onARN: the ARN template, and whether it carries this resource's tags.
	arn     string
	ownTags bool
}

var (
	newRes  = target{kind: onNew}
	selfRes = target{kind: onSelf}
	anyRes  = target{kind: onAny}
)

// ref is the resource of type typ whose key attribute equals this resource's attr.
func ref(attr, typ, key string) target { return target{kind: onRef, attr: attr, typ: typ, key: key} }

// calls is one call per action, on one target.
func calls(on target, actions ...string) []call {
	out := make([]call, len(actions))
	for i, a := range actions {
		out[i] = call{action: a, on: on}
	}
	return out
}

func join(parts ...[]call) []call {
	var out []call
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// ec2Create is an EC2 create action on the new resource and on the existing ones it
// names (the VPC of a subnet), and the CreateTags EC2 authorizes for the tags given at
// creation (condition key ec2:CreateAction).
func ec2Create(action string, on ...target) []call {
	out := make([]call, 0, 2+len(on))
	out = append(out,
		call{action: "ec2:" + action, on: newRes},
		call{action: "ec2:CreateTags", on: newRes, context: map[string]string{"ec2:CreateAction": action}})
	for _, t := range on {
		out = append(out, call{action: "ec2:" + action, on: t})
	}
	return out
}

var (
	ec2Tags = calls(selfRes, "ec2:CreateTags", "ec2:DeleteTags")
	vpcOf   = ref("vpc_id", "aws_vpc", "id")
	// The role an attachment or a cluster names, by name or by ARN.
	roleNamed = ref("role", "aws_iam_role", "name")
	eksTags   = calls(selfRes, "eks:TagResource", "eks:UntagResource")
	// The service-linked roles EKS creates with the caller's permission, the first time
	// an account creates a cluster or a node group.
	eksServiceLinkedRole = call{action: "iam:CreateServiceLinkedRole",
		on:      target{kind: onARN, arn: "arn:aws:iam::${account}:role/aws-service-role/eks.amazonaws.com/AWSServiceRoleForAmazonEKS"},
		context: map[string]string{"iam:AWSServiceName": "eks.amazonaws.com"}}
	nodegroupServiceLinkedRole = call{action: "iam:CreateServiceLinkedRole",
		on:      target{kind: onARN, arn: "arn:aws:iam::${account}:role/aws-service-role/eks-nodegroup.amazonaws.com/AWSServiceRoleForAmazonEKSNodegroup"},
		context: map[string]string{"iam:AWSServiceName": "eks-nodegroup.amazonaws.com"}}
	// The cluster a node group joins: the eks module's, with the same default tags.
	nodegroupCluster = target{kind: onARN, arn: "arn:aws:eks:${region}:${account}:cluster/${cluster_name}", ownTags: true}
)

// passRole is iam:PassRole of the role an attribute names, to a service.
func passRole(attr, service string) call {
	return call{action: "iam:PassRole", on: ref(attr, "aws_iam_role", "arn"), context: map[string]string{"iam:PassedToService": service}}
}

// resourceActions: every resource type of templates/aws.
var resourceActions = map[string]awsType{
	"aws_vpc": {
		Create: join(ec2Create("CreateVpc"), calls(selfRes, "ec2:ModifyVpcAttribute"), calls(anyRes, "ec2:DescribeVpcs")),
		// The VPC, its DNS attributes, its main route table, default network ACL and
		// default security group.
		Read:   calls(anyRes, "ec2:DescribeVpcs", "ec2:DescribeVpcAttribute", "ec2:DescribeRouteTables", "ec2:DescribeNetworkAcls", "ec2:DescribeSecurityGroups"),
		Update: calls(selfRes, "ec2:ModifyVpcAttribute"),
		Delete: calls(selfRes, "ec2:DeleteVpc"),
		Tag:    ec2Tags,
	},
	"aws_subnet": {
		Create: join(ec2Create("CreateSubnet", vpcOf), calls(selfRes, "ec2:ModifySubnetAttribute"), calls(anyRes, "ec2:DescribeSubnets")),
		Read:   calls(anyRes, "ec2:DescribeSubnets"),
		Update: calls(selfRes, "ec2:ModifySubnetAttribute"),
		// The provider waits for network interfaces still in the subnet.
		Delete: join(calls(selfRes, "ec2:DeleteSubnet"), calls(anyRes, "ec2:DescribeNetworkInterfaces")),
		Tag:    ec2Tags,
	},
	"aws_internet_gateway": {
		Create: join(ec2Create("CreateInternetGateway"), calls(selfRes, "ec2:AttachInternetGateway"), calls(vpcOf, "ec2:AttachInternetGateway")),
		Read:   calls(anyRes, "ec2:DescribeInternetGateways"),
		Update: join(calls(selfRes, "ec2:DetachInternetGateway", "ec2:AttachInternetGateway"), calls(vpcOf, "ec2:DetachInternetGateway", "ec2:AttachInternetGateway")),
		Delete: join(calls(selfRes, "ec2:DetachInternetGateway", "ec2:DeleteInternetGateway"), calls(vpcOf, "ec2:DetachInternetGateway")),
		Tag:    ec2Tags,
	},
	"aws_route_table": {
		// Its routes (route blocks) are created on the table. The route's target (the
		// internet or NAT gateway) is authorized too; it is the module's, tagged alike.
		Create: join(ec2Create("CreateRouteTable", vpcOf), calls(selfRes, "ec2:CreateRoute")),
		Read:   calls(anyRes, "ec2:DescribeRouteTables"),
		Update: calls(selfRes, "ec2:CreateRoute", "ec2:ReplaceRoute", "ec2:DeleteRoute"),
		Delete: calls(selfRes, "ec2:DeleteRouteTable"),
		Tag:    ec2Tags,
	},
	"aws_route_table_association": {
		Create: join(calls(ref("route_table_id", "aws_route_table", "id"), "ec2:AssociateRouteTable"), calls(ref("subnet_id", "aws_subnet", "id"), "ec2:AssociateRouteTable")),
		Read:   calls(anyRes, "ec2:DescribeRouteTables"),
		Update: calls(ref("route_table_id", "aws_route_table", "id"), "ec2:ReplaceRouteTableAssociation"),
		Delete: join(calls(ref("route_table_id", "aws_route_table", "id"), "ec2:DisassociateRouteTable"), calls(ref("subnet_id", "aws_subnet", "id"), "ec2:DisassociateRouteTable")),
	},
	"aws_eip": {
		Create: ec2Create("AllocateAddress"),
		Read:   calls(anyRes, "ec2:DescribeAddresses", "ec2:DescribeAddressesAttribute"),
		// An address still associated (with the NAT gateway's network interface, as the
		// state last saw it) is disassociated first.
		Delete: calls(selfRes, "ec2:DisassociateAddress", "ec2:ReleaseAddress"),
		Tag:    ec2Tags,
	},
	"aws_nat_gateway": {
		Create: join(ec2Create("CreateNatGateway", ref("subnet_id", "aws_subnet", "id"), ref("allocation_id", "aws_eip", "id")), calls(anyRes, "ec2:DescribeNatGateways")),
		Read:   calls(anyRes, "ec2:DescribeNatGateways"),
		Delete: calls(selfRes, "ec2:DeleteNatGateway"),
		Tag:    ec2Tags,
		ARN:    "arn:aws:ec2:${region}:${account}:natgateway/${id}",
	},
	"aws_iam_role": {
		// IAM authorizes tags given at creation as iam:TagRole.
		Create: join(calls(newRes, "iam:CreateRole", "iam:TagRole"), calls(selfRes, "iam:GetRole")),
		// The role, its inline and its attached policies.
		Read: calls(selfRes, "iam:GetRole", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies"),
		// A permissions boundary is given with CreateRole, changed or removed on its own.
		Update: calls(selfRes, "iam:UpdateRole", "iam:UpdateAssumeRolePolicy", "iam:PutRolePermissionsBoundary", "iam:DeleteRolePermissionsBoundary"),
		// Instance profiles are removed before the role; none holds CAPT's roles.
		Delete: calls(selfRes, "iam:ListInstanceProfilesForRole", "iam:DeleteRole"),
		Tag:    calls(selfRes, "iam:TagRole", "iam:UntagRole"),
	},
	"aws_iam_role_policy_attachment": {
		Create: []call{{action: "iam:AttachRolePolicy", on: roleNamed, context: map[string]string{"iam:PolicyARN": "${policy_arn}"}}},
		Read:   calls(roleNamed, "iam:ListAttachedRolePolicies"),
		Delete: []call{{action: "iam:DetachRolePolicy", on: roleNamed, context: map[string]string{"iam:PolicyARN": "${policy_arn}"}}},
	},
	"aws_eks_cluster": {
		Create: join(calls(newRes, "eks:CreateCluster", "eks:TagResource"), []call{passRole("role_arn", "eks.amazonaws.com"), eksServiceLinkedRole},
			calls(selfRes, "eks:DescribeCluster")),
		Read:   calls(selfRes, "eks:DescribeCluster"),
		Update: calls(selfRes, "eks:UpdateClusterConfig", "eks:UpdateClusterVersion", "eks:DescribeUpdate"),
		Delete: calls(selfRes, "eks:DeleteCluster", "eks:DescribeCluster"),
		Tag:    eksTags,
	},
	"aws_eks_addon": {
		Create: join(calls(newRes, "eks:CreateAddon", "eks:TagResource"), calls(ref("cluster_name", "aws_eks_cluster", "name"), "eks:CreateAddon"),
			calls(selfRes, "eks:DescribeAddon")),
		Read:   calls(selfRes, "eks:DescribeAddon"),
		Update: join(calls(selfRes, "eks:UpdateAddon", "eks:DescribeUpdate"), calls(ref("cluster_name", "aws_eks_cluster", "name"), "eks:DescribeUpdate")),
		Delete: calls(selfRes, "eks:DeleteAddon", "eks:DescribeAddon"),
		Tag:    eksTags,
	},
	"aws_eks_access_entry": {
		Create: join(calls(newRes, "eks:CreateAccessEntry", "eks:TagResource"), calls(ref("cluster_name", "aws_eks_cluster", "name"), "eks:CreateAccessEntry")),
		Read:   calls(selfRes, "eks:DescribeAccessEntry"),
		Update: calls(selfRes, "eks:UpdateAccessEntry"),
		Delete: calls(selfRes, "eks:DeleteAccessEntry"),
		Tag:    eksTags,
	},
	"aws_eks_access_policy_association": {
		Create: []call{{action: "eks:AssociateAccessPolicy", on: ref("principal_arn", "aws_eks_access_entry", "principal_arn"),
			context: map[string]string{"eks:policyArn": "${policy_arn}"}}},
		Read:   calls(ref("principal_arn", "aws_eks_access_entry", "principal_arn"), "eks:ListAssociatedAccessPolicies"),
		Delete: calls(ref("principal_arn", "aws_eks_access_entry", "principal_arn"), "eks:DisassociateAccessPolicy"),
	},
	// The EKS settings (templates/aws/eks/settings.tf).
	"aws_iam_role_policy": {
		Create: calls(roleNamed, "iam:PutRolePolicy"),
		Read:   calls(roleNamed, "iam:GetRolePolicy"),
		Update: calls(roleNamed, "iam:PutRolePolicy"),
		Delete: calls(roleNamed, "iam:DeleteRolePolicy"),
	},
	"aws_kms_key": {
		// CreateKey is authorized on "*" (the key does not exist yet), its tags as
		// aws:RequestTag, which KMS also authorizes as TagResource.
		Create: join(calls(newRes, "kms:CreateKey", "kms:TagResource"),
			calls(selfRes, "kms:EnableKeyRotation", "kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags")),
		Read:   calls(selfRes, "kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags"),
		Update: calls(selfRes, "kms:EnableKeyRotation", "kms:DisableKeyRotation", "kms:UpdateKeyDescription"),
		Delete: calls(selfRes, "kms:ScheduleKeyDeletion"),
		Tag:    calls(selfRes, "kms:TagResource", "kms:UntagResource"),
	},
	"aws_iam_openid_connect_provider": {
		Create: join(calls(newRes, "iam:CreateOpenIDConnectProvider", "iam:TagOpenIDConnectProvider"), calls(selfRes, "iam:GetOpenIDConnectProvider")),
		Read:   calls(selfRes, "iam:GetOpenIDConnectProvider"),
		Update: calls(selfRes, "iam:UpdateOpenIDConnectProviderThumbprint", "iam:AddClientIDToOpenIDConnectProvider", "iam:RemoveClientIDFromOpenIDConnectProvider"),
		Delete: calls(selfRes, "iam:DeleteOpenIDConnectProvider"),
		Tag:    calls(selfRes, "iam:TagOpenIDConnectProvider", "iam:UntagOpenIDConnectProvider"),
	},
	"aws_eks_pod_identity_association": {
		// The role is the team's, not the module's: passed by its ARN, untagged.
		Create: join(calls(newRes, "eks:CreatePodIdentityAssociation", "eks:TagResource"), calls(ref("cluster_name", "aws_eks_cluster", "name"), "eks:CreatePodIdentityAssociation"),
			[]call{{action: "iam:PassRole", on: target{kind: onARN, arn: "${role_arn}"}, context: map[string]string{"iam:PassedToService": "pods.eks.amazonaws.com"}}},
			calls(selfRes, "eks:DescribePodIdentityAssociation")),
		Read: calls(selfRes, "eks:DescribePodIdentityAssociation"),
		Update: join(calls(selfRes, "eks:UpdatePodIdentityAssociation"),
			[]call{{action: "iam:PassRole", on: target{kind: onARN, arn: "${role_arn}"}, context: map[string]string{"iam:PassedToService": "pods.eks.amazonaws.com"}}}),
		Delete: calls(selfRes, "eks:DeletePodIdentityAssociation"),
		Tag:    eksTags,
		ARN:    "arn:aws:eks:${region}:${account}:podidentityassociation/${cluster_name}/${association_id}",
	},
	"aws_eks_node_group": {
		Create: join(calls(newRes, "eks:CreateNodegroup", "eks:TagResource"), calls(nodegroupCluster, "eks:CreateNodegroup"),
			[]call{passRole("node_role_arn", "eks.amazonaws.com"), nodegroupServiceLinkedRole}, calls(selfRes, "eks:DescribeNodegroup")),
		Read:   calls(selfRes, "eks:DescribeNodegroup"),
		Update: join(calls(selfRes, "eks:UpdateNodegroupConfig", "eks:UpdateNodegroupVersion", "eks:DescribeUpdate"), calls(nodegroupCluster, "eks:DescribeUpdate")),
		Delete: calls(selfRes, "eks:DeleteNodegroup", "eks:DescribeNodegroup"),
		Tag:    eksTags,
	},
}

// dataSourceActions: every data source type of templates/aws.
var dataSourceActions = map[string]awsType{
	"aws_availability_zones": {Read: calls(anyRes, "ec2:DescribeAvailabilityZones")},
	// Rendered by the provider itself: no AWS call.
	"aws_iam_policy_document": {},
}
