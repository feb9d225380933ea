package patching

import (
	"errors"
	"fmt"
	"testing"

	pkgerrors "github.com/pkg/errors"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
)

func TestAlreadyGone(t *testing.T) {
	notFound := apierrors.NewNotFound(schema.GroupResource{Resource: "captclusters"}, "c")
	now := metav1.Now()
	deleting := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: &now}}
	for _, tc := range []struct {
		name string
		obj  *corev1.Secret
		err  error
		want bool
	}{
		{"deleted and gone", deleting, kerrors.NewAggregate([]error{fmt.Errorf("failed to patch spec and metadata: %w", notFound)}), true},
		{"deleted and gone, as the patch helper wraps it", deleting, pkgerrors.Wrapf(kerrors.NewAggregate([]error{fmt.Errorf("failed to patch spec and metadata: %w", notFound), notFound}), "failed to patch CAPTControlPlane ns/c"), true},
		{"gone without being deleted", &corev1.Secret{}, notFound, false},
		{"deleted, another error too", deleting, kerrors.NewAggregate([]error{notFound, errors.New("conflict")}), false},
		{"deleted, another error", deleting, errors.New("timeout"), false},
	} {
		if got := alreadyGone(tc.obj, tc.err); got != tc.want {
			t.Errorf("%s: alreadyGone = %v, want %v", tc.name, got, tc.want)
		}
	}
}
