package v1beta1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// GetConditions returns the conditions, for Cluster API's conditions and patch helpers.
func (c *CAPTControlPlane) GetConditions() []metav1.Condition { return c.Status.Conditions }

// SetConditions sets the conditions.
func (c *CAPTControlPlane) SetConditions(conditions []metav1.Condition) {
	c.Status.Conditions = conditions
}
