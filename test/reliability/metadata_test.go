package reliability

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/util/conditions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/kubeconfig"
	"github.com/capt-dev/capt/internal/testenv"
)

// TestLostOwnerReferencesAndFinalizers does what Cluster API's e2e resilience checks do:
// with the Cluster paused, remove the owner references CAPT set (applies, contract
// secrets), then the finalizers CAPT set (CAPTCluster, CAPTControlPlane, applies); CAPT
// must leave them alone while paused and rebuild them all once unpaused. The Cluster is
// then deleted, in order, with nothing left.
func TestLostOwnerReferencesAndFinalizers(t *testing.T) {
	tries := rounds(1, 3)
	lost := 0
	for i := range tries {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			s := newScenario(t, fmt.Sprintf("metadata-%d", i))
			run := startCAPT(t, newWriteLog(), runOptions{})
			defer run.stop(t)
			s.createCluster()
			s.waitProvisioned()

			s.setPaused(true)
			owned := s.ownedObjects()
			for _, obj := range owned {
				patchMeta(t, obj, `{"metadata":{"ownerReferences":null}}`)
			}
			finalized := s.finalizedObjects()
			for _, obj := range finalized {
				patchMeta(t, obj, `{"metadata":{"finalizers":null}}`)
			}
			testenv.Consistently(t, "paused: owner references and finalizers stay removed", 2*time.Second, func() error {
				if missing := s.missingMetadata(owned, finalized); len(missing) != len(owned)+len(finalized) {
					return fmt.Errorf("CAPT rebuilt metadata while paused: only %v missing", missing)
				}
				return nil
			})

			s.setPaused(false)
			var missing []string
			testenv.Eventually(t, "owner references and finalizers rebuilt", func() error {
				if missing = s.missingMetadata(owned, finalized); len(missing) > 0 {
					return fmt.Errorf("not rebuilt: %s", strings.Join(missing, ", "))
				}
				return nil
			})
			lost += len(missing)
			if err := s.provisioned(); err != nil {
				t.Errorf("after unpausing: %v", err)
			}

			s.deleteAsClusterAPI()
			s.checkNothingLeft()
			s.checkDeletionOrder()
		})
	}
	report.add(row{
		fault:   "owner references, then finalizers, removed from every CAPT-managed object while paused; unpaused",
		tries:   tries,
		outcome: "left alone while paused; all rebuilt after unpausing; deletion in order, nothing left",
		lost:    lost,
	})
}

// setPaused pauses or unpauses the Cluster and waits until CAPT's objects say so.
func (s *scenario) setPaused(paused bool) {
	s.t.Helper()
	patchMeta(s.t, &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: s.name, Name: s.name}},
		fmt.Sprintf(`{"spec":{"paused":%v}}`, paused))
	testenv.Eventually(s.t, fmt.Sprintf("Paused=%v on every CAPT object", paused), func() error {
		for _, obj := range []interface {
			client.Object
			conditions.Getter
		}{&infrav1.CAPTCluster{}, &controlplanev1.CAPTControlPlane{}} {
			if err := stack.Client.Get(context.Background(), s.key(), obj); err != nil {
				return err
			}
			if conditions.IsTrue(obj, clusterv1.PausedCondition) != paused {
				return fmt.Errorf("%T: Paused is not %v", obj, paused)
			}
		}
		for _, name := range []string{s.vpcApply(), s.cpApply()} {
			a := &infrav1.WorkspaceTemplateApply{}
			if err := stack.Client.Get(context.Background(), client.ObjectKey{Namespace: s.name, Name: name}, a); err != nil {
				return err
			}
			if conditions.IsTrue(a, clusterv1.PausedCondition) != paused {
				return fmt.Errorf("apply %s: Paused is not %v", name, paused)
			}
		}
		return nil
	})
}

// ownedObjects are the objects CAPT sets an owner reference on.
func (s *scenario) ownedObjects() []client.Object {
	return []client.Object{
		&infrav1.WorkspaceTemplateApply{ObjectMeta: metav1.ObjectMeta{Namespace: s.name, Name: s.vpcApply()}},
		&infrav1.WorkspaceTemplateApply{ObjectMeta: metav1.ObjectMeta{Namespace: s.name, Name: s.cpApply()}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: s.name, Name: kubeconfig.SecretName(s.name)}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: s.name, Name: kubeconfig.CASecretName(s.name)}},
	}
}

// finalizedObjects are the objects CAPT sets a finalizer on.
func (s *scenario) finalizedObjects() []client.Object {
	return []client.Object{
		&infrav1.CAPTCluster{ObjectMeta: metav1.ObjectMeta{Namespace: s.name, Name: s.name}},
		&controlplanev1.CAPTControlPlane{ObjectMeta: metav1.ObjectMeta{Namespace: s.name, Name: s.name}},
		&infrav1.WorkspaceTemplateApply{ObjectMeta: metav1.ObjectMeta{Namespace: s.name, Name: s.vpcApply()}},
		&infrav1.WorkspaceTemplateApply{ObjectMeta: metav1.ObjectMeta{Namespace: s.name, Name: s.cpApply()}},
	}
}

// missingMetadata lists owned objects without a controller reference and finalized
// objects without a finalizer.
func (s *scenario) missingMetadata(owned, finalized []client.Object) []string {
	var out []string
	for _, obj := range owned {
		if err := stack.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
			out = append(out, fmt.Sprintf("%T %s: %v", obj, obj.GetName(), err))
		} else if metav1.GetControllerOf(obj) == nil {
			out = append(out, fmt.Sprintf("owner of %T %s", obj, obj.GetName()))
		}
	}
	for _, obj := range finalized {
		if err := stack.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
			out = append(out, fmt.Sprintf("%T %s: %v", obj, obj.GetName(), err))
		} else if len(obj.GetFinalizers()) == 0 {
			out = append(out, fmt.Sprintf("finalizer of %T %s", obj, obj.GetName()))
		}
	}
	return out
}

// patchMeta merge-patches obj as someone else would.
func patchMeta(t testing.TB, obj client.Object, patch string) {
	t.Helper()
	if err := stack.Client.Patch(context.Background(), obj, client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
		t.Fatalf("patching %T %s: %v", obj, obj.GetName(), err)
	}
}
