package controlplane

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/render"
)

// applyName is the control plane's WorkspaceTemplateApply.
func applyName(cp *controlplanev1.CAPTControlPlane) string {
	return render.ChildName(cp.Name, "controlplane")
}

// outputsSecretName is where the control plane Workspace writes every output.
func outputsSecretName(cp *controlplanev1.CAPTControlPlane) string {
	return render.ChildName(cp.Name, "controlplane-outputs")
}

// variables are what the control plane template receives (docs/controlplane.md).
func variables(cp *controlplanev1.CAPTControlPlane, cluster *clusterv1.Cluster, infra *infrastructure) map[string]string {
	vars := map[string]string{
		"cluster_name":       cluster.Name,
		"cluster_namespace":  cluster.Namespace,
		"kubernetes_version": strings.TrimPrefix(cp.Spec.Version, "v"),
	}
	tags := maps.Clone(infra.tags)
	if tags == nil {
		tags = map[string]string{}
	}
	maps.Copy(tags, cp.Spec.AdditionalTags)
	vars["tags"] = jsonText(tags)
	if infra.region != "" {
		vars["region"] = infra.region
	}
	if infra.vpcID != "" {
		vars["vpc_id"] = infra.vpcID
	}
	vars["private_subnet_ids"] = jsonText(nonNil(infra.privateSubnetIDs))
	vars["public_subnet_ids"] = jsonText(nonNil(infra.publicSubnetIDs))

	public, private, cidrs := true, false, []string{}
	addons := []controlplanev1.Addon{}
	if cfg := cp.Spec.ControlPlaneConfig; cfg != nil {
		if a := cfg.EndpointAccess; a != nil {
			public, private, cidrs = a.Public, a.Private, nonNil(a.PublicCIDRs)
		}
		addons = append(addons, cfg.Addons...)
	}
	vars["endpoint_public_access"] = strconv.FormatBool(public)
	vars["endpoint_private_access"] = strconv.FormatBool(private)
	vars["public_access_cidrs"] = jsonText(cidrs)
	vars["addons"] = jsonText(addons)
	return vars
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// reconcileApply creates or updates the control plane's WorkspaceTemplateApply; it
// writes only when the spec or labels differ.
func (r *Reconciler) reconcileApply(ctx context.Context, cp *controlplanev1.CAPTControlPlane, cluster *clusterv1.Cluster, infra *infrastructure) (*infrav1.WorkspaceTemplateApply, error) {
	apply := &infrav1.WorkspaceTemplateApply{ObjectMeta: metav1.ObjectMeta{Namespace: cp.Namespace, Name: applyName(cp)}}
	templateNS := cp.Spec.WorkspaceTemplateRef.Namespace
	if templateNS == "" {
		templateNS = cp.Namespace
	}
	result, err := controllerutil.CreateOrPatch(ctx, r.Client, apply, func() error {
		if apply.Labels == nil {
			apply.Labels = map[string]string{}
		}
		apply.Labels[clusterv1.ClusterNameLabel] = cluster.Name
		if v, ok := cp.Labels[clusterv1.WatchLabel]; ok {
			apply.Labels[clusterv1.WatchLabel] = v
		}
		apply.Spec.TemplateRef = infrav1.WorkspaceTemplateReference{Name: cp.Spec.WorkspaceTemplateRef.Name, Namespace: templateNS}
		apply.Spec.Variables = variables(cp, cluster, infra)
		apply.Spec.WriteConnectionSecretToRef = &infrav1.SecretReference{Name: outputsSecretName(cp), Namespace: cp.Namespace}
		apply.Spec.RetainWorkspaceOnDelete = false
		return controllerutil.SetControllerReference(cp, apply, r.Client.Scheme())
	})
	if err != nil {
		return nil, fmt.Errorf("writing WorkspaceTemplateApply %s: %w", apply.Name, err)
	}
	if result == controllerutil.OperationResultCreated {
		r.Recorder.Eventf(cp, apply, "Normal", "WorkspaceTemplateApplyCreated", "Create", "Created WorkspaceTemplateApply %s from WorkspaceTemplate %s/%s", apply.Name, templateNS, cp.Spec.WorkspaceTemplateRef.Name)
	}
	return apply, nil
}
