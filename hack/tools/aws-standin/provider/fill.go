package provider

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/capt-dev/capt/hack/tools/aws-standin/schema"
)

// ec2Prefixes are the id prefixes EC2 gives its resources.
var ec2Prefixes = map[string]string{
	"aws_vpc": "vpc", "aws_subnet": "subnet", "aws_internet_gateway": "igw", "aws_route_table": "rtb",
	"aws_route_table_association": "rtbassoc", "aws_eip": "eipalloc", "aws_nat_gateway": "nat",
	"aws_security_group": "sg", "aws_network_interface": "eni", "aws_instance": "i", "aws_launch_template": "lt",
	"aws_vpc_endpoint": "vpce", "aws_egress_only_internet_gateway": "eigw", "aws_network_acl": "acl",
}

// arnResources are the resource words of ARNs where they differ from the type's name.
var arnResources = map[string]string{
	"aws_internet_gateway": "internet-gateway", "aws_route_table": "route-table", "aws_eip": "elastic-ip",
	"aws_nat_gateway": "natgateway", "aws_security_group": "security-group", "aws_iam_role": "role",
	"aws_iam_policy": "policy", "aws_iam_instance_profile": "instance-profile", "aws_iam_user": "user",
	"aws_eks_cluster": "cluster", "aws_iam_openid_connect_provider": "oidc-provider",
}

// hashOf is a stable hex digest of the parts: the same configuration gets the same ids
// in every run, different ones get different ids.
func hashOf(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:])
}

// digits are n decimal digits derived from h, for the timestamps in Terraform's unique
// name suffixes.
func digits(h string, n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		b.WriteByte('0' + h[i%len(h)]%10)
	}
	return b.String()
}

// uniqueSuffix is what hashicorp/aws appends to a name_prefix: 26 digits (a UTC
// timestamp and a counter in the real provider).
func uniqueSuffix(seed string) string { return "20260101000000" + digits(hashOf(seed, "suffix"), 12) }

// fill gives every unknown of a planned state its stand-in value: the name from a
// name_prefix, the id and ARN in AWS's formats, the rest from standinValue.
func (p *Server) fill(typeName string, b *schema.Block, planned tftypes.Value) (tftypes.Value, error) {
	seed := typeName + planned.String()
	top, err := asObj(planned)
	if err != nil {
		return planned, err
	}
	if v, ok := top.attrs["name"]; ok && !v.IsKnown() {
		if prefix := top.str("name_prefix"); prefix != "" {
			top.attrs["name"] = stringValue(prefix + uniqueSuffix(seed))
		}
	}
	if v, ok := top.attrs["node_group_name"]; ok && !v.IsKnown() {
		top.attrs["node_group_name"] = stringValue(top.str("node_group_name_prefix") + uniqueSuffix(seed))
	}
	id := p.standinID(typeName, top, seed)
	arn := p.arn(typeName, top, id, seed)
	v, err := walk(b, top.build(), nil, func(path []string, name string, _ *schema.Attribute, v tftypes.Value) (tftypes.Value, error) {
		if v.IsKnown() {
			return v, nil
		}
		if len(path) == 1 {
			switch name {
			case "id":
				return stringValue(id), nil
			case arnAttribute(typeName):
				return stringValue(arn), nil
			}
		}
		return p.standinValue(strings.Join(path, "."), name, v.Type(), seed), nil
	})
	if err != nil {
		return planned, err
	}
	return known(v)
}

// arnAttribute is the top-level attribute that holds a resource's ARN.
func arnAttribute(typeName string) string {
	if typeName == "aws_eks_access_entry" {
		return "access_entry_arn"
	}
	return "arn"
}

