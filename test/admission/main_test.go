package admission

import (
	"testing"

	"github.com/capt-dev/capt/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	testenv.Run(m, func(e *testenv.Env) { env = e })
}
