package controlplane

import (
	"context"
	"encoding/json"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
)

// infrastructure is what the control plane template needs from the CAPTCluster.
type infrastructure struct {
	region           string
	vpcID            string
	privateSubnetIDs []string
	publicSubnetIDs  []string
	tags             map[string]string
}

// readInfrastructure finds the CAPTCluster through the Cluster's infrastructureRef
// (never by name). It returns waitingFor when the CAPTCluster is not provisioned yet;
// the CAPTCluster watch brings the next pass. A Cluster whose infrastructure is not a
// CAPTCluster gives the template nothing from it.
func (r *Reconciler) readInfrastructure(ctx context.Context, cluster *clusterv1.Cluster) (infra *infrastructure, waitingFor string, err error) {
	ref := cluster.Spec.InfrastructureRef
	if !ref.IsDefined() || ref.Kind != "CAPTCluster" || ref.APIGroup != infrav1.GroupVersion.Group {
		return &infrastructure{}, "", nil
	}
	cc := &infrav1.CAPTCluster{}
	key := client.ObjectKey{Namespace: cluster.Namespace, Name: ref.Name}
	if err := r.Client.Get(ctx, key, cc); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Sprintf("CAPTCluster %s to exist", key), nil
		}
		return nil, "", fmt.Errorf("getting CAPTCluster %s: %w", key, err)
	}
	if !ptr.Deref(cc.Status.Initialization.Provisioned, false) {
		return nil, fmt.Sprintf("CAPTCluster %s to be provisioned", key), nil
	}
	infra = &infrastructure{region: cc.Spec.Region, tags: cc.Spec.AdditionalTags}
	if cc.Status.VPC != nil {
		infra.vpcID = cc.Status.VPC.ID
		infra.privateSubnetIDs = cc.Status.VPC.PrivateSubnetIDs
		infra.publicSubnetIDs = cc.Status.VPC.PublicSubnetIDs
	}
	if infra.vpcID == "" {
		infra.vpcID = cc.Spec.ExistingVPCID
	}
	return infra, "", nil
}

// jsonText encodes a list or map variable; templates jsondecode() it.
func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}
