package tfmodule

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// Backend is the state backend a provider-terraform ProviderConfig declares, as far as
// CAPT can tell where a Terraform workspace's state lives without running Terraform.
type Backend struct {
	// Type is the backend's type ("kubernetes", "s3", ...), "" when none is declared.
	Type string
	// Namespace and SecretSuffix are the kubernetes backend's: the state of Terraform
	// workspace W is the Secret tfstate-W-<SecretSuffix> in Namespace.
	Namespace, SecretSuffix string
	// Remote is true when the kubernetes backend names another API server (host), whose
	// Secrets CAPT does not read.
	Remote bool
}

// StateSecretName is the kubernetes backend's Secret for Terraform workspace name.
func (b *Backend) StateSecretName(name string) string {
	return "tfstate-" + name + "-" + b.SecretSuffix
}

// ReadBackend reads the backend a ProviderConfig declares: the terraform { backend "T"
// {...} } block of its configuration (HCL), whose attributes its backendFile (HCL
// attributes, given to init as -backend-config) overrides. Only literal values are read:
// a backend built from expressions is reported with the error.
func ReadBackend(configuration, backendFile string) (*Backend, error) {
	b := &Backend{}
	if configuration == "" {
		return b, nil
	}
	file, diags := hclsyntax.ParseConfig([]byte(configuration), "configuration.tf", hcl.InitialPos)
	if diags.HasErrors() {
		return nil, fmt.Errorf("parsing the ProviderConfig's configuration: %w", firstError(diags))
	}
	content, _, diags := file.Body.PartialContent(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "terraform"}}})
	if diags.HasErrors() {
		return nil, fmt.Errorf("parsing the ProviderConfig's configuration: %w", firstError(diags))
	}
	var body hcl.Body
	for _, tf := range content.Blocks {
		inner, _, diags := tf.Body.PartialContent(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "backend", LabelNames: []string{"type"}}}})
		if diags.HasErrors() {
			return nil, fmt.Errorf("parsing the ProviderConfig's configuration: %w", firstError(diags))
		}
		for _, backend := range inner.Blocks {
			b.Type, body = backend.Labels[0], backend.Body
		}
	}
	if b.Type != "kubernetes" {
		return b, nil
	}
	attrs, err := literals(body)
	if err != nil {
		return nil, err
	}
	if backendFile != "" {
		file, diags := hclsyntax.ParseConfig([]byte(backendFile), "backend.tf", hcl.InitialPos)
		if diags.HasErrors() {
			return nil, fmt.Errorf("parsing the ProviderConfig's backendFile: %w", firstError(diags))
		}
		more, err := literals(file.Body)
		if err != nil {
			return nil, err
		}
		for k, v := range more {
			attrs[k] = v
		}
	}
	b.Namespace, b.SecretSuffix = attrs["namespace"], attrs["secret_suffix"]
	if b.Namespace == "" {
		b.Namespace = "default" // the kubernetes backend's default
	}
	_, b.Remote = attrs["host"]
	if b.SecretSuffix == "" {
		return nil, errors.New("the kubernetes backend declares no literal secret_suffix")
	}
	return b, nil
}

// literals reads a body's attributes that are literal strings or booleans (as text).
func literals(body hcl.Body) (map[string]string, error) {
	attrs, diags := body.JustAttributes()
	if diags.HasErrors() {
		return nil, fmt.Errorf("reading the backend's attributes: %w", firstError(diags))
	}
	out := map[string]string{}
	for name, a := range attrs {
		v, diags := a.Expr.Value(nil)
		if diags.HasErrors() || v.IsNull() || !v.IsKnown() {
			if name == "namespace" || name == "secret_suffix" {
				return nil, fmt.Errorf("the kubernetes backend's %s is not a literal", name)
			}
			continue
		}
		switch v.Type() {
		case cty.String:
			out[name] = v.AsString()
		case cty.Bool:
			out[name] = fmt.Sprint(v.True())
		}
	}
	return out, nil
}

// State is what CAPT reads of a Terraform state: never a value of it.
type State struct {
	// Serial and Lineage identify the state's version and history.
	Serial  int64
	Lineage string
	// Resources counts the managed resource instances.
	Resources int
}

// ReadState decodes a kubernetes backend state Secret's "tfstate" value (gzipped JSON).
// The error never quotes the state.
func ReadState(gzipped []byte) (*State, error) {
	gz, err := gzip.NewReader(bytes.NewReader(gzipped))
	if err != nil {
		return nil, errors.New("not gzip data")
	}
	data, err := io.ReadAll(io.LimitReader(gz, 256<<20))
	if err != nil {
		return nil, errors.New("not gzip data")
	}
	var s struct {
		Version   int    `json:"version"`
		Serial    int64  `json:"serial"`
		Lineage   string `json:"lineage"`
		Resources []struct {
			Mode      string            `json:"mode"`
			Instances []json.RawMessage `json:"instances"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(data, &s); err != nil || s.Version == 0 {
		return nil, errors.New("not a Terraform state")
	}
	out := &State{Serial: s.Serial, Lineage: s.Lineage}
	for _, r := range s.Resources {
		if r.Mode == "managed" {
			out.Resources += len(r.Instances)
		}
	}
	return out, nil
}
