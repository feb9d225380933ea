package reliability

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
)

// secondWriterLabel is the label the second writer keeps changing.
const secondWriterLabel = "example.com/second-writer"

// TestSecondWriter runs a lifecycle while another client keeps updating labels and
// annotations of the Cluster, the CAPTCluster, the CAPTControlPlane and both applies
// (full updates with optimistic locking, as kubectl edit or a GitOps tool would). CAPT
// must converge, lose none of the other writer's updates, and log no error storm.
func TestSecondWriter(t *testing.T) {
	tries := rounds(1, 3)
	var updates, conflicts, errorLines int64
	lost := 0
	for i := range tries {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			s := newScenario(t, fmt.Sprintf("conflict-%d", i))
			run := startCAPT(t, newWriteLog(), runOptions{})
			defer run.stop(t)
			w := startSecondWriter(s)
			s.createCluster()
			s.waitProvisioned()
			time.Sleep(time.Second) // writes on a provisioned, settled Cluster too
			last := w.stop()
			for key, want := range last {
				obj := newOfKind(key.kind)
				if err := stack.Client.Get(context.Background(), client.ObjectKey{Namespace: s.name, Name: key.name}, obj); err != nil {
					t.Fatal(err)
				}
				if got := obj.GetLabels()[secondWriterLabel]; got != want || obj.GetAnnotations()[secondWriterLabel] != want {
					lost++
					t.Errorf("%s %s: the second writer's last update %s is lost (label %q)", key.kind, key.name, want, got)
				}
			}
			updates += w.updates.Load()
			conflicts += w.conflicts.Load()
			if err := s.provisioned(); err != nil {
				t.Errorf("after the second writer: %v", err)
			}

			w = startSecondWriter(s)
			s.deleteAsClusterAPI()
			w.stop()
			updates += w.updates.Load()
			conflicts += w.conflicts.Load()
			s.checkNothingLeft()
			s.checkDeletionOrder()
			errorLines += run.logs.errors.Load()
			for _, line := range run.logs.errorLines() {
				t.Log(line)
			}
			if n := run.logs.errors.Load(); n > 5 {
				t.Errorf("%d error-level log lines: an error storm\n%s", n, run.logs.String())
			}
		})
	}
	report.add(row{
		fault: "a second writer updating labels and annotations of the Cluster, CAPTCluster, CAPTControlPlane and applies during creation and deletion",
		tries: tries,
		outcome: fmt.Sprintf("converged; %d updates by the other writer (%d of its own conflicts retried), none lost; %d error lines logged by CAPT",
			updates, conflicts, errorLines),
		lost: lost,
	})
}

type objectKey struct{ kind, name string }

func newOfKind(kind string) client.Object {
	switch kind {
	case "Cluster":
		return &clusterv1.Cluster{}
	case "CAPTCluster":
		return &infrav1.CAPTCluster{}
	case "CAPTControlPlane":
		return &controlplanev1.CAPTControlPlane{}
	default:
		return &infrav1.WorkspaceTemplateApply{}
	}
}

// secondWriter updates the scenario's objects in turn until stopped.
type secondWriter struct {
	updates, conflicts atomic.Int64
	mu                 sync.Mutex
	last               map[objectKey]string
	quit               chan struct{}
	done               chan struct{}
}

func startSecondWriter(s *scenario) *secondWriter {
	w := &secondWriter{last: map[objectKey]string{}, quit: make(chan struct{}), done: make(chan struct{})}
	keys := []objectKey{{"Cluster", s.name}, {"CAPTCluster", s.name}, {"CAPTControlPlane", s.name},
		{"WorkspaceTemplateApply", s.vpcApply()}, {"WorkspaceTemplateApply", s.cpApply()}}
	go func() {
		defer close(w.done)
		for n := 0; ; n++ {
			select {
			case <-w.quit:
				return
			case <-time.After(10 * time.Millisecond):
			}
			key := keys[n%len(keys)]
			w.update(s.name, key, strconv.Itoa(n))
		}
	}()
	return w
}

// update sets the label and annotation to value, retrying its own conflicts.
func (w *secondWriter) update(ns string, key objectKey, value string) {
	ctx := context.Background()
	for range 10 {
		obj := newOfKind(key.kind)
		if err := stack.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: key.name}, obj); err != nil {
			return // not created yet, or gone
		}
		labels, annotations := obj.GetLabels(), obj.GetAnnotations()
		if labels == nil {
			labels = map[string]string{}
		}
		if annotations == nil {
			annotations = map[string]string{}
		}
		labels[secondWriterLabel], annotations[secondWriterLabel] = value, value
		obj.SetLabels(labels)
		obj.SetAnnotations(annotations)
		err := stack.Client.Update(ctx, obj)
		switch {
		case err == nil:
			w.updates.Add(1)
			w.mu.Lock()
			w.last[key] = value
			w.mu.Unlock()
			return
		case apierrors.IsConflict(err):
			w.conflicts.Add(1)
		default:
			return
		}
	}
}

// stop ends the writer and returns the last value it wrote to each object.
func (w *secondWriter) stop() map[objectKey]string {
	close(w.quit)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last
}
