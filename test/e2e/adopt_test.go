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
// (templates/local's VPC and control plane modules, applied into the stack's kubernetes
// backend under Terraform workspaces of their own): the Cluster names those workspaces
// (spec.adopt) and, before the state exists, CAPT creates no Workspace and says what it
// waits for; once OpenTofu has applied, the Workspaces only plan, their plans change
// nothing (the terraform_data ids in state are the same, provider-terraform applies
// nothing), the Cluster becomes Available, and deleting it leaves the state in place.
func TestAdoptTerraformMadeCluster(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const name = "adopted"
	vpcState, cpState := "team-"+name+"-vpc", "team-"+name+"-cp"
	t.Cleanup(func() {
		deleteState(t, vpcState)
		deleteState(t, cpState)
	})
	adopt := map[string]string{"CAPTCluster": vpcState, "CAPTControlPlane": cpState}
	w := createCluster(t, name, nil, func(obj *unstructured.Unstructured) error {
		if tfws, ok := adopt[obj.GetKind()]; ok {
			return unstructured.SetNestedField(obj.Object, map[string]any{"terraformWorkspace": tfws}, "spec", "adopt")
		}
		return nil
	})
	api := workspace.DefaultAPI()
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
	vpcID := tofuApply(t, "local-vpc", vpcState, nil, "-var=cluster_name="+name, "-var=vpc_cidr=10.0.0.0/16")["vpc_id"]
	tofuApply(t, "local-controlplane", cpState, apiserverVarFile(t),
		"-var=cluster_name="+name, "-var=kubernetes_version=1.36.3", "-var=vpc_id="+vpcID.(string))
	before := map[string]map[string]string{vpcState: stateIDs(t, vpcState), cpState: stateIDs(t, cpState)}

	if _, err := w.Until(within(t, 3*time.Minute), func(dev.Snapshot) (bool, error) {
		return dev.Available(ctx, stack.Client, dev.Namespace, name)
	}); err != nil {
		logConditions(t, client.ObjectKey{Namespace: dev.Namespace, Name: name})
		logApply(t, vpcApply)
		logApply(t, cpApply)
		t.Fatalf("adopted Cluster not Available: %v", err)
	}
	for _, key := range []client.ObjectKey{vpcApply, cpApply} {
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

	// Released from Cluster API: the state, and what it describes, stay.
	if _, err := dev.DeleteCluster(within(t, 2*time.Minute), stack.Client, w); err != nil {
		t.Fatalf("deleting the adopted Cluster: %v", err)
	}
	for tfws, ids := range before {
		if got := stateIDs(t, tfws); !equalIDs(got, ids) {
			t.Errorf("state of %s after the Cluster's deletion: %v, want it kept as %v", tfws, got, ids)
		}
	}
}

// tofuApply applies the module of WorkspaceTemplate template with OpenTofu in Terraform
// workspace tfws of the stack's kubernetes backend (the ProviderConfig default's), as a
// team's own pipeline would, and returns the outputs.
func tofuApply(t *testing.T, template, tfws string, varFile []string, args ...string) map[string]any {
	t.Helper()
	tmpl := &infrav1.WorkspaceTemplate{}
	get(t, client.ObjectKey{Namespace: dev.Namespace, Name: template}, tmpl)
	dir := t.TempDir()
	backend := fmt.Sprintf("terraform {\n  backend \"kubernetes\" {\n    config_path   = %q\n    namespace     = %q\n    secret_suffix = %q\n  }\n}\n",
		stack.Kubeconfig, stateNamespace, stateSuffix)
	// An empty CLI configuration of its own: nothing of the machine's (a missing file named
	// by TF_CLI_CONFIG_FILE is a warning on stdout, which -json output must not carry).
	files := map[string]string{"main.tf": tmpl.Spec.Template.Spec.ForProvider.Module, "backend.tf": backend, "cli.tfrc": ""}
	for file, text := range files {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tofu := func(args ...string) []byte {
		t.Helper()
		cmd := exec.Command(filepath.Join(binDir(), "tofu"), args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "TF_IN_AUTOMATION=1", "TF_INPUT=0", "TF_CLI_CONFIG_FILE="+filepath.Join(dir, "cli.tfrc"))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("tofu %s: %v\n%s", args[0], err, stderr.String())
		}
		return out
	}
	tofu("init", "-no-color")
	tofu("workspace", "new", "-no-color", tfws)
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

// stateIDs maps each terraform_data instance of Terraform workspace tfws's state to its
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
