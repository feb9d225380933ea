// Package provider is the stand-in's plugin server: hashicorp/aws's schema over the
// plugin protocol (version 5, as hashicorp/aws serves it), plans in which what the
// provider computes is unknown, and applies that answer with deterministic stand-in
// values kept in state (ids, ARNs, names), AWS's behaviour played where the local stack
// needs it (eks.go).
package provider

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/hashicorp/terraform-plugin-go/tfprotov5"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/capt-dev/capt/hack/tools/aws-standin/schema"
)

// Account is the AWS account id the stand-in answers with (AWS_STANDIN_ACCOUNT_ID
// changes it).
func Account() string {
	if a := os.Getenv("AWS_STANDIN_ACCOUNT_ID"); a != "" {
		return a
	}
	return "123456789012"
}

// Server is the provider. One process serves one Terraform command.
type Server struct {
	schema *schema.Schema
	// Set by ConfigureProvider.
	region      string
	defaultTags map[string]string
	eks         *EKS
	nodes       *Nodes
}

// New serves s.
func New(s *schema.Schema) *Server {
	return &Server{schema: s, eks: EKSFromEnv(), nodes: NodesFromEnv()}
}

var _ tfprotov5.ProviderServer = (*Server)(nil)

func errDiag(summary, detail string) []*tfprotov5.Diagnostic {
	return []*tfprotov5.Diagnostic{{Severity: tfprotov5.DiagnosticSeverityError, Summary: summary, Detail: detail}}
}

// GetMetadata lists what the provider has; Terraform asks GetProviderSchema for the rest.
func (p *Server) GetMetadata(context.Context, *tfprotov5.GetMetadataRequest) (*tfprotov5.GetMetadataResponse, error) {
	resp := &tfprotov5.GetMetadataResponse{ServerCapabilities: &tfprotov5.ServerCapabilities{PlanDestroy: true}}
	for _, n := range sortedKeys(p.schema.Resources) {
		resp.Resources = append(resp.Resources, tfprotov5.ResourceMetadata{TypeName: n})
	}
	for _, n := range sortedKeys(p.schema.DataSources) {
		resp.DataSources = append(resp.DataSources, tfprotov5.DataSourceMetadata{TypeName: n})
	}
	return resp, nil
}

// GetProviderSchema is the whole schema, as the hashicorp/aws version played serves it.
func (p *Server) GetProviderSchema(context.Context, *tfprotov5.GetProviderSchemaRequest) (*tfprotov5.GetProviderSchemaResponse, error) {
	resp := &tfprotov5.GetProviderSchemaResponse{
		ServerCapabilities: &tfprotov5.ServerCapabilities{PlanDestroy: true},
		Provider:           &tfprotov5.Schema{Block: protoBlock(p.schema.ProviderCfg)},
		ResourceSchemas:    map[string]*tfprotov5.Schema{},
		DataSourceSchemas:  map[string]*tfprotov5.Schema{},
	}
	for n, b := range p.schema.Resources {
		resp.ResourceSchemas[n] = &tfprotov5.Schema{Block: protoBlock(b)}
	}
	for n, b := range p.schema.DataSources {
		resp.DataSourceSchemas[n] = &tfprotov5.Schema{Block: protoBlock(b)}
	}
	return resp, nil
}

// GetResourceIdentitySchemas answers none: resource identities are not played.
func (p *Server) GetResourceIdentitySchemas(context.Context, *tfprotov5.GetResourceIdentitySchemasRequest) (*tfprotov5.GetResourceIdentitySchemasResponse, error) {
	return &tfprotov5.GetResourceIdentitySchemasResponse{IdentitySchemas: map[string]*tfprotov5.ResourceIdentitySchema{}}, nil
}

// PrepareProviderConfig accepts what Terraform checked against the schema.
func (p *Server) PrepareProviderConfig(_ context.Context, req *tfprotov5.PrepareProviderConfigRequest) (*tfprotov5.PrepareProviderConfigResponse, error) {
	return &tfprotov5.PrepareProviderConfigResponse{PreparedConfig: req.Config}, nil
}

