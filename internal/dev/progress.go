package dev

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/workspace"
)

// kinds the view shows, in the order it shows them.
var kinds = []schema.GroupVersionKind{
	clusterv1.GroupVersion.WithKind("Cluster"),
	infrav1.GroupVersion.WithKind("CAPTCluster"),
	controlplanev1.GroupVersion.WithKind("CAPTControlPlane"),
	clusterv1.GroupVersion.WithKind("MachinePool"),
	infrav1.GroupVersion.WithKind("CAPTMachinePool"),
	infrav1.GroupVersion.WithKind("WorkspaceTemplateApply"),
	workspace.DefaultAPI().GroupVersionKind(),
	{Version: "v1", Kind: "Secret"},
}

// Object is one line of the view.
type Object struct {
	Kind, Name string
	UID        types.UID
	// ResourceVersion changes with every write to the object.
	ResourceVersion string
	Deleting        bool
	// Summary is the phase and the conditions that are not True, with their reasons.
	Summary string
}

// Key is Kind/name.
func (o Object) Key() string { return o.Kind + "/" + o.Name }

// Snapshot is every object of the sample's Cluster, by key.
type Snapshot map[string]Object

// Observe lists the objects of cluster in namespace: the Cluster, its CAPT objects, the
// WorkspaceTemplateApplies and Workspaces labelled with it, and the Secrets named after
// it (except the sample's input Secret). The conditions of types show are in the
// summaries whatever their status.
func Observe(ctx context.Context, c client.Reader, namespace, cluster string, show ...string) (Snapshot, error) {
	snap := Snapshot{}
	for _, gvk := range kinds {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err := c.List(ctx, list, listOptions(gvk.Kind, namespace, cluster)...); err != nil {
			return nil, fmt.Errorf("listing %ss: %w", gvk.Kind, err)
		}
		for i := range list.Items {
			u := &list.Items[i]
			if !belongs(gvk.Kind, u, cluster) {
				continue
			}
			o := Object{Kind: gvk.Kind, Name: u.GetName(), UID: u.GetUID(), ResourceVersion: u.GetResourceVersion(),
				Deleting: u.GetDeletionTimestamp() != nil, Summary: summarize(u, show)}
			snap[o.Key()] = o
		}
	}
	return snap, nil
}

// listOptions select cluster's objects of kind, or a superset that belongs narrows.
func listOptions(kind, namespace, cluster string) []client.ListOption {
	var opts []client.ListOption
	switch kind {
	case "WorkspaceTemplateApply", "Workspace", "MachinePool", "CAPTMachinePool":
		opts = append(opts, client.MatchingLabels{clusterv1.ClusterNameLabel: cluster})
	}
	if kind != "Workspace" {
		opts = append(opts, client.InNamespace(namespace))
	}
	return opts
}

// belongs keeps the sample's objects of the kinds listed by namespace.
func belongs(kind string, u *unstructured.Unstructured, cluster string) bool {
	switch kind {
	case "Cluster", "CAPTCluster", "CAPTControlPlane":
		return u.GetName() == cluster
	case "Secret":
		// The contract's secrets and the connection secrets are named after the cluster.
		return strings.HasPrefix(u.GetName(), cluster+"-") && u.GetName() != apiserverSecret
	default:
		return true
	}
}

// negative are the conditions whose normal state is False (Cluster API's v1beta2 Cluster
// has several): the view shows them only when True.
var negative = map[string]bool{
	"Paused": true, "Deleting": true, "Remediating": true, "RollingOut": true,
	"ScalingUp": true, "ScalingDown": true, "Stalled": true,
}

// summarize is the phase, the deletion mark, the endpoint, and every condition not in
// its normal state with its reason; the first one carries its message too. Conditions of
// the types in show are listed in their normal state too.
func summarize(u *unstructured.Unstructured, show []string) string {
	var parts []string
	if u.GetDeletionTimestamp() != nil {
		parts = append(parts, "deleting")
	}
	if phase, _, _ := unstructured.NestedString(u.Object, "status", "phase"); phase != "" {
		parts = append(parts, phase)
	}
	if u.GetKind() == "MachinePool" {
		desired, _, _ := unstructured.NestedInt64(u.Object, "spec", "replicas")
		ready, _, _ := unstructured.NestedInt64(u.Object, "status", "readyReplicas")
		parts = append(parts, fmt.Sprintf("ready=%d/%d", ready, desired))
	}
	if u.GetKind() == "Secret" {
		t, _, _ := unstructured.NestedString(u.Object, "type")
		parts = append(parts, t)
	}
	if host, _, _ := unstructured.NestedString(u.Object, "spec", "controlPlaneEndpoint", "host"); host != "" {
		port, _, _ := unstructured.NestedInt64(u.Object, "spec", "controlPlaneEndpoint", "port")
		parts = append(parts, fmt.Sprintf("endpoint=%s:%d", host, port))
	}
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	var notTrue, shown []string
	var message string
	for _, raw := range conds {
		c, ok := raw.(map[string]any)
		if !ok {
			continue
		}
		t, _ := c["type"].(string)
		status, _ := c["status"].(string)
		reason, _ := c["reason"].(string)
		if (status == string(metav1.ConditionTrue)) != negative[t] {
			if slices.Contains(show, t) {
				shown = append(shown, fmt.Sprintf("%s=%s(%s)", t, status, reason))
			}
			continue
		}
		notTrue = append(notTrue, fmt.Sprintf("%s=%s(%s)", t, status, reason))
		if m, _ := c["message"].(string); message == "" && m != "" {
			message = m
		}
	}
	slices.Sort(shown)
	parts = append(parts, shown...)
	switch {
	case len(conds) == 0:
	case len(notTrue) == 0:
		parts = append(parts, "conditions ok")
	default:
		slices.Sort(notTrue)
		parts = append(parts, strings.Join(notTrue, " "))
	}
	if message != "" {
		parts = append(parts, fmt.Sprintf("%q", truncate(oneLine(message), 120)))
	}
	return strings.Join(parts, "  ")
}

// Printer prints the lines of a snapshot that changed since the last one, with the time
// since start: a compact, live view that also reads well in a CI log.
type Printer struct {
	Out   io.Writer
	Start time.Time
	last  Snapshot
}

// Print prints what changed from the last snapshot: new or changed objects, and gone ones.
func (p *Printer) Print(s Snapshot) {
	elapsed := time.Since(p.Start).Seconds()
	for _, key := range sortedKeys(s) {
		o := s[key]
		if prev, ok := p.last[key]; ok && prev.Summary == o.Summary {
			continue
		}
		_, _ = fmt.Fprintf(p.Out, "%7.1fs  %-45s %s\n", elapsed, truncate(key, 45), o.Summary)
	}
	for _, key := range sortedKeys(p.last) {
		if _, ok := s[key]; !ok {
			_, _ = fmt.Fprintf(p.Out, "%7.1fs  %-45s gone\n", elapsed, truncate(key, 45))
		}
	}
	p.last = s
}

// sortedKeys orders keys by kind (in the order of kinds), then name.
func sortedKeys(s Snapshot) []string {
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	rank := func(key string) int {
		kind, _, _ := strings.Cut(key, "/")
		return slices.IndexFunc(kinds, func(g schema.GroupVersionKind) bool { return g.Kind == kind })
	}
	slices.SortFunc(keys, func(a, b string) int {
		if d := rank(a) - rank(b); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	return keys
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}
