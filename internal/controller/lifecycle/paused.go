package lifecycle

import (
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/util/annotations"
	"sigs.k8s.io/cluster-api/util/conditions"
)

// SetPaused sets obj's Paused condition (Cluster API's contract: the Cluster's
// spec.paused or the object's paused annotation) and says whether the object is paused.
// It only sets the condition: the pass's one status write carries it. Cluster API's
// paused.EnsurePausedCondition writes it alone and ends the pass, which made the first
// pass of every object a status write of its own.
func SetPaused(kind string, cluster *clusterv1.Cluster, obj Object) bool {
	var why []string
	if cluster != nil && ptr.Deref(cluster.Spec.Paused, false) {
		why = append(why, "Cluster spec.paused is set to true")
	}
	if annotations.HasPaused(obj) {
		why = append(why, fmt.Sprintf("%s has the %s annotation", kind, clusterv1.PausedAnnotation))
	}
	c := metav1.Condition{Type: clusterv1.PausedCondition, Status: metav1.ConditionFalse, Reason: clusterv1.NotPausedReason,
		ObservedGeneration: obj.GetGeneration()}
	if len(why) > 0 {
		c.Status, c.Reason, c.Message = metav1.ConditionTrue, clusterv1.PausedReason, strings.Join(why, ", ")
	}
	conditions.Set(obj, c)
	return len(why) > 0
}
