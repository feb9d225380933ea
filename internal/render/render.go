package render

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/workspace"
)

// maxNameLength keeps Workspace names usable as label values and in provider-terraform's
// derived names (working directory, tfstate-<name>-<suffix> Secret).
const maxNameLength = 63

// WorkspaceName is the name of the Workspace a WorkspaceTemplateApply owns. Namespaced
// Workspaces take the WorkspaceTemplateApply's name. Cluster-scoped ones get the
// namespace and name, shortened, plus a hash of both: two WorkspaceTemplateApplies of
// one name in two namespaces never share a Workspace, and "a-b/c" and "a/b-c" differ.
func WorkspaceName(api workspace.API, namespace, name string) string {
	if api.Namespaced() {
		return name
	}
	sum := sha256.Sum256([]byte(namespace + "/" + name))
	suffix := hex.EncodeToString(sum[:])[:8]
	prefix := namespace + "-" + name
	if limit := maxNameLength - len(suffix) - 1; len(prefix) > limit {
		prefix = prefix[:limit]
	}
	for len(prefix) > 0 && (prefix[len(prefix)-1] == '-' || prefix[len(prefix)-1] == '.') {
		prefix = prefix[:len(prefix)-1]
	}
	return prefix + "-" + suffix
}

// Workspace renders the Workspace that apply asks for from tmpl.
func Workspace(api workspace.API, tmpl *infrav1.WorkspaceTemplate, apply *infrav1.WorkspaceTemplateApply) (*workspace.Workspace, error) {
	return render(api, tmpl, apply, fromMap(apply.Spec.Variables))
}

// ValidateTemplate reports what keeps a template from rendering for any
// WorkspaceTemplateApply: malformed placeholders, an inline JSON module that is not
// JSON, fields the API group does not support.
func ValidateTemplate(api workspace.API, tmpl *infrav1.WorkspaceTemplate) error {
	p := tmpl.Spec.Template.Spec.ForProvider
	if p.Source == "Inline" && p.InlineFormat == "JSON" && !json.Valid([]byte(p.Module)) {
		return &FieldError{Field: "spec.template.spec.forProvider.module", Reason: "is not valid JSON (inlineFormat is JSON)"}
	}
	probe := &infrav1.WorkspaceTemplateApply{ObjectMeta: metav1.ObjectMeta{Namespace: tmpl.Namespace, Name: "validate"}}
	_, err := render(api, tmpl, probe, anyName)
	return err
}

func render(api workspace.API, tmpl *infrav1.WorkspaceTemplate, apply *infrav1.WorkspaceTemplateApply, vars lookup) (*workspace.Workspace, error) {
	def := tmpl.Spec.Template

	params, err := renderParameters(def.Spec.ForProvider, apply.Spec.Variables, vars)
	if err != nil {
		return nil, err
	}
	defaultKeyNamespaces(&params, apply.Namespace)
	if p := tmpl.Spec.Protection; p != nil {
		if err := SetProtection(&params, p.Variable, true); err != nil {
			return nil, err
		}
	}
	secretRef, err := connectionSecret(api, def.Spec.WriteConnectionSecretToRef, apply, vars)
	if err != nil {
		return nil, err
	}
	if api.Namespaced() && def.Spec.DeletionPolicy != "" {
		return nil, &FieldError{Field: "spec.template.spec.deletionPolicy",
			Reason: "is not supported by namespaced Workspaces (" + api.Group() + "); use managementPolicies"}
	}
	labels, err := renderStringMap(def.Metadata.Labels, "spec.template.metadata.labels", vars, true)
	if err != nil {
		return nil, err
	}
	annotations, err := renderStringMap(def.Metadata.Annotations, "spec.template.metadata.annotations", vars, false)
	if err != nil {
		return nil, err
	}

	w := &workspace.Workspace{
		TypeMeta: metav1.TypeMeta{APIVersion: api.GroupVersionKind().GroupVersion().String(), Kind: workspace.Kind},
		ObjectMeta: metav1.ObjectMeta{
			Name:        WorkspaceName(api, apply.Namespace, apply.Name),
			Labels:      ownerLabels(labels, apply),
			Annotations: annotations,
		},
		Spec: workspace.Spec{
			ForProvider:                params,
			ProviderConfigRef:          def.Spec.ProviderConfigRef.DeepCopy(),
			ManagementPolicies:         slices.Clone(def.Spec.ManagementPolicies),
			WriteConnectionSecretToRef: secretRef,
		},
	}
	if !api.Namespaced() {
		w.Spec.DeletionPolicy = def.Spec.DeletionPolicy
	} else {
		w.Namespace = apply.Namespace
	}
	if w.Annotations == nil {
		w.Annotations = map[string]string{}
	}
	w.Annotations[infrav1.WorkspaceTemplateApplyAnnotation] = apply.Namespace + "/" + apply.Name
	return w, nil
}

// ownerLabels adds the labels that tie a Workspace to its WorkspaceTemplateApply and
// Cluster to the template's labels.
func ownerLabels(labels map[string]string, apply *infrav1.WorkspaceTemplateApply) map[string]string {
	out := maps.Clone(labels)
	if out == nil {
		out = map[string]string{}
	}
	out[infrav1.WorkspaceTemplateApplyNamespaceLabel] = apply.Namespace
	if len(validation.IsValidLabelValue(apply.Name)) == 0 {
		out[infrav1.WorkspaceTemplateApplyNameLabel] = apply.Name
	}
	if cluster, ok := apply.Labels[clusterv1.ClusterNameLabel]; ok {
		out[clusterv1.ClusterNameLabel] = cluster
	}
	return out
}

