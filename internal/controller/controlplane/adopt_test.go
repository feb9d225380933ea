package controlplane

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/capt-dev/capt/internal/kubeconfig"
)

func TestAdoptable(t *testing.T) {
	want := &corev1.Secret{Type: kubeconfig.SecretType, ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{clusterv1.ClusterNameLabel: "c"}}}
	controller := metav1.OwnerReference{Kind: "KubeadmControlPlane", Name: "x", Controller: ptr.To(true)}
	for _, tc := range []struct {
		name string
		have *corev1.Secret
		want bool
	}{
		{"lost its owner reference", want.DeepCopy(), true},
		{"a plain owner is no controller", withOwners(want.DeepCopy(), metav1.OwnerReference{Kind: "Cluster", Name: "c"}), true},
		{"another controller's", withOwners(want.DeepCopy(), controller), false},
		{"another type", &corev1.Secret{Type: corev1.SecretTypeOpaque, ObjectMeta: want.ObjectMeta}, false},
		{"another cluster's", &corev1.Secret{Type: kubeconfig.SecretType, ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{clusterv1.ClusterNameLabel: "d"}}}, false},
		{"unlabelled", &corev1.Secret{Type: kubeconfig.SecretType}, false},
	} {
		if got := adoptable(tc.have, want); got != tc.want {
			t.Errorf("%s: adoptable = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func withOwners(s *corev1.Secret, refs ...metav1.OwnerReference) *corev1.Secret {
	s.OwnerReferences = refs
	return s
}
