package controlplane

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/go-logr/logr"
	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/logging"
	"github.com/capt-dev/capt/internal/testenv"
)

// lockedBuffer collects log output from concurrent reconciles.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestNoSecretInLogsEventsOrConditions plants canary values in a Terraform variable, in a
// failing apply's message, in a sensitive output and in the kubeconfig, runs a control
// plane from failure to Ready to deletion with logs at the most verbose level, and checks
// that no canary appears in a log line, an event or a condition.
func TestNoSecretInLogsEventsOrConditions(t *testing.T) {
	ctx := context.Background()
	const (
		varCanary        = "CANARY-VAR-7f3a9c"
		outputCanary     = "CANARY-OUTPUT-51be02"
		kubeconfigCanary = "CANARY-KUBECONFIG-d4e8a1"
	)
	logs := &lockedBuffer{}
	startControllers(t, testenv.WithLogger(zapLogger(logs)))
	ns := newNamespace(t)
	testenv.Eventually(t, "plant the variable canary in the template", func() error {
		tmpl := &infrav1.WorkspaceTemplate{}
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "eks"}, tmpl); err != nil {
			return err
		}
		tmpl.Spec.Template.Spec.ForProvider.Vars = []infrav1.Var{{Key: "db_password", Value: varCanary}}
		tmpl.Spec.SensitiveVariables = []string{"db_password"}
		return env.Client.Update(ctx, tmpl)
	})
	_, cp := newCluster(t, ns, "canary")

	// A failing apply whose message quotes the variable.
	p := goodProvider(t)
	p.ready = false
	p.endpoint = ""
	p.apply(t, cp)
	setWorkspaceMessage(t, cp, "Error: invalid value "+varCanary+" for variable db_password")
	waitCP(t, cp, "failure mirrored", func(c *controlplanev1.CAPTControlPlane) error {
		if m := cond(c, controlplanev1.WorkspaceReadyCondition).Message; !strings.Contains(m, "invalid value") {
			return fmt.Errorf("WorkspaceReady message %q", m)
		}
		return nil
	})

	// Success, with a sensitive output and a kubeconfig output carrying a token.
	kubeconfig := fmt.Sprintf(`apiVersion: v1
kind: Config
current-context: admin@canary
clusters: [{name: canary, cluster: {server: "https://canary.example.com", certificate-authority-data: %s}}]
users: [{name: admin, user: {token: %s}}]
contexts: [{name: admin@canary, context: {cluster: canary, user: admin}}]
`, base64.StdEncoding.EncodeToString(testenv.CACertificatePEM(t)), kubeconfigCanary)
	p = goodProvider(t)
	p.extra = map[string]string{"admin_token": outputCanary, "kubeconfig": kubeconfig}
	p.apply(t, cp)
	waitReady(t, cp, "Ready")
	stored := &corev1.Secret{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "canary-kubeconfig"}, stored); err != nil || !strings.Contains(string(stored.Data["value"]), kubeconfigCanary) {
		t.Fatalf("the kubeconfig output should be the secret's content: %v", err)
	}

	setWorkspaceFinalizers(t, cp, nil)
	if err := env.Client.Delete(ctx, getCP(t, cp)); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "control plane gone", func() error { return gone(&controlplanev1.CAPTControlPlane{ObjectMeta: cp.ObjectMeta}) })

	checkNoCanary(t, ns, logs, []string{varCanary, outputCanary, kubeconfigCanary})
}

// zapLogger logs at the most verbose level into logs, as the manager does (bodies dropped).
func zapLogger(logs *lockedBuffer) logr.Logger {
	return logging.DropBodies(zap.New(zap.WriteTo(logs), zap.Level(zapcore.Level(-10))))
}

// checkNoCanary fails when a canary appears in the logs, in an event of namespace ns, in
// a condition of its WorkspaceTemplateApplies, or in the extra places given (such as the
// control plane's conditions, read before it was deleted).
func checkNoCanary(t *testing.T, ns string, logs *lockedBuffer, canaries []string, extra ...string) {
	t.Helper()
	ctx := context.Background()
	places := append([]string{"logs:\n" + logs.String()}, extra...)
	events := &eventsv1.EventList{}
	if err := env.Client.List(ctx, events, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	for _, e := range events.Items {
		places = append(places, fmt.Sprintf("event %s: %s", e.Reason, e.Note))
	}
	applies := &infrav1.WorkspaceTemplateApplyList{}
	_ = env.Client.List(ctx, applies, client.InNamespace(ns))
	for _, a := range applies.Items {
		for _, c := range a.Status.Conditions {
			places = append(places, "WorkspaceTemplateApply condition "+c.Type+": "+c.Message)
		}
	}
	if len(logs.String()) == 0 {
		t.Fatal("no log output captured")
	}
	for _, place := range places {
		for _, canary := range canaries {
			if strings.Contains(place, canary) {
				i := strings.Index(place, canary)
				t.Errorf("canary %s leaked: …%s…", canary, place[max(0, i-1500):min(len(place), i+50)])
			}
		}
	}
}

// setWorkspaceMessage sets the message of the Workspace's Synced and Ready conditions
// and marks Synced false, as a failed apply does.
func setWorkspaceMessage(t *testing.T, cp *controlplanev1.CAPTControlPlane, message string) {
	t.Helper()
	testenv.Eventually(t, "set Workspace message", func() error {
		u := api.NewObject()
		if err := env.Client.Get(context.Background(), client.ObjectKey{Name: workspaceName(cp)}, u); err != nil {
			return err
		}
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		for _, c := range conds {
			m := c.(map[string]any)
			m["message"] = message
			m["status"] = "False"
		}
		if err := unstructured.SetNestedSlice(u.Object, conds, "status", "conditions"); err != nil {
			return err
		}
		return env.Client.Status().Update(context.Background(), u)
	})
}
