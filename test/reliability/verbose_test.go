package reliability

// This file sorts last on purpose: its test leaves klog's global logger at -v=10.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/kubeconfig"
	"github.com/capt-dev/capt/internal/logging"
	"github.com/capt-dev/capt/internal/manager"
	"github.com/capt-dev/capt/internal/render"
	"github.com/capt-dev/capt/internal/testenv"
	"github.com/capt-dev/capt/internal/workspace"
)

// Canary values: none may appear in a log line, an event or a condition.
const (
	templateVarCanary = "CANARY-TEMPLATE-VAR-3e1f"
	tagCanary         = "CANARY-TAG-9a07"
	outputCanary      = "CANARY-OUTPUT-c55d"
	kubeconfigCanary  = "CANARY-KUBECONFIG-TOKEN-80b2"
)

var canaries = []string{templateVarCanary, tagCanary, outputCanary, kubeconfigCanary}

// TestNoCanaryAtMostVerbose runs a whole lifecycle, a failed apply that quotes the
// variables included, with the manager's logging set up as `capt manager -v=10` sets it
// up (logging.Setup: controller-runtime's logger and klog's global logger, which
// client-go's informers log through). Canaries sit in a template variable, in tags that
// become Terraform variables, in a sensitive output and in the kubeconfig output's token
// (so in the connection secret and the kubeconfig secret). None may appear in the logs,
// in an event or in a condition of any object, at any time of the lifecycle.
func TestNoCanaryAtMostVerbose(t *testing.T) {
	ctx := context.Background()
	logFile, logger := verboseLogging(t)
	s := newScenario(t, "canary")
	plantTemplateVariable(t, s)

	conditionsSeen := watchConditions(t, s)
	run := startCAPT(t, newWriteLog(), runOptions{logger: &logger})
	defer run.stop(t)

	cpWorkspace := types.NamespacedName{Name: s.workspace(s.cpApply())}
	if err := provider.HoldApply(ctx, cpWorkspace, true); err != nil {
		t.Fatal(err)
	}
	s.createClusterWithTags(map[string]string{"owner-token": tagCanary})
	testenv.Eventually(t, "control plane Workspace created", func() error {
		return stack.Client.Get(ctx, cpWorkspace, workspace.DefaultAPI().NewObject())
	})
	// A failed apply whose message quotes the variables, as Terraform's errors do.
	setWorkspaceNotReady(t, cpWorkspace, fmt.Sprintf("Error: invalid value %q for variable db_password; tags %q", templateVarCanary, tagCanary))
	cp := &controlplanev1.CAPTControlPlane{ObjectMeta: metav1.ObjectMeta{Namespace: s.name, Name: s.name}}
	testenv.Eventually(t, "the failure mirrored on the control plane", func() error {
		return hasCondition(cp, controlplanev1.WorkspaceReadyCondition, "", "invalid value")
	})
	writeConnectionSecret(t, s, cpWorkspace.Name)
	if err := provider.HoldApply(ctx, cpWorkspace, false); err != nil {
		t.Fatal(err)
	}
	s.waitProvisioned()
	stored := &corev1.Secret{}
	if err := stack.Client.Get(ctx, client.ObjectKey{Namespace: s.name, Name: kubeconfig.SecretName(s.name)}, stored); err != nil ||
		!strings.Contains(string(stored.Data[kubeconfig.KubeconfigKey]), kubeconfigCanary) {
		t.Fatalf("the kubeconfig secret should carry the kubeconfig output (and its canary token): %v", err)
	}
	s.deleteAsClusterAPI()
	s.checkNothingLeft()
	run.stop(t)

	logs, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(logs), "200 OK") {
		t.Fatalf("the log holds no client-go request line: not at the most verbose level? (%d bytes)", len(logs))
	}
	places := map[string]string{"logs": string(logs)}
	events := &eventsv1.EventList{}
	if err := stack.Client.List(ctx, events, client.InNamespace(s.name)); err != nil {
		t.Fatal(err)
	}
	for _, e := range events.Items {
		places["event "+e.Name] = e.Reason + " " + e.Note
	}
	for status, where := range conditionsSeen() {
		places[where] = status
	}
	leaks := 0
	for where, text := range places {
		for _, canary := range canaries {
			if i := strings.Index(text, canary); i >= 0 {
				leaks++
				t.Errorf("canary %s in %s: …%s…", canary, where, text[max(0, i-300):min(len(text), i+50)])
			}
		}
	}
	report.add(row{
		fault: "canary secrets in a template variable, tags (Terraform variables), a sensitive output, the connection secret and the kubeconfig; lifecycle with a failed apply at -v=10",
		tries: 1,
		outcome: fmt.Sprintf("%d canaries found in %d KiB of logs, %d events and %d condition snapshots",
			leaks, len(logs)/1024, len(events.Items), len(places)-1-len(events.Items)),
	})
}

