// Package install checks CAPT's install artifacts on a real API server: the kustomize
// bases and overlays of config/ (and, later, the clusterctl files and the Helm chart).
package install

import (
	"testing"

	"github.com/capt-dev/capt/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Run(m, func(e *testenv.Env) { env = e }) }