// ConfigureProvider reads the region (as the real provider: the argument, else
// AWS_REGION or AWS_DEFAULT_REGION) and default_tags.
func (p *Server) ConfigureProvider(_ context.Context, req *tfprotov5.ConfigureProviderRequest) (*tfprotov5.ConfigureProviderResponse, error) {
	v, err := req.Config.Unmarshal(blockType(p.schema.ProviderCfg))
	if err != nil {
		return nil, fmt.Errorf("provider configuration: %w", err)
	}
	o, err := asObj(v)
	if err != nil {
		return nil, fmt.Errorf("provider configuration: %w", err)
	}
	if region, ok := o.attrs["region"]; ok && !region.IsKnown() {
		// Unknown during validate or an early plan: the real provider defers too.
		return &tfprotov5.ConfigureProviderResponse{}, nil
	}
	p.region = o.str("region")
	for _, env := range []string{"AWS_REGION", "AWS_DEFAULT_REGION"} {
		if p.region == "" {
			p.region = os.Getenv(env)
		}
	}
	if p.region == "" {
		return &tfprotov5.ConfigureProviderResponse{Diagnostics: errDiag("Missing region",
			"The stand-in, as hashicorp/aws, needs a region: the provider's region argument, or AWS_REGION.")}, nil
	}
	p.defaultTags = map[string]string{}
	for _, dt := range o.blocks("default_tags") {
		for k, val := range dt.strMap("tags") {
			p.defaultTags[k] = val
		}
	}
	return &tfprotov5.ConfigureProviderResponse{}, nil
}

// StopProvider has nothing to stop: every call returns promptly.
func (p *Server) StopProvider(context.Context, *tfprotov5.StopProviderRequest) (*tfprotov5.StopProviderResponse, error) {
	return &tfprotov5.StopProviderResponse{}, nil
}

func (p *Server) resource(name string) (*schema.Block, []*tfprotov5.Diagnostic) {
	b, ok := p.schema.Resources[name]
	if !ok {
		// What Terraform says when a provider lacks a type; it checks before asking.
		return nil, errDiag("Invalid resource type", fmt.Sprintf("The provider hashicorp/aws does not support resource type %q.", name))
	}
	return b, nil
}

// ValidateResourceTypeConfig only refuses an unknown type: Terraform checked the types, required arguments and
// blocks against the schema; the provider's own validation (enums, patterns) is not
// known to the stand-in.
func (p *Server) ValidateResourceTypeConfig(_ context.Context, req *tfprotov5.ValidateResourceTypeConfigRequest) (*tfprotov5.ValidateResourceTypeConfigResponse, error) {
	_, diags := p.resource(req.TypeName)
	return &tfprotov5.ValidateResourceTypeConfigResponse{Diagnostics: diags}, nil
}

// UpgradeResourceState reads the state as it is: the stand-in has one schema version.
func (p *Server) UpgradeResourceState(_ context.Context, req *tfprotov5.UpgradeResourceStateRequest) (*tfprotov5.UpgradeResourceStateResponse, error) {
	b, diags := p.resource(req.TypeName)
	if diags != nil {
		return &tfprotov5.UpgradeResourceStateResponse{Diagnostics: diags}, nil
	}
	typ := blockType(b)
	v, err := req.RawState.UnmarshalWithOpts(typ, tfprotov5.UnmarshalOpts{ValueFromJSONOpts: tftypes.ValueFromJSONOpts{IgnoreUndefinedAttributes: true}})
	if err != nil {
		return &tfprotov5.UpgradeResourceStateResponse{Diagnostics: errDiag("Reading the state", err.Error())}, nil
	}
	dv, err := tfprotov5.NewDynamicValue(typ, v)
	if err != nil {
		return nil, err
	}
	return &tfprotov5.UpgradeResourceStateResponse{UpgradedState: &dv}, nil
}

// ReadResource answers with the state: nothing changes in the stand-in's AWS but
// through Terraform.
func (p *Server) ReadResource(_ context.Context, req *tfprotov5.ReadResourceRequest) (*tfprotov5.ReadResourceResponse, error) {
	return &tfprotov5.ReadResourceResponse{NewState: req.CurrentState, Private: req.Private}, nil
}

// PlanResourceChange plans what Terraform proposed, with what the provider computes unknown
// on creation (and in new nested blocks), the region and tags_all known as the real
// provider plans them. No argument is known to force a replacement (the extraction
// cannot know which do): every change plans in place.
func (p *Server) PlanResourceChange(_ context.Context, req *tfprotov5.PlanResourceChangeRequest) (*tfprotov5.PlanResourceChangeResponse, error) {
	b, diags := p.resource(req.TypeName)
	if diags != nil {
		return &tfprotov5.PlanResourceChangeResponse{Diagnostics: diags}, nil
	}
	typ := blockType(b)
	proposed, err := req.ProposedNewState.Unmarshal(typ)
	if err != nil {
		return nil, fmt.Errorf("proposed state of %s: %w", req.TypeName, err)
	}
	if proposed.IsNull() {
		return &tfprotov5.PlanResourceChangeResponse{PlannedState: req.ProposedNewState}, nil
	}
	planned, err := walk(b, proposed, nil, func(path []string, name string, a *schema.Attribute, v tftypes.Value) (tftypes.Value, error) {
		if !a.Computed || !v.IsNull() {
			return v, nil
		}
		if len(path) == 1 && name == "region" && p.region != "" {
			return stringValue(p.region), nil
		}
		return unknown(v.Type()), nil
	})
	if err != nil {
		return nil, err
	}
	if planned, err = p.planTagsAll(b, planned); err != nil {
		return nil, err
	}
	dv, err := tfprotov5.NewDynamicValue(typ, planned)
	if err != nil {
		return nil, err
	}
	return &tfprotov5.PlanResourceChangeResponse{PlannedState: &dv}, nil
}