// verboseLogging sets logging up as `capt manager -v=10` does, writing to a file.
func verboseLogging(t *testing.T) (string, logr.Logger) {
	t.Helper()
	opts := manager.NewOptions()
	fs := pflag.NewFlagSet("capt manager", pflag.ContinueOnError)
	opts.AddFlags(fs)
	if err := fs.Parse([]string{"-v=10"}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "capt.log")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	// logging.Setup writes to os.Stderr as it finds it.
	stderr := os.Stderr
	os.Stderr = f
	logger, err := logging.Setup(opts.Logs)
	os.Stderr = stderr
	if err != nil {
		t.Fatal(err)
	}
	return path, logger
}

// plantTemplateVariable gives the control plane template a variable with a canary value,
// and marks it and the tags sensitive.
func plantTemplateVariable(t *testing.T, s *scenario) {
	t.Helper()
	testenv.Eventually(t, "plant the template variable", func() error {
		tmpl := &infrav1.WorkspaceTemplate{}
		if err := stack.Client.Get(context.Background(), client.ObjectKey{Namespace: s.name, Name: "eks"}, tmpl); err != nil {
			return err
		}
		tmpl.Spec.Template.Spec.ForProvider.Vars = []infrav1.Var{{Key: "db_password", Value: templateVarCanary}}
		// Only what is marked is masked; tags hold a canary here, so they are marked too
		// (a map variable: every string inside it is masked).
		tmpl.Spec.SensitiveVariables = []string{"db_password", "tags"}
		return stack.Client.Update(context.Background(), tmpl)
	})
}

// createClusterWithTags is createCluster with tags on the CAPTCluster and the control plane.
func (s *scenario) createClusterWithTags(tags map[string]string) {
	s.t.Helper()
	s.createCluster()
	for _, obj := range []client.Object{&infrav1.CAPTCluster{}, &controlplanev1.CAPTControlPlane{}} {
		obj.SetNamespace(s.name)
		obj.SetName(s.name)
		b, _ := json.Marshal(map[string]any{"spec": map[string]any{"additionalTags": tags}})
		patchMeta(s.t, obj, string(b))
	}
}

// writeConnectionSecret writes what provider-terraform writes for a Workspace with
// sensitive outputs: a kubeconfig with a token and a password.
func writeConnectionSecret(t *testing.T, s *scenario, workspaceName string) {
	t.Helper()
	ws := workspace.DefaultAPI().NewObject()
	if err := stack.Client.Get(context.Background(), client.ObjectKey{Name: workspaceName}, ws); err != nil {
		t.Fatal(err)
	}
	config := fmt.Sprintf(`apiVersion: v1
kind: Config
current-context: admin@canary
clusters: [{name: canary, cluster: {server: "https://canary.eks.example.com", certificate-authority-data: %s}}]
users: [{name: admin, user: {token: %s}}]
contexts: [{name: admin@canary, context: {cluster: canary, user: admin}}]
`, base64.StdEncoding.EncodeToString(testenv.CACertificatePEM(t)), kubeconfigCanary)
	mustCreate(t, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: s.name, Name: render.ChildName(s.name, "controlplane-outputs"),
			OwnerReferences: []metav1.OwnerReference{{APIVersion: ws.GetAPIVersion(), Kind: ws.GetKind(), Name: ws.GetName(), UID: ws.GetUID()}}},
		Data: map[string][]byte{"kubeconfig": []byte(config), "db_password": []byte(outputCanary)},
	})
}

// watchConditions snapshots the status (conditions included) of every CAPT object of
// the scenario every 100 ms; the function it returns stops and returns each distinct
// status with where it was seen.
func watchConditions(t *testing.T, s *scenario) func() map[string]string {
	var mu sync.Mutex
	seen := map[string]string{}
	quit := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for n := 0; ; n++ {
			select {
			case <-quit:
				return
			case <-time.After(100 * time.Millisecond):
			}
			for _, l := range []client.ObjectList{&infrav1.CAPTClusterList{}, &controlplanev1.CAPTControlPlaneList{}, &infrav1.WorkspaceTemplateApplyList{}, &infrav1.WorkspaceTemplateList{}} {
				if err := stack.Client.List(context.Background(), l, client.InNamespace(s.name)); err != nil {
					continue
				}
				items, _ := json.Marshal(l)
				var parsed struct {
					Items []struct {
						Metadata struct{ Name string }
						Kind     string
						Status   json.RawMessage
					}
				}
				_ = json.Unmarshal(items, &parsed)
				mu.Lock()
				for _, it := range parsed.Items {
					// Keyed by content: each distinct status once.
					seen[string(it.Status)] = fmt.Sprintf("status of %T %s, snapshot %d", l, it.Metadata.Name, n)
				}
				mu.Unlock()
			}
		}
	}()
	var once sync.Once
	stop := func() map[string]string {
		once.Do(func() { close(quit); <-done })
		mu.Lock()
		defer mu.Unlock()
		return seen
	}
	t.Cleanup(func() { stop() })
	return stop
}