// standinID is the id AWS (and hashicorp/aws) would give.
func (p *Server) standinID(typeName string, o *obj, seed string) string {
	if id := o.str("id"); id != "" {
		return id
	}
	if prefix, ok := ec2Prefixes[typeName]; ok {
		return prefix + "-" + hashOf(seed, "id")[:17]
	}
	switch typeName {
	case "aws_iam_role_policy_attachment":
		return o.str("role") + "-" + uniqueSuffix(seed)
	case "aws_eks_node_group":
		return o.str("cluster_name") + ":" + o.str("node_group_name")
	case "aws_eks_addon":
		return o.str("cluster_name") + ":" + o.str("addon_name")
	case "aws_eks_access_entry":
		return o.str("cluster_name") + ":" + o.str("principal_arn")
	case "aws_eks_access_policy_association":
		return o.str("cluster_name") + "#" + o.str("principal_arn") + "#" + o.str("policy_arn")
	case "aws_iam_policy":
		return p.arn(typeName, o, "", seed)
	}
	if name := o.str("name"); name != "" {
		return name
	}
	return hashOf(seed, "id")[:20]
}

// arn is the resource's ARN in its service's format.
func (p *Server) arn(typeName string, o *obj, id, seed string) string {
	svc := service(typeName)
	word, ok := arnResources[typeName]
	if !ok {
		word = strings.ReplaceAll(strings.TrimPrefix(strings.TrimPrefix(typeName, "aws_"), svc+"_"), "_", "-")
	}
	uuid := hashOf(seed, "uuid")
	uuid = uuid[:8] + "-" + uuid[8:12] + "-" + uuid[12:16] + "-" + uuid[16:20] + "-" + uuid[20:32]
	switch {
	case svc == "iam":
		// IAM is global: no region in its ARNs.
		name := o.str("name")
		if name == "" {
			name = id
		}
		return fmt.Sprintf("arn:aws:iam::%s:%s/%s%s", Account(), word, strings.TrimPrefix(o.str("path"), "/"), name)
	case typeName == "aws_eks_cluster":
		return fmt.Sprintf("arn:aws:eks:%s:%s:cluster/%s", p.region, Account(), o.str("name"))
	case typeName == "aws_eks_node_group":
		return fmt.Sprintf("arn:aws:eks:%s:%s:nodegroup/%s/%s/%s", p.region, Account(), o.str("cluster_name"), o.str("node_group_name"), uuid)
	case typeName == "aws_eks_addon":
		return fmt.Sprintf("arn:aws:eks:%s:%s:addon/%s/%s/%s", p.region, Account(), o.str("cluster_name"), o.str("addon_name"), uuid)
	case typeName == "aws_eks_access_entry":
		// EKS's form: the principal's kind, account and name (with its path) in the ARN.
		principal := strings.SplitN(o.str("principal_arn"), ":", 6) // arn:aws:iam::<account>:role/<path/name>
		kind, name := "role", "unknown"
		if len(principal) == 6 {
			kind, name, _ = strings.Cut(principal[5], "/")
			return fmt.Sprintf("arn:aws:eks:%s:%s:access-entry/%s/%s/%s/%s/%s", p.region, Account(), o.str("cluster_name"), kind, principal[4], name, uuid)
		}
		return fmt.Sprintf("arn:aws:eks:%s:%s:access-entry/%s/%s/%s/%s/%s", p.region, Account(), o.str("cluster_name"), kind, Account(), name, uuid)
	}
	return fmt.Sprintf("arn:aws:%s:%s:%s:%s/%s", svc, p.region, Account(), word, id)
}

// standinValue is a computed attribute's value when nothing plays it: a plausible
// string for the names AWS uses everywhere, zero otherwise.
func (p *Server) standinValue(path, name string, t tftypes.Type, seed string) tftypes.Value {
	if !t.Is(tftypes.String) {
		return zero(t)
	}
	h := hashOf(seed, path)
	switch {
	case name == "owner_id" || name == "account_id":
		return stringValue(Account())
	case name == "status":
		return stringValue("ACTIVE")
	case name == "created_at" || name == "create_date":
		return stringValue("2026-01-01T00:00:00Z")
	case strings.HasSuffix(name, "_arn"):
		return stringValue(fmt.Sprintf("arn:aws:%s:%s:%s:%s/%s", "standin", p.region, Account(), strings.TrimSuffix(name, "_arn"), h[:17]))
	case strings.HasSuffix(name, "_id"):
		return stringValue(strings.ReplaceAll(strings.TrimSuffix(name, "_id"), "_", "-") + "-" + h[:17])
	case name == "unique_id":
		return stringValue("AROA" + strings.ToUpper(h[:17]))
	}
	return stringValue("")
}
