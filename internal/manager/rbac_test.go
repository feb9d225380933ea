package manager

import (
	"bufio"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/capt-dev/capt/internal/localstack"
)

// roleFile is the ClusterRole `make generate` writes from the +kubebuilder:rbac markers
// in internal/.
const roleFile = "config/rbac/role.yaml"

// grant is one (API group, resource[/subresource]) of the allow-list and its verbs,
// space-separated.
type grant struct {
	group, resource, verbs string
}

// allowList is CAPT's ClusterRole, exactly. A change to a +kubebuilder:rbac marker must
// change this list too, so that every widening or narrowing of CAPT's permissions is a
// visible, reviewed diff.
var allowList = []grant{
	// Secrets: the WorkspaceTemplateApply controller reads variables' and connection
	// Secrets (metadata informer: list, watch); the control plane writes
	// <cluster>-kubeconfig and <cluster>-ca and deletes them on deletion.
	{"", "secrets", "get list watch create update delete"},
	// Events: core events from leader election's recorder, events.k8s.io from the
	// controllers' recorders; the WorkspaceTemplateApply controller watches
	// provider-terraform's update events on Workspaces (field-selected: drift reverted).
	{"", "events", "create patch list watch"},
	{"events.k8s.io", "events", "create patch"},
	// The metrics endpoint's authentication and authorization.
	{"authentication.k8s.io", "tokenreviews", "create"},
	{"authorization.k8s.io", "subjectaccessreviews", "create"},
	// Leader election.
	{"coordination.k8s.io", "leases", "get create update"},
	// Cluster API's Cluster: owner lookups; the control plane sets spec.controlPlaneEndpoint.
	{"cluster.x-k8s.io", "clusters", "get list watch patch"},
	{"controlplane.cluster.x-k8s.io", "captcontrolplanes", "get list watch patch"},
	{"controlplane.cluster.x-k8s.io", "captcontrolplanes/status", "patch"},
	{"controlplane.cluster.x-k8s.io", "captcontrolplanes/finalizers", "update"},
	{"infrastructure.cluster.x-k8s.io", "captclusters", "get list watch patch"},
	{"infrastructure.cluster.x-k8s.io", "captclusters/status", "patch"},
	{"infrastructure.cluster.x-k8s.io", "captclusters/finalizers", "update"},
	// CAPTMachinePools (an EKS managed node group each): the CAPTMachinePool controller
	// watches them and patches their finalizer and spec.providerIDList (the group's Nodes,
	// the InfraMachinePool contract), and their status; update on /finalizers because the
	// node group's WorkspaceTemplateApply has a controller reference to its pool
	// (blockOwnerDeletion, which OwnerReferencesPermissionEnforcement allows only to who
	// may update the owner's finalizers).
	{"infrastructure.cluster.x-k8s.io", "captmachinepools", "get list watch patch"},
	{"infrastructure.cluster.x-k8s.io", "captmachinepools/status", "patch"},
	{"infrastructure.cluster.x-k8s.io", "captmachinepools/finalizers", "update"},
	// Cluster API's MachinePool, owner of a CAPTMachinePool: read for its replicas and the
	// autoscaler's annotation; patch because an autoscaler-owned pool
	// (cluster.x-k8s.io/replicas-managed-by) copies the node group's observed size into
	// MachinePool.spec.replicas.
	{"cluster.x-k8s.io", "machinepools", "get list watch patch"},
	// The pools' bootstrap configs (CAPTNodeGroupBootstrap): their status says Cluster
	// API's bootstrap contract is met without data (or refuses a Machine).
	{"bootstrap.cluster.x-k8s.io", "captnodegroupbootstraps", "get list watch patch"},
	{"bootstrap.cluster.x-k8s.io", "captnodegroupbootstraps/status", "patch"},
	{"infrastructure.cluster.x-k8s.io", "workspacetemplates", "get list watch"},
	{"infrastructure.cluster.x-k8s.io", "workspacetemplates/status", "patch"},
	{"infrastructure.cluster.x-k8s.io", "workspacetemplateapplies", "get list watch create patch delete"},
	{"infrastructure.cluster.x-k8s.io", "workspacetemplateapplies/status", "patch"},
	{"infrastructure.cluster.x-k8s.io", "workspacetemplateapplies/finalizers", "update"},
	// provider-terraform's Workspaces, in each of the four API groups --workspace-api-group
	// may choose.
	{"tf.upbound.io", "workspaces", "get list watch create patch delete"},
	{"tf.m.upbound.io", "workspaces", "get list watch create patch delete"},
	{"opentofu.upbound.io", "workspaces", "get list watch create patch delete"},
	{"opentofu.m.upbound.io", "workspaces", "get list watch create patch delete"},
	// Their status, patch only: after writing a new rendering under a rollout slot, the
	// Ready and Synced conditions of a provider that reports no generation are marked
	// ChangePending until it reports on the new spec (workspaceapply/rollout.go).
	{"tf.upbound.io", "workspaces/status", "patch"},
	{"tf.m.upbound.io", "workspaces/status", "patch"},
	{"opentofu.upbound.io", "workspaces/status", "patch"},
	{"opentofu.m.upbound.io", "workspaces/status", "patch"},
	// Their ProviderConfigs, metadata only: whether the Terraform state is shared, for
	// applies clusterctl move brought (workspaceapply/move.go).
	{"tf.upbound.io", "providerconfigs", "get list watch"},
	{"tf.m.upbound.io", "providerconfigs", "get list watch"},
	{"opentofu.upbound.io", "providerconfigs", "get list watch"},
	{"opentofu.m.upbound.io", "providerconfigs", "get list watch"},
	// Namespaces, metadata only: the platform's grants of cross-namespace references
	// (workspaceapply/tenancy.go, docs/tenancy.md), watched; and kube-system's UID, which
	// tells one management cluster from another.
	{"", "namespaces", "get list watch"},
	// CRDs, metadata only, while a controller waits for a kind no CRD serves yet
	// (internal/crdgate): their creation starts it.
	{"apiextensions.k8s.io", "customresourcedefinitions", "list watch"},
}

