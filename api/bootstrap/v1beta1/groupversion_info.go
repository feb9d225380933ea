// Package v1beta1 holds CAPT's bootstrap API: CAPTNodeGroupBootstrap and its template,
// Cluster API's bootstrap config for a MachinePool whose nodes are an EKS managed node
// group (a CAPTMachinePool). EKS joins a managed node group's instances to the cluster
// itself, so the kind produces no bootstrap data: it tells Cluster API so, in the
// contract's own fields, and lets a ClusterClass declare machine pools, which need a
// bootstrap template.
//
// +kubebuilder:object:generate=true
// +groupName=bootstrap.cluster.x-k8s.io
package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the group and version of CAPT's bootstrap kinds.
	GroupVersion = schema.GroupVersion{Group: "bootstrap.cluster.x-k8s.io", Version: "v1beta1"}

	schemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the kinds of this group version to a scheme.
	AddToScheme = schemeBuilder.AddToScheme

	// objectTypes are the kinds of this group version; each types file appends its own.
	objectTypes = []runtime.Object{}
)

func addKnownTypes(scheme *runtime.Scheme) error {
	scheme.AddKnownTypes(GroupVersion, objectTypes...)
	metav1.AddToGroupVersion(scheme, GroupVersion)
	return nil
}
