package controlplane

import (
	"context"
	"fmt"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/capt-dev/capt/internal/testenv"
)

// refusal is an admission policy that refuses some writes, as a platform team's
// guardrails would.
type refusal struct {
	name      string
	operation admissionregistrationv1.OperationType
	group     string
	resource  string
	// allow is the policy's CEL expression: the write is refused when it is false.
	allow   string
	message string
}

// enforce installs the policy and its binding and waits until probe (a dry-run of the
// refused write) is refused: policies take effect asynchronously. It returns the binding,
// whose deletion lifts the policy.
func (r refusal) enforce(t *testing.T, probe func() error) *admissionregistrationv1.ValidatingAdmissionPolicyBinding {
	t.Helper()
	policy := &admissionregistrationv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: r.name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: ptr.To(admissionregistrationv1.Fail),
			MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionregistrationv1.RuleWithOperations{
					Operations: []admissionregistrationv1.OperationType{r.operation},
					Rule:       admissionregistrationv1.Rule{APIGroups: []string{r.group}, APIVersions: []string{"*"}, Resources: []string{r.resource}},
				}}}},
			Validations: []admissionregistrationv1.Validation{{Expression: r.allow, Message: r.message}},
		},
	}
	binding := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: r.name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: r.name,
			ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny}},
	}
	create(t, policy, binding)
	t.Cleanup(func() {
		_ = env.Client.Delete(context.Background(), binding)
		_ = env.Client.Delete(context.Background(), policy)
	})
	testenv.Eventually(t, r.name+" in force", func() error {
		if err := probe(); err == nil {
			return fmt.Errorf("policy not in force yet")
		}
		return nil
	})
	return binding
}

// lift deletes the policy's binding.
func lift(t *testing.T, binding *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
	t.Helper()
	if err := env.Client.Delete(context.Background(), binding); err != nil {
		t.Fatal(err)
	}
}
