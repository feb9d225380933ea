package release

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
)

// LocalFlavor turns templates/local (what `capt dev` applies) into clusterctl's local
// flavor: names from ${CLUSTER_NAME}, the namespace from ${NAMESPACE} (clusterctl's
// target namespace; the Secret local-apiserver that `capt dev` writes must be there), and
// Terraform's own ${...} escaped as $${...} so that clusterctl leaves it to Terraform.
func LocalFlavor(root string) ([]byte, error) {
	var out bytes.Buffer
	for i, name := range []string{"workspacetemplates.yaml", "cluster.yaml"} {
		data, err := os.ReadFile(filepath.Join(root, "templates", "local", name)) //nolint:gosec // the checkout's own file
		if err != nil {
			return nil, fmt.Errorf("reading templates/local/%s: %w", name, err)
		}
		if i > 0 {
			out.WriteString("---\n")
		}
		out.Write(localToFlavor(data))
	}
	return out.Bytes(), nil
}

var (
	terraformInterpolation = regexp.MustCompile(`\$\{`)
	// The names of templates/local's objects: the Cluster's (local) and its templates'
	// (local-vpc, local-controlplane, local-nodegroup), each followed by the end of the
	// line, ',' or '}', so that local-apiserver (the Secret `capt dev` writes) keeps its.
	localNames       = regexp.MustCompile(`\blocal(-vpc|-controlplane|-nodegroup)?\b(\s*[,}]|$)`)
	captDevNamespace = regexp.MustCompile(`\bcapt-dev\b`)
)

func localToFlavor(data []byte) []byte {
	data = terraformInterpolation.ReplaceAllLiteral(data, []byte("$${"))
	var out [][]byte
	for _, line := range bytes.Split(data, []byte("\n")) {
		trimmed := bytes.TrimSpace(line)
		if bytes.HasPrefix(trimmed, []byte("#")) {
			continue
		}
		// Only object names and references: "name: local", "{name: local-vpc}",
		// "name: local-nodegroup".
		if bytes.Contains(line, []byte("name: local")) || bytes.Contains(line, []byte("name: local-")) {
			line = localNames.ReplaceAll(line, []byte("$${CLUSTER_NAME}$1$2"))
		}
		line = captDevNamespace.ReplaceAll(line, []byte("$${NAMESPACE}"))
		out = append(out, line)
	}
	return bytes.Join(out, []byte("\n"))
}
