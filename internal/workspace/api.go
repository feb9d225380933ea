// Package workspace is CAPT's typed view of a Crossplane provider-terraform (or
// provider-opentofu) Workspace, for whichever API group the manager is configured with.
// Controllers read and write Workspaces only through it.
package workspace

import (
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// The Workspace API groups CAPT can drive.
const (
	// GroupTerraform is provider-terraform's cluster-scoped group (Crossplane v1).
	GroupTerraform = "tf.upbound.io"
	// GroupTerraformNamespaced is provider-terraform's namespaced group (Crossplane v2).
	GroupTerraformNamespaced = "tf.m.upbound.io"
	// GroupOpenTofu is provider-opentofu's cluster-scoped group.
	GroupOpenTofu = "opentofu.upbound.io"
	// GroupOpenTofuNamespaced is provider-opentofu's namespaced group.
	GroupOpenTofuNamespaced = "opentofu.m.upbound.io"

	// Version is the Workspace API version of every group.
	Version = "v1beta1"
	// Kind is the Workspace kind.
	Kind = "Workspace"
)

// Groups lists the supported groups, the default first.
var Groups = []string{GroupTerraform, GroupTerraformNamespaced, GroupOpenTofu, GroupOpenTofuNamespaced}

// API is one Workspace API group.
type API struct {
	group string
}

// NewAPI returns the API of a supported group.
func NewAPI(group string) (API, error) {
	if !slices.Contains(Groups, group) {
		return API{}, fmt.Errorf("unsupported Workspace API group %q, want one of %v", group, Groups)
	}
	return API{group: group}, nil
}

// DefaultAPI is provider-terraform's cluster-scoped group, the one the proposals use.
func DefaultAPI() API { return API{group: GroupTerraform} }

// Group returns the API group.
func (a API) Group() string { return a.group }

// Namespaced reports whether Workspaces of this group live in a namespace (Crossplane v2).
func (a API) Namespaced() bool {
	return a.group == GroupTerraformNamespaced || a.group == GroupOpenTofuNamespaced
}

// GroupVersionKind returns the Workspace GVK of this group.
func (a API) GroupVersionKind() schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: a.group, Version: Version, Kind: Kind}
}

// NewObject returns an empty Workspace of this group, to Get into or watch.
func (a API) NewObject() *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(a.GroupVersionKind())
	return u
}

// NewList returns an empty Workspace list of this group.
func (a API) NewList() *unstructured.UnstructuredList {
	l := &unstructured.UnstructuredList{}
	l.SetGroupVersionKind(a.GroupVersionKind().GroupVersion().WithKind(Kind + "List"))
	return l
}