// namedRule is the one rule allowed resourceNames: get of the namespace kube-system.
var namedRule = rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"namespaces"}, ResourceNames: []string{"kube-system"}, Verbs: []string{"get"}}

// key names a (group, resource) pair the way the messages print it.
func key(group, resource string) string {
	if group == "" {
		return resource + " (core)"
	}
	return resource + "." + group
}

// readRole reads the generated ClusterRole. The file must hold exactly that one object:
// a namespaced Role (a marker with namespace=) would need this test extended.
func readRole(t *testing.T) *rbacv1.ClusterRole {
	t.Helper()
	root, err := localstack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, roleFile))
	if err != nil {
		t.Fatal(err)
	}
	var docs []string
	for _, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(data), -1) {
		if strings.TrimSpace(doc) != "" {
			docs = append(docs, doc)
		}
	}
	if len(docs) != 1 {
		t.Fatalf("%s holds %d objects, want the one ClusterRole (a Role from a namespace= marker needs this test extended)", roleFile, len(docs))
	}
	role := &rbacv1.ClusterRole{}
	if err := yaml.UnmarshalStrict([]byte(docs[0]), role); err != nil {
		t.Fatalf("%s: %v", roleFile, err)
	}
	if role.Kind != "ClusterRole" || role.APIVersion != rbacv1.SchemeGroupVersion.String() || role.Name != "capt-manager-role" {
		t.Fatalf("%s holds %s %s %q, want %s ClusterRole capt-manager-role", roleFile, role.APIVersion, role.Kind, role.Name, rbacv1.SchemeGroupVersion)
	}
	if role.AggregationRule != nil {
		t.Errorf("%s: the ClusterRole aggregates other roles; CAPT's permissions must all be in its own rules", roleFile)
	}
	return role
}

