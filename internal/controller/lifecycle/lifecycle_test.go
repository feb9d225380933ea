package lifecycle

import (
	"errors"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestIgnoreGone(t *testing.T) {
	notFound := apierrors.NewNotFound(schema.GroupResource{Resource: "captclusters"}, "c")
	now := metav1.Now()
	deleting := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: &now}}
	for _, tc := range []struct {
		name   string
		obj    *corev1.Secret
		err    error
		ignore bool
	}{
		{"deleted and gone", deleting, fmt.Errorf("patching status: %w", notFound), true},
		{"gone without being deleted", &corev1.Secret{}, notFound, false},
		{"deleted, another error", deleting, errors.New("timeout"), false},
	} {
		if got := ignoreGone(tc.obj, tc.err) == nil; got != tc.ignore {
			t.Errorf("%s: ignored = %v, want %v", tc.name, got, tc.ignore)
		}
	}
}