func renderParameters(in infrav1.WorkspaceParameters, applyVars map[string]string, vars lookup) (infrav1.WorkspaceParameters, error) {
	out := *in.DeepCopy()

	// Template vars, in their order, with placeholders substituted; a
	// WorkspaceTemplateApply variable of the same name replaces one.
	out.Vars = nil
	for i, v := range in.Vars {
		if _, overridden := applyVars[v.Key]; overridden {
			continue
		}
		value, err := substitute(v.Value, fmt.Sprintf("spec.template.spec.forProvider.vars[%d].value", i), vars)
		if err != nil {
			return out, err
		}
		out.Vars = append(out.Vars, infrav1.Var{Key: v.Key, Value: value})
	}

	// The template's varmap, substituted, with the WorkspaceTemplateApply's variables on
	// top. provider-terraform passes the varmap as a variables file, where a variable the
	// module does not declare is a warning, not an error (as a -var flag would be): a
	// template declares only the variables it uses.
	varmap := map[string]any{}
	if in.VarMap != nil && len(in.VarMap.Raw) > 0 {
		var decoded any
		if err := json.Unmarshal(in.VarMap.Raw, &decoded); err != nil {
			return out, &FieldError{Field: "spec.template.spec.forProvider.varmap", Reason: "is not valid JSON"}
		}
		substituted, err := substituteAny(decoded, "spec.template.spec.forProvider.varmap", vars)
		if err != nil {
			return out, err
		}
		object, ok := substituted.(map[string]any)
		if !ok {
			return out, &FieldError{Field: "spec.template.spec.forProvider.varmap", Reason: "must be a JSON object of variables"}
		}
		varmap = object
	}
	for k, v := range applyVars {
		varmap[k] = v
	}
	out.VarMap = nil
	if len(varmap) > 0 {
		raw, err := json.Marshal(varmap)
		if err != nil {
			return out, fmt.Errorf("encoding varmap: %w", err)
		}
		out.VarMap = &apiextensionsv1.JSON{Raw: raw}
	}

	for i := range out.Env {
		value, err := substitute(out.Env[i].Value, fmt.Sprintf("spec.template.spec.forProvider.env[%d].value", i), vars)
		if err != nil {
			return out, err
		}
		out.Env[i].Value = value
	}
	return out, nil
}

func connectionSecret(api workspace.API, fromTemplate *infrav1.SecretReference, apply *infrav1.WorkspaceTemplateApply, vars lookup) (*workspace.ConnectionSecretReference, error) {
	ref, field := apply.Spec.WriteConnectionSecretToRef, "spec.writeConnectionSecretToRef"
	if ref == nil {
		ref, field = fromTemplate, "spec.template.spec.writeConnectionSecretToRef"
	}
	if ref == nil {
		return nil, nil
	}
	name, err := substitute(ref.Name, field+".name", vars)
	if err != nil {
		return nil, err
	}
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return nil, &FieldError{Field: field + ".name", Reason: "is not a valid Secret name after substitution: " + errs[0]}
	}
	namespace, err := substitute(ref.Namespace, field+".namespace", vars)
	if err != nil {
		return nil, err
	}
	if namespace == "" {
		namespace = apply.Namespace
	}
	if api.Namespaced() {
		if namespace != apply.Namespace {
			return nil, &FieldError{Field: field + ".namespace",
				Reason: "must be the WorkspaceTemplateApply's namespace: namespaced Workspaces write their connection secret next to themselves"}
		}
		return &workspace.ConnectionSecretReference{Name: name}, nil
	}
	if errs := validation.IsDNS1123Label(namespace); len(errs) > 0 {
		return nil, &FieldError{Field: field + ".namespace", Reason: "is not a valid namespace after substitution: " + errs[0]}
	}
	return &workspace.ConnectionSecretReference{Name: name, Namespace: namespace}, nil
}

func renderStringMap(in map[string]string, field string, vars lookup, labelValues bool) (map[string]string, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(in))
	for _, k := range slices.Sorted(maps.Keys(in)) {
		v, err := substitute(in[k], field+"["+printable(k)+"]", vars)
		if err != nil {
			return nil, err
		}
		if labelValues {
			if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
				return nil, &FieldError{Field: field + "[" + printable(k) + "]", Reason: "is not a valid label value after substitution: " + errs[0]}
			}
		}
		out[k] = v
	}
	return out, nil
}

// ChildName is the name of an object CAPT creates for parent, such as
// "<controlplane>-controlplane"; a parent name too long for the suffix is shortened and
// made unique with a hash.
func ChildName(parent, suffix string) string {
	name := parent + "-" + suffix
	if len(name) <= validation.DNS1123SubdomainMaxLength {
		return name
	}
	sum := sha256.Sum256([]byte(parent))
	hash := hex.EncodeToString(sum[:])[:8]
	keep := validation.DNS1123SubdomainMaxLength - len(suffix) - len(hash) - 2
	return strings.TrimRight(parent[:keep], "-.") + "-" + hash + "-" + suffix
}