// forbidden lists what CAPT's role must never grant, whatever the allow-list says.
func forbidden(rules []rbacv1.PolicyRule) []string {
	secretVerbs := sets.New("get", "list", "watch", "create", "update", "delete")
	var problems []string
	for i, r := range rules {
		at := fmt.Sprintf("rule %d (apiGroups %q, resources %q, verbs %q)", i, r.APIGroups, r.Resources, r.Verbs)
		for field, values := range map[string][]string{"apiGroups": r.APIGroups, "resources": r.Resources, "verbs": r.Verbs, "resourceNames": r.ResourceNames} {
			if slices.Contains(values, "*") || slices.Contains(values, "*/*") {
				problems = append(problems, fmt.Sprintf("%s: %q in %s", at, "*", field))
			}
		}
		if len(r.NonResourceURLs) > 0 {
			problems = append(problems, fmt.Sprintf("rule %d: nonResourceURLs %q", i, r.NonResourceURLs))
		}
		if len(r.ResourceNames) > 0 && !equality.Semantic.DeepEqual(r, namedRule) {
			problems = append(problems, fmt.Sprintf("%s: resourceNames %q; extend this test's allow-list to check them", at, r.ResourceNames))
		}
		for _, v := range r.Verbs {
			if v == "escalate" || v == "bind" || v == "impersonate" {
				problems = append(problems, fmt.Sprintf("%s: verb %s", at, v))
			}
		}
		for _, g := range r.APIGroups {
			if g == rbacv1.GroupName {
				problems = append(problems, fmt.Sprintf("%s: access to %s", at, rbacv1.GroupName))
			}
			if g != "" {
				continue
			}
			for _, res := range r.Resources {
				if res == "pods" || strings.HasPrefix(res, "pods/") {
					problems = append(problems, fmt.Sprintf("%s: access to %s (CAPT runs nothing in pods and execs into none)", at, res))
				}
				if res == "secrets" {
					for _, v := range r.Verbs {
						if !secretVerbs.Has(v) {
							problems = append(problems, fmt.Sprintf("%s: verb %s on secrets (allowed: %s)", at, v, strings.Join(sets.List(secretVerbs), ", ")))
						}
					}
				}
			}
		}
	}
	return problems
}

// TestForbiddenCatchesBroadRules checks forbidden itself on rules it must refuse.
func TestForbiddenCatchesBroadRules(t *testing.T) {
	for _, r := range []rbacv1.PolicyRule{
		{APIGroups: []string{"*"}, Resources: []string{"workspaces"}, Verbs: []string{"get"}},
		{APIGroups: []string{"tf.upbound.io"}, Resources: []string{"*"}, Verbs: []string{"get"}},
		{APIGroups: []string{"tf.upbound.io"}, Resources: []string{"workspaces"}, Verbs: []string{"*"}},
		{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}},
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get"}},
		{APIGroups: []string{""}, Resources: []string{"pods/exec"}, Verbs: []string{"create"}},
		{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"patch"}},
		{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"deletecollection"}},
		{APIGroups: []string{""}, Resources: []string{"users"}, Verbs: []string{"impersonate"}},
		{APIGroups: []string{"rbac.authorization.k8s.io"}, Resources: []string{"clusterroles"}, Verbs: []string{"get"}},
		{APIGroups: []string{"rbac.authorization.k8s.io"}, Resources: []string{"clusterroles"}, Verbs: []string{"escalate", "bind"}},
		{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"a"}, Verbs: []string{"get"}},
		{APIGroups: []string{""}, Resources: []string{"namespaces"}, ResourceNames: []string{"default"}, Verbs: []string{"get"}},
		{APIGroups: []string{""}, Resources: []string{"namespaces"}, ResourceNames: []string{"kube-system"}, Verbs: []string{"get", "list"}},
	} {
		if len(forbidden([]rbacv1.PolicyRule{r})) == 0 {
			t.Errorf("forbidden accepts %+v", r)
		}
	}
	if p := forbidden([]rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list", "watch", "create", "update", "delete"}}}); len(p) != 0 {
		t.Errorf("forbidden refuses CAPT's secrets rule: %q", p)
	}
	if p := forbidden([]rbacv1.PolicyRule{namedRule}); len(p) != 0 {
		t.Errorf("forbidden refuses the get of kube-system: %q", p)
	}
}

