package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/dev"
	"github.com/capt-dev/capt/internal/render"
	"github.com/capt-dev/capt/internal/workspace"
)

// TestAdoptTerraformMadeCluster adopts a cluster a team made with OpenTofu outside CAPT
// (templates/local's VPC, control plane and node group modules, applied into the stack's
// kubernetes backend under Terraform workspaces of their own): the Cluster and its
// MachinePool name those workspaces (spec.adopt) and, before the state exists, CAPT
// creates no Workspace and says what it waits for; once OpenTofu has applied, the
// Workspaces only plan, their plans change nothing (the terraform_data ids in state are
// the same, provider-terraform applies nothing, no Node is registered again), the Cluster
// becomes Available and the MachinePool Running with the existing Nodes, and deleting
// the Cluster leaves the state and the Nodes in place.
func TestAdoptTerraformMadeCluster(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const name = "adopted"
	pool := name + "-pool-0"
	group := name + "-" + pool // the local module's node group name: the Nodes' label
	vpcState, cpState, ngState := "team-"+name+"-vpc", "team-"+name+"-cp", "team-"+name+"-ng"
	t.Cleanup(func() {
		for _, tfws := range []string{vpcState, cpState, ngState} {
			deleteState(t, tfws)
		}
		// Retained: the node group's Nodes stay after the Cluster, as its instances would.
		if err := stack.Client.DeleteAllOf(ctx, &corev1.Node{}, client.MatchingLabels{"eks.amazonaws.com/nodegroup": group}); err != nil {
			t.Errorf("deleting the adopted node group's Nodes: %v", err)
		}
	})
	adopt := map[string]string{"CAPTCluster": vpcState, "CAPTControlPlane": cpState}
	w := createCluster(t, name, nil, func(obj *unstructured.Unstructured) error {
		if tfws, ok := adopt[obj.GetKind()]; ok {
			return unstructured.SetNestedField(obj.Object, map[string]any{"terraformWorkspace": tfws}, "spec", "adopt")
		}
		return nil
	})
	objs, err := dev.ReadObjects(dev.MachinePoolFile(root))
	if err != nil {
		t.Fatal(err)
	}
	for _, obj := range objs {
		renamePool(t, obj, name, pool)
		if obj.GetKind() == "CAPTMachinePool" {
			if err := unstructured.SetNestedField(obj.Object, map[string]any{"terraformWorkspace": ngState}, "spec", "adopt"); err != nil {
				t.Fatal(err)
			}
		}
		if err := stack.Client.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	api := workspace.DefaultAPI()
	ngApply := client.ObjectKey{Namespace: dev.Namespace, Name: pool + "-nodegroup"}
	vpcApply := client.ObjectKey{Namespace: dev.Namespace, Name: render.ChildName(name, "vpc")}
	cpApply := client.ObjectKey{Namespace: dev.Namespace, Name: render.ChildName(name, "controlplane")}

	// No state yet: the VPC's apply waits, names the state Secret, and creates nothing.
	poll(within(t, time.Minute), t, "the VPC apply waiting for its Terraform state", func() error {
		a := &infrav1.WorkspaceTemplateApply{}
		if err := stack.Client.Get(ctx, vpcApply, a); err != nil {
			return err
		}
		return isCondition(a, infrav1.ReadyCondition, metav1.ConditionFalse, infrav1.WaitingForTerraformStateReason)
	})
	a := &infrav1.WorkspaceTemplateApply{}
	get(t, vpcApply, a)
	if msg := meta.FindStatusCondition(a.Status.Conditions, infrav1.ReadyCondition).Message; !strings.Contains(msg, "tfstate-"+vpcState+"-"+stateSuffix) {
		t.Errorf("Ready %q does not name the state Secret", msg)
	}
	ws := api.NewObject()
	if err := stack.Client.Get(ctx, client.ObjectKey{Name: render.WorkspaceName(api, dev.Namespace, vpcApply.Name)}, ws); err == nil {
		t.Fatalf("Workspace %s created before its state was confirmed", ws.GetName())
	}

	// The team's own OpenTofu runs, outside CAPT, with the variables CAPT sends.
	vpc := tofuApply(t, "local-vpc", vpcState, nil, "-var=cluster_name="+name, "-var=vpc_cidr=10.0.0.0/16")
	tofuApply(t, "local-controlplane", cpState, apiserverVarFile(t),
		"-var=cluster_name="+name, "-var=kubernetes_version=1.36.3", "-var=vpc_id="+vpc["vpc_id"].(string))
	subnets, err := json.Marshal(vpc["private_subnet_ids"])
	if err != nil {
		t.Fatal(err)
	}
	// The sample pool's fields (renamed, its labels kept): 2 replicas of m5.large between 1 and 5.
	tofuApply(t, "local-nodegroup", ngState, nil, "-var=cluster_name="+name, "-var=cluster_namespace="+dev.Namespace,
		"-var=node_group_name="+pool, "-var=region=zz-local-1", "-var=kubernetes_version=1.36.3", "-var=subnet_ids="+string(subnets),
		"-var=min_size=1", "-var=max_size=5", "-var=desired_size=2", `-var=instance_types=["m5.large"]`, `-var=labels={"pool":"local-pool-0"}`)
	before := map[string]map[string]string{vpcState: stateIDs(t, vpcState), cpState: stateIDs(t, cpState), ngState: stateIDs(t, ngState)}
	nodesBefore := nodeUIDs(t, group)
	if len(nodesBefore) != 2 {
		t.Fatalf("the team's node group registered %d Nodes, want 2", len(nodesBefore))
	}

	// A first plan that changes nothing is taken as such: no apply says it shows changes
	// on the way (provider-terraform's first reconcile of a Workspace loses the Ready it
	// observed unless the Workspace already has its finalizer).
	pending := map[string]bool{}
	notePending := func() error {
		for _, key := range []client.ObjectKey{vpcApply, cpApply, ngApply} {
			a := &infrav1.WorkspaceTemplateApply{}
			if err := stack.Client.Get(ctx, key, a); client.IgnoreNotFound(err) != nil {
				return err
			}
			if c := meta.FindStatusCondition(a.Status.Conditions, infrav1.ReadyCondition); c != nil && c.Reason == infrav1.AdoptionChangesPendingReason {
				pending[key.Name] = true
			}
		}
		return nil
	}
	if _, err := w.Until(within(t, 3*time.Minute), func(dev.Snapshot) (bool, error) {
		if err := notePending(); err != nil {
			return false, err
		}
		return dev.Available(ctx, stack.Client, dev.Namespace, name)
	}); err != nil {
		logConditions(t, client.ObjectKey{Namespace: dev.Namespace, Name: name})
		logApply(t, vpcApply)
		logApply(t, cpApply)
		t.Fatalf("adopted Cluster not Available: %v", err)
	}
	if _, err := w.Until(within(t, 2*time.Minute), func(dev.Snapshot) (bool, error) {
		if err := notePending(); err != nil {
			return false, err
		}
		return dev.MachinePoolRunning(ctx, stack.Client, dev.Namespace, pool)
	}); err != nil {
		logApply(t, ngApply)
		logPool(t, client.ObjectKey{Namespace: dev.Namespace, Name: pool})
		t.Fatalf("adopted MachinePool not Running: %v", err)
	}
	if len(pending) > 0 {
		t.Errorf("applies %v said their plan over unchanged state shows changes", pending)
	}
	checkPoolNodes(t, client.ObjectKey{Namespace: dev.Namespace, Name: pool}, 2)
	for _, key := range []client.ObjectKey{vpcApply, cpApply, ngApply} {
		a := &infrav1.WorkspaceTemplateApply{}
		get(t, key, a)
		if st := a.Status.Adoption; st == nil || st.Phase != infrav1.AdoptionAdopted || st.Approved || st.DeletionPolicy != infrav1.AdoptionRetain {
			t.Errorf("%s: status.adoption %+v, want adopted by a plan that changed nothing, retained", key.Name, st)
		}
		ws := api.NewObject()
		get(t, client.ObjectKey{Name: a.Status.WorkspaceName}, ws)
		if n := providerUpdates(t, api, ws); n != 0 {
			t.Errorf("provider-terraform applied Workspace %s %d times: adopting must change nothing", ws.GetName(), n)
		}
		if p, _, _ := unstructured.NestedStringSlice(ws.Object, "spec", "managementPolicies"); len(p) == 1 && p[0] == "Observe" {
			t.Errorf("adopted Workspace %s still only plans", ws.GetName())
		}
	}
	for tfws, ids := range before {
		if got := stateIDs(t, tfws); !equalIDs(got, ids) {
			t.Errorf("state of %s changed by the adoption: %v, before %v", tfws, got, ids)
		}
	}
	if got := nodeUIDs(t, group); !equalIDs(got, nodesBefore) {
		t.Errorf("Nodes of the node group %v, before the adoption %v: none may be registered again", got, nodesBefore)
	}

	// Released from Cluster API: the state, and what it describes, stay.
	if _, err := dev.DeleteCluster(within(t, 2*time.Minute), stack.Client, w); err != nil {
		t.Fatalf("deleting the adopted Cluster: %v", err)
	}
	for tfws, ids := range before {
		if got := stateIDs(t, tfws); !equalIDs(got, ids) {
			t.Errorf("state of %s after the Cluster's deletion: %v, want it kept as %v", tfws, got, ids)
		}
	}
	if got := nodeUIDs(t, group); !equalIDs(got, nodesBefore) {
		t.Errorf("Nodes of the node group after the Cluster's deletion %v, want them kept as %v", got, nodesBefore)
	}
}

// nodeUIDs maps the Nodes of node group group to their UIDs.
func nodeUIDs(t *testing.T, group string) map[string]string {
	t.Helper()
	nodes := &corev1.NodeList{}
	if err := stack.Client.List(context.Background(), nodes, client.MatchingLabels{"eks.amazonaws.com/nodegroup": group}); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, n := range nodes.Items {
		out[n.Name] = string(n.UID)
	}
	return out
}

// tofuApply applies the module of WorkspaceTemplate template with OpenTofu, as a team's
// own pipeline would, and moves its state into Terraform workspace tfws of the stack's
// kubernetes backend (the ProviderConfig default's) in one write (workspace new, then
// state push), as a team migrating its state would; it returns the outputs. A state
// applied in place would be seen part-written: OpenTofu persists it as resources
// complete, and an Observe-only plan of such a state shows the outputs still missing as
// changes until the next poll.
func tofuApply(t *testing.T, template, tfws string, varFile []string, args ...string) map[string]any {
	t.Helper()
	tmpl := &infrav1.WorkspaceTemplate{}
	get(t, client.ObjectKey{Namespace: dev.Namespace, Name: template}, tmpl)
	dir := t.TempDir()
	// An empty CLI configuration of its own: nothing of the machine's (a missing file named
	// by TF_CLI_CONFIG_FILE is a warning on stdout, which -json output must not carry).
	for file, text := range map[string]string{"main.tf": tmpl.Spec.Template.Spec.ForProvider.Module, "cli.tfrc": ""} {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tofu := func(args ...string) []byte {
		t.Helper()
		cmd := exec.Command(filepath.Join(binDir(), "tofu"), args...)
		cmd.Dir = dir
		// The node group's provisioners run capt dev-node against the stack, as
		// provider-terraform's do.
		cmd.Env = append(os.Environ(), "TF_IN_AUTOMATION=1", "TF_INPUT=0", "TF_CLI_CONFIG_FILE="+filepath.Join(dir, "cli.tfrc"),
			"KUBECONFIG="+stack.Kubeconfig, "PATH="+filepath.Join(root, "bin")+string(os.PathListSeparator)+os.Getenv("PATH"))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("tofu %s: %v\n%s", args[0], err, stderr.String())
		}
		return out
	}
	tofu("init", "-no-color")
	tofu(append(append([]string{"apply", "-no-color", "-auto-approve"}, varFile...), args...)...)
	var outputs map[string]struct {
		Value any `json:"value"`
	}
	if err := json.Unmarshal(tofu("output", "-json"), &outputs); err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	for k, v := range outputs {
		out[k] = v.Value
	}

	if err := os.Rename(filepath.Join(dir, "terraform.tfstate"), filepath.Join(dir, "applied.tfstate")); err != nil {
		t.Fatal(err)
	}
	backend := fmt.Sprintf("terraform {\n  backend \"kubernetes\" {\n    config_path   = %q\n    namespace     = %q\n    secret_suffix = %q\n  }\n}\n",
		stack.Kubeconfig, stateNamespace, stateSuffix)
	if err := os.WriteFile(filepath.Join(dir, "backend.tf"), []byte(backend), 0o600); err != nil {
		t.Fatal(err)
	}
	tofu("init", "-no-color", "-reconfigure")
	tofu("workspace", "new", "-no-color", tfws)
	// -force: the new workspace's empty state has a lineage of its own.
	tofu("state", "push", "-force", "applied.tfstate")
	return out
}

// apiserverVarFile writes the local control plane's variables file (the Secret the
// template reads) for OpenTofu, and returns its -var-file argument.
func apiserverVarFile(t *testing.T) []string {
	t.Helper()
	secret := &corev1.Secret{}
	get(t, client.ObjectKey{Namespace: dev.Namespace, Name: "local-apiserver"}, secret)
	path := filepath.Join(t.TempDir(), "apiserver.tfvars.json")
	if err := os.WriteFile(path, secret.Data["apiserver.tfvars.json"], 0o600); err != nil {
		t.Fatal(err)
	}
	return []string{"-var-file=" + path}
}

// stateIDs maps each resource instance (type.name[i]) of Terraform workspace tfws's state to its
// id: what a replacement or a second creation would change.
func stateIDs(t *testing.T, tfws string) map[string]string {
	t.Helper()
	secret := &corev1.Secret{}
	get(t, client.ObjectKey{Namespace: stateNamespace, Name: "tfstate-" + tfws + "-" + stateSuffix}, secret)
	gz, err := gzip.NewReader(bytes.NewReader(secret.Data["tfstate"]))
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(gz)
	if err != nil {
		t.Fatal(err)
	}
	var state struct {
		Resources []struct {
			Type, Name string
			Instances  []struct {
				Attributes struct {
					ID string `json:"id"`
				} `json:"attributes"`
			} `json:"instances"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(data, &state); err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, r := range state.Resources {
		for i, inst := range r.Instances {
			ids[fmt.Sprintf("%s.%s[%d]", r.Type, r.Name, i)] = inst.Attributes.ID
		}
	}
	if len(ids) == 0 {
		t.Fatalf("state of %s holds no resource", tfws)
	}
	return ids
}

func equalIDs(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v || v == "" {
			return false
		}
	}
	return true
}
