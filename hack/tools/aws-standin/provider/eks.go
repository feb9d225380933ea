package provider

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"strings"

	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// EKS is what the stand-in's EKS answers with where the local stack plays the cluster:
// the endpoint and CA of a real kube-apiserver. Without it (AWS_STANDIN_EKS_ENDPOINT
// unset) a cluster gets an endpoint in EKS's form that leads nowhere.
type EKS struct {
	Endpoint string
	// CAData is the PEM of the cluster's CA, base64-encoded, as EKS gives it.
	CAData string
}

// EKSFromEnv reads AWS_STANDIN_EKS_ENDPOINT and AWS_STANDIN_EKS_CA_FILE (a PEM file).
func EKSFromEnv() *EKS {
	e := &EKS{Endpoint: os.Getenv("AWS_STANDIN_EKS_ENDPOINT")}
	if f := os.Getenv("AWS_STANDIN_EKS_CA_FILE"); f != "" {
		if pem, err := os.ReadFile(f); err == nil { //nolint:gosec // the stack's own CA file
			e.CAData = base64.StdEncoding.EncodeToString(pem)
		}
	}
	return e
}

// applied plays AWS's side of a creation or an update: an EKS cluster's endpoint, CA,
// platform version and OIDC issuer; a node group's instances (Nodes).
func (p *Server) applied(ctx context.Context, typeName string, prior, state tftypes.Value) (tftypes.Value, error) {
	switch typeName {
	case "aws_eks_cluster":
		return p.clusterApplied(state)
	case "aws_eks_node_group":
		return state, p.nodes.reconcileNodes(ctx, p.region, prior, state)
	}
	return state, nil
}

// removed plays AWS's side of a deletion: a node group's instances go.
func (p *Server) removed(ctx context.Context, typeName string, prior tftypes.Value) error {
	if typeName != "aws_eks_node_group" {
		return nil
	}
	return p.nodes.reconcileNodes(ctx, p.region, prior, tftypes.NewValue(prior.Type(), nil))
}

// clusterApplied is an EKS cluster as AWS answers once it is created or updated.
func (p *Server) clusterApplied(state tftypes.Value) (tftypes.Value, error) {
	o, err := asObj(state)
	if err != nil {
		return state, err
	}
	endpoint, ca := p.eks.Endpoint, p.eks.CAData
	seed := hashOf("aws_eks_cluster", o.str("name"))
	if endpoint == "" {
		endpoint = fmt.Sprintf("https://%s.gr7.%s.eks.amazonaws.com", strings.ToUpper(seed[:32]), p.region)
	}
	if ca == "" {
		ca = base64.StdEncoding.EncodeToString([]byte("-----BEGIN CERTIFICATE-----\nstand-in\n-----END CERTIFICATE-----\n"))
	}
	o.attrs["endpoint"] = stringValue(endpoint)
	caType := o.attrs["certificate_authority"].Type().(tftypes.List).ElementType
	o.attrs["certificate_authority"] = tftypes.NewValue(o.attrs["certificate_authority"].Type(), []tftypes.Value{
		tftypes.NewValue(caType, map[string]tftypes.Value{"data": stringValue(ca)}),
	})
	o.attrs["platform_version"] = stringValue("eks.1")
	o.attrs["cluster_id"] = stringValue(seed[:8] + "-" + seed[8:12] + "-" + seed[12:16] + "-" + seed[16:20] + "-" + seed[20:32])
	idType := o.attrs["identity"].Type().(tftypes.List).ElementType.(tftypes.Object)
	oidcType := idType.AttributeTypes["oidc"].(tftypes.List).ElementType
	o.attrs["identity"] = tftypes.NewValue(o.attrs["identity"].Type(), []tftypes.Value{
		tftypes.NewValue(idType, map[string]tftypes.Value{"oidc": tftypes.NewValue(idType.AttributeTypes["oidc"], []tftypes.Value{
			tftypes.NewValue(oidcType, map[string]tftypes.Value{
				"issuer": stringValue(fmt.Sprintf("https://oidc.eks.%s.amazonaws.com/id/%s", p.region, strings.ToUpper(seed[:32]))),
			}),
		})}),
	})
	return o.build(), nil
}
