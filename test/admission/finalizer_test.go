package admission

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
)

// warnings records the API server's warnings.
type warnings struct {
	mu   sync.Mutex
	seen []string
}

func (w *warnings) HandleWarningHeaderWithContext(_ context.Context, _ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seen = append(w.seen, text)
}

func (w *warnings) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.seen
	w.seen = nil
	return out
}

// TestFinalizerNamesDrawNoWarning writes each kind with its finalizer: the API server
// warns about a name without a path (three warnings in the manager's log per cluster
// before, issue #18), and must not about CAPT's. The legacy names show the check fires.
func TestFinalizerNamesDrawNoWarning(t *testing.T) {
	ctx := context.Background()
	w := &warnings{}
	cfg := rest.CopyConfig(env.Config)
	cfg.WarningHandlerWithContext = w
	c, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	objects := func(suffix string) map[client.Object][2]string {
		meta := func(kind string) metav1.ObjectMeta {
			return metav1.ObjectMeta{Namespace: "default", Name: kind + "-finalizer-" + suffix}
		}
		return map[client.Object][2]string{
			&infrav1.CAPTCluster{ObjectMeta: meta("cc"), Spec: infrav1.CAPTClusterSpec{Region: "us-west-2", ExistingVPCID: "vpc-0123abcd", ExistingSubnets: &infrav1.ExistingSubnets{PrivateSubnetIDs: []string{"subnet-0123abcd", "subnet-4567abcd"}}}}: {infrav1.CAPTClusterFinalizer, infrav1.LegacyCAPTClusterFinalizer},
			&controlplanev1.CAPTControlPlane{ObjectMeta: meta("cp"), Spec: controlplanev1.CAPTControlPlaneSpec{Version: "v1.31.2",
				WorkspaceTemplateRef: infrav1.WorkspaceTemplateReference{Name: "eks"}}}: {controlplanev1.CAPTControlPlaneFinalizer, controlplanev1.LegacyCAPTControlPlaneFinalizer},
			&infrav1.WorkspaceTemplateApply{ObjectMeta: meta("wta"), Spec: infrav1.WorkspaceTemplateApplySpec{
				TemplateRef: infrav1.WorkspaceTemplateReference{Name: "eks"}}}: {infrav1.WorkspaceTemplateApplyFinalizer, infrav1.LegacyWorkspaceTemplateApplyFinalizer},
			// A kind added after v0.1: no legacy name.
			&infrav1.CAPTMachinePool{ObjectMeta: meta("cmp"), Spec: infrav1.CAPTMachinePoolSpec{
				WorkspaceTemplateRef: infrav1.WorkspaceTemplateReference{Name: "nodegroup"}}}: {infrav1.CAPTMachinePoolFinalizer, ""},
		}
	}
	for i, legacy := range []bool{false, true} {
		for obj, names := range objects(fmt.Sprint(i)) {
			name := names[0]
			if legacy {
				if names[1] == "" {
					continue
				}
				name = names[1]
			}
			obj.SetFinalizers([]string{name})
			if err := c.Create(ctx, obj); err != nil {
				t.Fatalf("create %T: %v", obj, err)
			}
			got := w.take()
			obj.SetFinalizers(nil)
			if err := c.Update(ctx, obj); err != nil {
				t.Fatal(err)
			}
			if err := c.Delete(ctx, obj); err != nil {
				t.Fatal(err)
			}
			w.take()
			warned := strings.Contains(strings.Join(got, "\n"), "finalizer")
			if warned != legacy {
				t.Errorf("finalizer %s: warnings %q", name, got)
			}
		}
	}
}