// planTagsAll sets tags_all to default_tags merged with tags, as the real provider plans
// it (unknown while tags are).
func (p *Server) planTagsAll(b *schema.Block, v tftypes.Value) (tftypes.Value, error) {
	if _, ok := b.Attributes["tags_all"]; !ok {
		return v, nil
	}
	o, err := asObj(v)
	if err != nil {
		return v, err
	}
	if tags := o.attrs["tags"]; !tags.IsFullyKnown() {
		o.attrs["tags_all"] = unknown(tftypes.Map{ElementType: tftypes.String})
		return o.build(), nil
	}
	all := map[string]string{}
	for k, val := range p.defaultTags {
		all[k] = val
	}
	for k, val := range o.strMap("tags") {
		all[k] = val
	}
	o.attrs["tags_all"] = stringMapValue(all)
	return o.build(), nil
}

// ApplyResourceChange creates, updates or deletes in the stand-in's AWS: the planned
// state with every unknown given its stand-in value, and AWS's side effects where the
// local stack plays them (EKS).
func (p *Server) ApplyResourceChange(ctx context.Context, req *tfprotov5.ApplyResourceChangeRequest) (*tfprotov5.ApplyResourceChangeResponse, error) {
	b, diags := p.resource(req.TypeName)
	if diags != nil {
		return &tfprotov5.ApplyResourceChangeResponse{Diagnostics: diags}, nil
	}
	typ := blockType(b)
	planned, err := req.PlannedState.Unmarshal(typ)
	if err != nil {
		return nil, fmt.Errorf("planned state of %s: %w", req.TypeName, err)
	}
	prior := tftypes.NewValue(typ, nil)
	if req.PriorState != nil {
		if prior, err = req.PriorState.Unmarshal(typ); err != nil {
			return nil, fmt.Errorf("prior state of %s: %w", req.TypeName, err)
		}
	}
	if planned.IsNull() {
		// A deletion: nothing of the stand-in's AWS outlives its state but the Nodes it
		// played.
		if err := p.removed(ctx, req.TypeName, prior); err != nil {
			return &tfprotov5.ApplyResourceChangeResponse{Diagnostics: errDiag("Deleting "+req.TypeName, err.Error())}, nil
		}
		return &tfprotov5.ApplyResourceChangeResponse{NewState: req.PlannedState}, nil
	}
	newState, err := p.fill(req.TypeName, b, planned)
	if err != nil {
		return nil, err
	}
	if newState, err = p.applied(ctx, req.TypeName, prior, newState); err != nil {
		return &tfprotov5.ApplyResourceChangeResponse{Diagnostics: errDiag("Applying "+req.TypeName, err.Error())}, nil
	}
	dv, err := tfprotov5.NewDynamicValue(typ, newState)
	if err != nil {
		return nil, err
	}
	return &tfprotov5.ApplyResourceChangeResponse{NewState: &dv, Private: req.PlannedPrivate}, nil
}

// ImportResourceState answers not played yet.
func (p *Server) ImportResourceState(_ context.Context, req *tfprotov5.ImportResourceStateRequest) (*tfprotov5.ImportResourceStateResponse, error) {
	return &tfprotov5.ImportResourceStateResponse{Diagnostics: errDiag("Import is not played by the stand-in", "resource type "+req.TypeName)}, nil
}

// MoveResourceState answers not supported, as for most of hashicorp/aws's resources.
func (p *Server) MoveResourceState(_ context.Context, req *tfprotov5.MoveResourceStateRequest) (*tfprotov5.MoveResourceStateResponse, error) {
	return &tfprotov5.MoveResourceStateResponse{Diagnostics: errDiag("Move is not supported", "resource type "+req.TargetTypeName)}, nil
}

// UpgradeResourceIdentity answers no identities.
func (p *Server) UpgradeResourceIdentity(_ context.Context, req *tfprotov5.UpgradeResourceIdentityRequest) (*tfprotov5.UpgradeResourceIdentityResponse, error) {
	return &tfprotov5.UpgradeResourceIdentityResponse{Diagnostics: errDiag("No resource identities", "resource type "+req.TypeName)}, nil
}

// GenerateResourceConfig answers not supported.
func (p *Server) GenerateResourceConfig(_ context.Context, req *tfprotov5.GenerateResourceConfigRequest) (*tfprotov5.GenerateResourceConfigResponse, error) {
	return &tfprotov5.GenerateResourceConfigResponse{Diagnostics: errDiag("Not supported", "resource type "+req.TypeName)}, nil
}

