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
