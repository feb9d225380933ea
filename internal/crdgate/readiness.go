package crdgate

import (
	"fmt"
	"net/http"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
)

// readyCheck is the readiness check of one kind, named kind.group (such as
// MachinePool.cluster.x-k8s.io): /readyz lists it as failed while a controller waits for
// the kind, and /readyz/<kind.group> says which version and which controllers. The
// liveness check (/healthz) is not affected: a restart would not install the CRD.
func (g *Gate) readyCheck(gk schema.GroupKind) healthz.Checker {
	return func(*http.Request) error {
		g.mu.Lock()
		defer g.mu.Unlock()
		var version string
		var controllers []string
		for _, w := range g.waiting {
			for _, m := range w.missing {
				if m.GroupKind() == gk {
					version = m.Version
					controllers = append(controllers, w.Name)
				}
			}
		}
		if len(controllers) == 0 {
			return nil
		}
		which := "controller %s starts"
		if len(controllers) > 1 {
			which = "controllers %s start"
		}
		return fmt.Errorf("the API server does not serve %s/%s (its CRD is not installed, or not at that version): "+
			which+" once it does", gk, version, strings.Join(controllers, ", "))
	}
}
