package testenv

import (
	"fmt"
	"os"
	"testing"
)

// Run is a TestMain body: it starts the environment, hands it to setup (which may store
// it in a package variable), runs the tests and stops the environment.
func Run(m *testing.M, setup func(*Env)) {
	env, err := Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "testenv:", err)
		os.Exit(1)
	}
	setup(env)
	code := m.Run()
	if err := env.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "testenv:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}