// marker is one +kubebuilder:rbac marker in internal/.
type marker struct {
	at                       string // file:line
	groups, resources, verbs sets.Set[string]
}

// rbacMarkers reads every +kubebuilder:rbac marker `make generate` reads.
func rbacMarkers(t *testing.T, root string) []marker {
	t.Helper()
	var markers []marker
	err := filepath.WalkDir(filepath.Join(root, "internal"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		rel, _ := filepath.Rel(root, path)
		s := bufio.NewScanner(f)
		for n := 1; s.Scan(); n++ {
			args, ok := strings.CutPrefix(strings.TrimSpace(s.Text()), "// +kubebuilder:rbac:")
			if !ok {
				continue
			}
			m := marker{at: fmt.Sprintf("%s:%d", rel, n), groups: sets.New[string](), resources: sets.New[string](), verbs: sets.New[string]()}
			for arg := range strings.SplitSeq(args, ",") {
				name, value, _ := strings.Cut(arg, "=")
				values := strings.Split(strings.Trim(value, `"`), ";")
				switch name {
				case "groups":
					m.groups.Insert(values...)
				case "resources":
					m.resources.Insert(values...)
				case "verbs":
					m.verbs.Insert(values...)
				}
			}
			markers = append(markers, m)
		}
		return s.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return markers
}

// grantedBy names the markers granting verb on resource in group.
func grantedBy(markers []marker, group, resource, verb string) string {
	var at []string
	for _, m := range markers {
		if (m.groups.Has(group) || m.groups.Has("*")) && (m.resources.Has(resource) || m.resources.Has("*")) && (m.verbs.Has(verb) || m.verbs.Has("*")) {
			at = append(at, m.at)
		}
	}
	if len(at) == 0 {
		return "no +kubebuilder:rbac marker in internal/ grants it: " + roleFile + " is stale or edited by hand (make generate)"
	}
	return "see the marker at " + strings.Join(at, ", ")
}

// TestRoleIsLeastPrivilege checks the generated ClusterRole against allowList: nothing
// more, nothing less, and nothing forbidden.
func TestRoleIsLeastPrivilege(t *testing.T) {
	role := readRole(t)
	for _, p := range forbidden(role.Rules) {
		t.Errorf("%s grants what CAPT must never have: %s", roleFile, p)
	}

	want := map[string]sets.Set[string]{}
	for _, g := range allowList {
		k := key(g.group, g.resource)
		if want[k] != nil {
			t.Fatalf("allowList names %s twice", k)
		}
		want[k] = sets.New(strings.Fields(g.verbs)...)
	}
	type resource struct{ group, name string }
	have := map[string]sets.Set[string]{}
	resources := map[string]resource{}
	for _, r := range role.Rules {
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				k := key(g, res)
				if have[k] == nil {
					have[k] = sets.New[string]()
				}
				have[k].Insert(r.Verbs...)
				resources[k] = resource{g, res}
			}
		}
	}

	root, err := localstack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	markers := rbacMarkers(t, root)
	keys := sets.List(sets.KeySet(have).Union(sets.KeySet(want)))
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range sets.List(have[k].Difference(want[k])) {
			res := resources[k]
			t.Errorf("%s grants %s on %s, which the allow-list in rbac_test.go does not: %s; narrow the marker, or add it to allowList for review",
				roleFile, v, k, grantedBy(markers, res.group, res.name, v))
		}
		if missing := want[k].Difference(have[k]); missing.Len() > 0 {
			t.Errorf("allowList grants %s on %s, which %s does not: remove it from allowList (the allow-list must be exact), or restore the marker",
				strings.Join(sets.List(missing), " "), k, roleFile)
		}
	}
}

