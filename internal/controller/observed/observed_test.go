package observed

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// TestDescribeNeverQuotesRefusedValues: an Invalid error's field errors quote the value
// refused; Describe keeps the field and the kind of error only. A denial without fields
// (an admission policy's) keeps its message; other errors keep theirs.
func TestDescribeNeverQuotesRefusedValues(t *testing.T) {
	gk := schema.GroupKind{Group: "infrastructure.cluster.x-k8s.io", Kind: "WorkspaceTemplateApply"}
	invalid := apierrors.NewInvalid(gk, "demo", field.ErrorList{field.Invalid(field.NewPath("spec", "variables", "db_password"), "hunter2", "too long")})
	got := Describe(fmt.Errorf("writing WorkspaceTemplateApply demo: %w", invalid))
	if strings.Contains(got, "hunter2") || !strings.Contains(got, "spec.variables.db_password: FieldValueInvalid") || !strings.HasPrefix(got, "writing WorkspaceTemplateApply demo: ") {
		t.Errorf("Describe(invalid) = %q", got)
	}
	denied := apierrors.NewInvalid(gk, "demo", nil)
	denied.ErrStatus.Message = "ValidatingAdmissionPolicy 'freeze' denied request: endpoint changes are frozen"
	if got := Describe(fmt.Errorf("x: %w", denied)); !strings.Contains(got, "endpoint changes are frozen") {
		t.Errorf("Describe(denied) = %q", got)
	}
	if got := Describe(errors.New("plain")); got != "plain" {
		t.Errorf("Describe(plain) = %q", got)
	}
	if !Refused(invalid) || !Refused(apierrors.NewForbidden(schema.GroupResource{}, "x", errors.New("no"))) || Refused(apierrors.NewTimeoutError("slow", 1)) {
		t.Error("Refused: wrong classification")
	}
}
