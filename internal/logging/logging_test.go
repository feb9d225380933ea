package logging

import (
	"strings"
	"testing"

	"github.com/go-logr/logr/funcr"
)

func TestDropBodies(t *testing.T) {
	var lines []string
	base := funcr.New(func(prefix, args string) { lines = append(lines, prefix+" "+args) }, funcr.Options{Verbosity: 10})
	l := DropBodies(base).WithName("ctrl").WithValues("k", "v")
	l.V(8).Info("Request Body", "body", "secret-data")
	l.V(8).Info("Response Body", "body", "secret-data")
	l.V(4).Info("Reconciling", "object", "a")
	if len(lines) != 1 || strings.Contains(strings.Join(lines, "\n"), "secret-data") || !strings.Contains(lines[0], "Reconciling") {
		t.Errorf("lines = %q", lines)
	}
}