// TestRoleOnAPIServer creates the ClusterRole from the file on the real API server, binds
// it to a user and asks the API server's authorizer what the user may do.
func TestRoleOnAPIServer(t *testing.T) {
	role := readRole(t)
	ctx := context.Background()
	cs := kubernetes.NewForConfigOrDie(env.Config)
	const user = "capt-rbac-test"
	if _, err := cs.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating the ClusterRole of %s: %v", roleFile, err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: user},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
	}
	if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cs.RbacV1().ClusterRoleBindings().Delete(ctx, binding.Name, metav1.DeleteOptions{})
		_ = cs.RbacV1().ClusterRoles().Delete(ctx, role.Name, metav1.DeleteOptions{})
	})

	allowed := func(a authorizationv1.ResourceAttributes) (bool, string) {
		t.Helper()
		sar, err := cs.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
			Spec: authorizationv1.SubjectAccessReviewSpec{User: user, ResourceAttributes: &a},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return sar.Status.Allowed, sar.Status.Reason
	}
	describe := func(a authorizationv1.ResourceAttributes) string {
		r := a.Resource
		if a.Subresource != "" {
			r += "/" + a.Subresource
		}
		if a.Name != "" {
			r += " " + a.Name
		}
		if a.Namespace == "" {
			return fmt.Sprintf("%s %s cluster-wide", a.Verb, key(a.Group, r))
		}
		return fmt.Sprintf("%s %s in %s", a.Verb, key(a.Group, r), a.Namespace)
	}

	// The authorizer learns of the binding through its informers: wait for the first grant.
	getSecrets := authorizationv1.ResourceAttributes{Namespace: "default", Verb: "get", Resource: "secrets"}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		ok, reason := allowed(getSecrets)
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: denied (%s)", describe(getSecrets), reason)
		}
	}

	// Every grant of the allow-list is in force: the role's rules are what the API server
	// authorizes, not only what the file says. Secrets are also listed cluster-wide, as
	// the manager's informer does without --namespace.
	var grants []authorizationv1.ResourceAttributes
	for _, g := range allowList {
		res, sub, _ := strings.Cut(g.resource, "/")
		ns, name := "default", ""
		switch res {
		case "tokenreviews", "subjectaccessreviews", "customresourcedefinitions":
			ns = ""
		case "namespaces":
			ns, name = "", metav1.NamespaceSystem
		}
		for _, v := range strings.Fields(g.verbs) {
			grants = append(grants, authorizationv1.ResourceAttributes{Namespace: ns, Verb: v, Group: g.group, Resource: res, Subresource: sub, Name: name})
		}
	}
	grants = append(grants, authorizationv1.ResourceAttributes{Verb: "list", Resource: "secrets"})
	for _, a := range grants {
		if ok, reason := allowed(a); !ok {
			t.Errorf("%s: denied (%s), want allowed", describe(a), reason)
		}
	}

	for _, a := range []authorizationv1.ResourceAttributes{
		{Namespace: "default", Verb: "create", Resource: "pods", Subresource: "exec"},
		{Namespace: "default", Verb: "get", Resource: "pods"},
		{Namespace: "default", Verb: "patch", Resource: "secrets"},
		{Namespace: "default", Verb: "deletecollection", Resource: "secrets"},
		{Namespace: "default", Verb: "delete", Group: "cluster.x-k8s.io", Resource: "clusters"},
		{Namespace: "default", Verb: "create", Resource: "serviceaccounts", Subresource: "token"},
		{Verb: "get", Resource: "nodes"},
		// Namespaces are read (their grants), never written.
		{Verb: "patch", Resource: "namespaces", Name: "default"},
		{Verb: "delete", Resource: "namespaces", Name: "default"},
		{Verb: "create", Resource: "namespaces"},
		{Verb: "impersonate", Resource: "users"},
		{Verb: "create", Group: rbacv1.GroupName, Resource: "clusterrolebindings"},
		{Verb: "escalate", Group: rbacv1.GroupName, Resource: "clusterroles"},
		{Verb: "bind", Group: rbacv1.GroupName, Resource: "clusterroles"},
	} {
		if ok, _ := allowed(a); ok {
			t.Errorf("%s: allowed, want denied", describe(a))
		}
	}
}
