package testenv

import (
	"context"
	"fmt"
	"slices"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// RemoveCRD deletes the CRD named name (<plural>.<group>) and waits until the API server
// no longer serves its kind, in discovery too: a test can then start a manager on an API
// server without it, as on a cluster where it was never installed. It returns the CRD,
// for InstallCRD; the test's cleanup installs it again if the test did not, so that the
// package's other tests find every CRD.
func (e *Env) RemoveCRD(t testing.TB, name string) *apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	crd := e.DeleteCRD(t, name)
	t.Cleanup(func() {
		if err := e.InstallCRD(context.Background(), crd); err != nil {
			t.Errorf("installing CRD %s again: %v", name, err)
		}
	})
	return crd
}

// DeleteCRD deletes the CRD named name and waits until the API server no longer serves
// its kind, in discovery too. It returns the CRD as it was.
func (e *Env) DeleteCRD(t testing.TB, name string) *apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	ctx := context.Background()
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := e.Client.Get(ctx, client.ObjectKey{Name: name}, crd); err != nil {
		t.Fatalf("reading CRD %s: %v", name, err)
	}
	if err := e.Client.Delete(ctx, crd); err != nil {
		t.Fatalf("deleting CRD %s: %v", name, err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(e.Config)
	if err != nil {
		t.Fatal(err)
	}
	Eventually(t, "CRD "+name+" gone", func() error {
		if err := e.Gone(&apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
			return err
		}
		for _, v := range crd.Spec.Versions {
			list, err := dc.ServerResourcesForGroupVersion(crd.Spec.Group + "/" + v.Name)
			if apierrors.IsNotFound(err) {
				continue
			}
			if err != nil {
				return err
			}
			if slices.ContainsFunc(list.APIResources, func(r metav1.APIResource) bool { return r.Name == crd.Spec.Names.Plural }) {
				return fmt.Errorf("discovery still lists %s in %s/%s", crd.Spec.Names.Plural, crd.Spec.Group, v.Name)
			}
		}
		return nil
	})
	return crd
}

// InstallCRD creates crd (a copy of one RemoveCRD returned) if it does not exist, and
// waits until the API server marks it Established.
func (e *Env) InstallCRD(ctx context.Context, crd *apiextensionsv1.CustomResourceDefinition) error {
	fresh := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: crd.Name, Labels: crd.Labels, Annotations: crd.Annotations},
		Spec:       *crd.Spec.DeepCopy(),
	}
	return e.createEstablished(ctx, fresh)
}
