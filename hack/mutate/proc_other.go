//go:build !linux

package main

import (
	"io"
	"os/exec"
)

// becomeSubreaper is Linux only: elsewhere, processes a timed-out test binary leaves
// behind are not stopped.
func becomeSubreaper() error { return nil }

// ownProcessGroup leaves cmd as it is: cancelling kills go test alone.
func ownProcessGroup(*exec.Cmd) {}

func reapOrphans(io.Writer, int) {}

func startCommand(cmd *exec.Cmd) (done func(), err error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return func() {}, nil
}

func keepChildren([]int) {}

func newProcessGroup(*exec.Cmd) {}
