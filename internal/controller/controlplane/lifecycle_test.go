package controlplane

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/kubeconfig"
	"github.com/capt-dev/capt/internal/testenv"
	"github.com/capt-dev/capt/internal/workspace"
)

// TestEndpointSecretsStatusAndRest follows a control plane from creation to Ready: the
// endpoint reaches the control plane and the Cluster, the contract's secrets appear,
// the status follows the contract, a pass at rest writes nothing, and an upgrade
// reaches the Workspace and status.version.
func TestEndpointSecretsStatusAndRest(t *testing.T) {
	ctx := context.Background()
	writes := startControllers(t)
	ns := newNamespace(t)
	cluster, cp := newCluster(t, ns, "demo")

	// The WorkspaceTemplateApply carries the spec as variables.
	apply := &infrav1.WorkspaceTemplateApply{}
	testenv.Eventually(t, "WorkspaceTemplateApply created", func() error {
		return env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: applyName(cp)}, apply)
	})
	for k, v := range map[string]string{"cluster_name": "demo", "cluster_namespace": ns, "kubernetes_version": "1.31.2"} {
		if apply.Spec.Variables[k] != v {
			t.Errorf("variable %s = %q, want %q", k, apply.Spec.Variables[k], v)
		}
	}
	// Fields left unset send nothing: the template's default decides.
	for _, k := range []string{"endpoint_public_access", "tags", "addons"} {
		if v, ok := apply.Spec.Variables[k]; ok {
			t.Errorf("variable %s = %q sent for a field left unset", k, v)
		}
	}
	if !metav1.IsControlledBy(apply, getCP(t, cp)) || apply.Labels[clusterv1.ClusterNameLabel] != "demo" {
		t.Errorf("apply not owned and labelled: %+v", apply.ObjectMeta)
	}
	waitCP(t, cp, "creating", func(c *controlplanev1.CAPTControlPlane) error {
		if c.Status.Phase != controlplanev1.PhaseCreating || ptr.Deref(c.Status.Initialization.ControlPlaneInitialized, true) {
			return fmt.Errorf("phase %s, initialized %v", c.Status.Phase, c.Status.Initialization.ControlPlaneInitialized)
		}
		return nil
	})

	goodProvider(t).apply(t, cp)
	got := waitReady(t, cp, "Ready")
	if got.Spec.ControlPlaneEndpoint != (infrav1.APIEndpoint{Host: "abcdef.gr7.us-west-2.eks.amazonaws.com", Port: 443}) {
		t.Errorf("endpoint = %+v", got.Spec.ControlPlaneEndpoint)
	}
	if ep := getCluster(t, cluster).Spec.ControlPlaneEndpoint; ep.Host != "abcdef.gr7.us-west-2.eks.amazonaws.com" || ep.Port != 443 {
		t.Errorf("Cluster endpoint = %+v", ep)
	}
	st := got.Status
	if !ptr.Deref(st.Initialization.ControlPlaneInitialized, false) || !st.Initialized || !st.Ready || !st.SecretsReady ||
		st.Version != "v1.31.2" || !ptr.Deref(st.ExternalManagedControlPlane, false) || st.Phase != controlplanev1.PhaseReady {
		t.Errorf("status = %+v", st)
	}
	for _, ct := range []string{controlplanev1.AvailableCondition, controlplanev1.WorkspaceReadyCondition, controlplanev1.EndpointReadyCondition, controlplanev1.SecretsReadyCondition} {
		if c := cond(got, ct); c.Status != metav1.ConditionTrue {
			t.Errorf("%s = %+v", ct, c)
		}
	}

	// The contract's secrets.
	kc := &corev1.Secret{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "demo-kubeconfig"}, kc); err != nil {
		t.Fatal(err)
	}
	if kc.Type != clusterv1.ClusterSecretType || kc.Labels[clusterv1.ClusterNameLabel] != "demo" || !metav1.IsControlledBy(kc, got) {
		t.Errorf("kubeconfig secret metadata = %+v, type %s", kc.ObjectMeta, kc.Type)
	}
	if _, err := kubeconfig.Validate(kc.Data[kubeconfig.KubeconfigKey]); err != nil {
		t.Errorf("kubeconfig: %v", err)
	}
	ca := &corev1.Secret{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "demo-ca"}, ca); err != nil || len(ca.Data[corev1.TLSCertKey]) == 0 {
		t.Errorf("CA secret: %v %v", err, ca.Data)
	}

	// Events: a creation that goes well makes one, Available (they are sent
	// asynchronously); the steps before it are in the conditions.
	var reasons map[string]int
	testenv.Eventually(t, "events", func() error {
		reasons = eventReasons(t, ns, got.Name)
		if reasons[controlplanev1.AvailableCondition] != 1 {
			return fmt.Errorf("events %v: want one %s", reasons, controlplanev1.AvailableCondition)
		}
		return nil
	})
	if len(reasons) != 1 {
		t.Errorf("events of a creation: %v, want only %s", reasons, controlplanev1.AvailableCondition)
	}

	// At rest: a pass with nothing to do writes nothing and records no event.
	writes.Settle(time.Second)
	before := testenv.ReconcileTotal(controllerName)
	writes.Reset()
	touch(t, cp)
	testenv.Eventually(t, "a reconcile ran", func() error {
		if testenv.ReconcileTotal(controllerName) <= before {
			return fmt.Errorf("none yet")
		}
		return nil
	})
	writes.Settle(time.Second)
	if writes.Total() != 0 {
		t.Errorf("a pass at rest wrote: %s", writes)
	}
	if after := eventReasons(t, ns, got.Name); fmt.Sprint(after) != fmt.Sprint(reasons) {
		t.Errorf("events at rest: %v, before %v", after, reasons)
	}

	// Upgrade: the version reaches the Workspace; the control plane stays available and
	// reports the new version once the Workspace is Ready again.
	testenv.Eventually(t, "upgrade", func() error {
		c := getCP(t, cp)
		c.Spec.Version = "v1.32.0"
		return env.Client.Update(ctx, c)
	})
	testenv.Eventually(t, "version reaches the Workspace", func() error {
		u := api.NewObject()
		if err := env.Client.Get(ctx, client.ObjectKey{Name: workspaceName(cp)}, u); err != nil {
			return err
		}
		w, _ := workspace.FromUnstructured(u)
		var vars map[string]string
		_ = json.Unmarshal(w.Spec.ForProvider.VarMap.Raw, &vars)
		if vars["kubernetes_version"] != "1.32.0" {
			return fmt.Errorf("kubernetes_version = %q", vars["kubernetes_version"])
		}
		return nil
	})
	waitCP(t, cp, "updating, still available", func(c *controlplanev1.CAPTControlPlane) error {
		if c.Status.Version != "v1.31.2" || cond(c, controlplanev1.AvailableCondition).Status != metav1.ConditionTrue || cond(c, infrav1.ReadyCondition).Status != metav1.ConditionFalse {
			return fmt.Errorf("version %s, available %v, ready %v", c.Status.Version, cond(c, controlplanev1.AvailableCondition), cond(c, infrav1.ReadyCondition))
		}
		return nil
	})
	goodProvider(t).apply(t, cp)
	waitCP(t, cp, "upgraded", func(c *controlplanev1.CAPTControlPlane) error {
		if c.Status.Version != "v1.32.0" || cond(c, infrav1.ReadyCondition).Status != metav1.ConditionTrue {
			return fmt.Errorf("version %s, ready %+v", c.Status.Version, cond(c, infrav1.ReadyCondition))
		}
		return nil
	})
}

func touch(t *testing.T, cp *controlplanev1.CAPTControlPlane) {
	t.Helper()
	testenv.Eventually(t, "touch", func() error {
		c := getCP(t, cp)
		if c.Annotations == nil {
			c.Annotations = map[string]string{}
		}
		c.Annotations["touched"] = time.Now().String()
		return env.Client.Update(context.Background(), c)
	})
}

// eventReasons counts the events about an object by reason.
func eventReasons(t *testing.T, ns, name string) map[string]int {
	t.Helper()
	list := &eventsv1.EventList{}
	out := map[string]int{}
	testenv.Eventually(t, "list events", func() error {
		return env.Client.List(context.Background(), list, client.InNamespace(ns))
	})
	for _, e := range list.Items {
		if e.Regarding.Name == name {
			out[e.Reason]++
		}
	}
	return out
}
