package v1beta1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// GetConditions returns the conditions, for Cluster API's conditions and patch helpers.
func (w *WorkspaceTemplateApply) GetConditions() []metav1.Condition { return w.Status.Conditions }

// SetConditions sets the conditions.
func (w *WorkspaceTemplateApply) SetConditions(c []metav1.Condition) { w.Status.Conditions = c }

// GetConditions returns the conditions, for Cluster API's conditions and patch helpers.
func (w *WorkspaceTemplate) GetConditions() []metav1.Condition { return w.Status.Conditions }

// SetConditions sets the conditions.
func (w *WorkspaceTemplate) SetConditions(c []metav1.Condition) { w.Status.Conditions = c }

// GetConditions returns the conditions, for Cluster API's conditions and patch helpers.
func (c *CAPTCluster) GetConditions() []metav1.Condition { return c.Status.Conditions }

// SetConditions sets the conditions.
func (c *CAPTCluster) SetConditions(conditions []metav1.Condition) { c.Status.Conditions = conditions }

// GetConditions returns the conditions, for Cluster API's conditions and patch helpers.
func (m *CAPTMachinePool) GetConditions() []metav1.Condition { return m.Status.Conditions }

// SetConditions sets the conditions.
func (m *CAPTMachinePool) SetConditions(conditions []metav1.Condition) {
	m.Status.Conditions = conditions
}
