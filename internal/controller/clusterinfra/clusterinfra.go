// Package clusterinfra reads what a Cluster's CAPTCluster provides to the templates of the
// objects built on it (the control plane, the node groups): region, VPC, subnets and tags.
// It is found through the Cluster's infrastructureRef, never by name.
package clusterinfra

import (
	"context"
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
)

// Infrastructure is what a template needs from the CAPTCluster.
type Infrastructure struct {
	Region           string
	VPCID            string
	PrivateSubnetIDs []string
	PublicSubnetIDs  []string
	Tags             map[string]string
}

// Read finds the CAPTCluster through the Cluster's infrastructureRef. It returns
// waitingFor when the CAPTCluster is not provisioned yet; a watch on CAPTClusters brings
// the caller's next pass. A Cluster whose infrastructure is not a CAPTCluster gives
// nothing: an empty Infrastructure.
func Read(ctx context.Context, c client.Reader, cluster *clusterv1.Cluster) (infra *Infrastructure, waitingFor string, err error) {
	ref := cluster.Spec.InfrastructureRef
	if !IsCAPTCluster(ref) {
		return &Infrastructure{}, "", nil
	}
	cc := &infrav1.CAPTCluster{}
	key := client.ObjectKey{Namespace: cluster.Namespace, Name: ref.Name}
	if err := c.Get(ctx, key, cc); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Sprintf("CAPTCluster %s to exist", key), nil
		}
		return nil, "", fmt.Errorf("getting CAPTCluster %s: %w", key, err)
	}
	if !ptr.Deref(cc.Status.Initialization.Provisioned, false) {
		return nil, fmt.Sprintf("CAPTCluster %s to be provisioned", key), nil
	}
	infra = &Infrastructure{Region: cc.Spec.Region, Tags: cc.Spec.AdditionalTags}
	if cc.Status.VPC != nil {
		infra.VPCID = cc.Status.VPC.ID
		infra.PrivateSubnetIDs = cc.Status.VPC.PrivateSubnetIDs
		infra.PublicSubnetIDs = cc.Status.VPC.PublicSubnetIDs
	}
	if infra.VPCID == "" {
		infra.VPCID = cc.Spec.ExistingVPCID
	}
	return infra, "", nil
}

// IsCAPTCluster says ref names a CAPTCluster.
func IsCAPTCluster(ref clusterv1.ContractVersionedObjectReference) bool {
	return ref.IsDefined() && ref.Kind == "CAPTCluster" && ref.APIGroup == infrav1.GroupVersion.Group
}

// JSONText encodes a list or map variable; templates jsondecode() it. Lists and maps
// reach Terraform through a variables file, where a string is not converted to either.
func JSONText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

// Changed passes the CAPTCluster events that change what Read reads: creations,
// deletions, and updates of the spec, of provisioned or of the VPC, not of its conditions.
func Changed() predicate.Predicate {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		old, okOld := e.ObjectOld.(*infrav1.CAPTCluster)
		changed, okNew := e.ObjectNew.(*infrav1.CAPTCluster)
		if !okOld || !okNew {
			return true
		}
		return !equality.Semantic.DeepEqual(old.Spec, changed.Spec) ||
			!equality.Semantic.DeepEqual(old.Status.Initialization, changed.Status.Initialization) ||
			!equality.Semantic.DeepEqual(old.Status.VPC, changed.Status.VPC)
	}}
}
