package localstack

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// StateResources decodes a Terraform state Secret of the kubernetes backend (gzipped
// JSON under "tfstate") and returns the addresses (type.name) of its managed resources:
// what a test checks was created once, kept, or destroyed.
func StateResources(secret *corev1.Secret) ([]string, error) {
	gz, err := gzip.NewReader(bytes.NewReader(secret.Data["tfstate"]))
	if err != nil {
		return nil, fmt.Errorf("state Secret %s: %w", secret.Name, err)
	}
	data, err := io.ReadAll(gz)
	if err != nil {
		return nil, fmt.Errorf("state Secret %s: %w", secret.Name, err)
	}
	var state struct {
		Resources []struct{ Mode, Type, Name string } `json:"resources"`
	}
	if err := json.Unmarshal(data, &state); err != nil {
		return nil, fmt.Errorf("state Secret %s: %w", secret.Name, err)
	}
	out := []string{}
	for _, r := range state.Resources {
		if r.Mode == "managed" {
			out = append(out, r.Type+"."+r.Name)
		}
	}
	return out, nil
}

// DumpLogs prints the last lines of every component's log in dir to w: a failed CI run
// shows why.
func DumpLogs(w io.Writer, dir string) {
	files, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		if len(lines) > 40 {
			lines = lines[len(lines)-40:]
		}
		fmt.Fprintf(w, "==> last lines of %s\n%s\n", f, strings.Join(lines, "\n"))
	}
}