func (p *Server) dataSource(name string) (*schema.Block, []*tfprotov5.Diagnostic) {
	b, ok := p.schema.DataSources[name]
	if !ok {
		return nil, errDiag("Invalid data source", fmt.Sprintf("The provider hashicorp/aws does not support data source %q.", name))
	}
	return b, nil
}

// ValidateDataSourceConfig answers as ValidateResourceTypeConfig.
func (p *Server) ValidateDataSourceConfig(_ context.Context, req *tfprotov5.ValidateDataSourceConfigRequest) (*tfprotov5.ValidateDataSourceConfigResponse, error) {
	_, diags := p.dataSource(req.TypeName)
	return &tfprotov5.ValidateDataSourceConfigResponse{Diagnostics: diags}, nil
}

// ReadDataSource answers plausibly (datasources.go).
func (p *Server) ReadDataSource(_ context.Context, req *tfprotov5.ReadDataSourceRequest) (*tfprotov5.ReadDataSourceResponse, error) {
	b, diags := p.dataSource(req.TypeName)
	if diags != nil {
		return &tfprotov5.ReadDataSourceResponse{Diagnostics: diags}, nil
	}
	typ := blockType(b)
	cfg, err := req.Config.Unmarshal(typ)
	if err != nil {
		return nil, fmt.Errorf("configuration of %s: %w", req.TypeName, err)
	}
	state, err := p.readData(req.TypeName, b, cfg)
	if err != nil {
		return &tfprotov5.ReadDataSourceResponse{Diagnostics: errDiag("Reading "+req.TypeName, err.Error())}, nil
	}
	dv, err := tfprotov5.NewDynamicValue(typ, state)
	if err != nil {
		return nil, err
	}
	return &tfprotov5.ReadDataSourceResponse{State: &dv}, nil
}

// CallFunction refuses every name: hashicorp/aws's functions (arn_parse, arn_build, trim_iam_role_path) are
// not in the npm package's schema, so the stand-in serves none.
func (p *Server) CallFunction(_ context.Context, req *tfprotov5.CallFunctionRequest) (*tfprotov5.CallFunctionResponse, error) {
	return &tfprotov5.CallFunctionResponse{Error: &tfprotov5.FunctionError{Text: "no function " + req.Name + " in the stand-in"}}, nil
}

// GetFunctions answers none.
func (p *Server) GetFunctions(context.Context, *tfprotov5.GetFunctionsRequest) (*tfprotov5.GetFunctionsResponse, error) {
	return &tfprotov5.GetFunctionsResponse{Functions: map[string]*tfprotov5.Function{}}, nil
}

// ValidateEphemeralResourceConfig refuses every type: hashicorp/aws's ephemeral resources
// are not in the npm package, so the stand-in serves none.
func (p *Server) ValidateEphemeralResourceConfig(_ context.Context, req *tfprotov5.ValidateEphemeralResourceConfigRequest) (*tfprotov5.ValidateEphemeralResourceConfigResponse, error) {
	return &tfprotov5.ValidateEphemeralResourceConfigResponse{Diagnostics: errDiag("No ephemeral resources", req.TypeName)}, nil
}

// OpenEphemeralResource answers none.
func (p *Server) OpenEphemeralResource(_ context.Context, req *tfprotov5.OpenEphemeralResourceRequest) (*tfprotov5.OpenEphemeralResourceResponse, error) {
	return &tfprotov5.OpenEphemeralResourceResponse{Diagnostics: errDiag("No ephemeral resources", req.TypeName)}, nil
}

// RenewEphemeralResource answers none.
func (p *Server) RenewEphemeralResource(_ context.Context, req *tfprotov5.RenewEphemeralResourceRequest) (*tfprotov5.RenewEphemeralResourceResponse, error) {
	return &tfprotov5.RenewEphemeralResourceResponse{Diagnostics: errDiag("No ephemeral resources", req.TypeName)}, nil
}

// CloseEphemeralResource answers none.
func (p *Server) CloseEphemeralResource(_ context.Context, req *tfprotov5.CloseEphemeralResourceRequest) (*tfprotov5.CloseEphemeralResourceResponse, error) {
	return &tfprotov5.CloseEphemeralResourceResponse{Diagnostics: errDiag("No ephemeral resources", req.TypeName)}, nil
}

// service is the AWS service of a resource type, for ARNs: aws_eks_cluster → eks.
func service(typeName string) string {
	parts := strings.SplitN(strings.TrimPrefix(typeName, "aws_"), "_", 2)
	switch parts[0] {
	case "vpc", "subnet", "internet", "route", "eip", "nat", "security", "network", "instance", "launch", "ebs", "ami", "default":
		return "ec2"
	}
	return parts[0]
}
