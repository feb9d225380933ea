package workspacetemplate

import (
	"errors"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
)

func TestValidCondition(t *testing.T) {
	cases := []struct {
		err        error
		wantStatus metav1.ConditionStatus
		wantReason string
	}{
		{nil, metav1.ConditionTrue, infrav1.ValidReason},
		{errors.New("spec.template.spec.forProvider.module is not valid JSON"), metav1.ConditionFalse, infrav1.TemplateInvalidReason},
	}
	for _, c := range cases {
		got := validCondition(c.err)
		if got.Type != infrav1.TemplateValidCondition || got.Status != c.wantStatus || got.Reason != c.wantReason {
			t.Errorf("validCondition(%v) = %+v", c.err, got)
		}
		if c.err != nil && got.Message != c.err.Error() {
			t.Errorf("message = %q", got.Message)
		}
	}
}
