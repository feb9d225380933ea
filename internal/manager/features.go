package manager

import (
	"k8s.io/component-base/featuregate"
)

// MachinePool is the feature gate of the CAPTMachinePool controller, named and
// defaulted as Cluster API's own (--feature-gates=MachinePool=false, clusterctl's
// EXP_MACHINE_POOL). On, the controller starts once the API server serves Cluster API's
// MachinePool, and readiness fails until then; off, it never starts, and an install
// without machine pools is ready.
const MachinePool featuregate.Feature = "MachinePool"

// newFeatureGates returns the feature gates --feature-gates sets, at their defaults.
// Each Options has its own: tests and benchmarks build several in one process.
func newFeatureGates() featuregate.MutableFeatureGate {
	gates := featuregate.NewFeatureGate()
	if err := gates.Add(map[featuregate.Feature]featuregate.FeatureSpec{
		MachinePool: {Default: true, PreRelease: featuregate.Beta},
	}); err != nil {
		// Only a duplicate name fails, and the map above has none.
		panic(err)
	}
	return gates
}
