package localstack

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// The annotation that makes a Node one of the stack's fake worker Nodes: KWOK manages
// only Nodes that carry it (sets them Ready, keeps their heartbeat and lease), so that a
// real Node, if one ever registered, is left to its kubelet. `capt dev-node` (internal/
// devnode) creates Nodes with it for templates/local's node group module.
const (
	KWOKNodeAnnotation      = "kwok.x-k8s.io/node"
	KWOKNodeAnnotationValue = "fake"
)

// kwokName is KWOK's binary in bin/ and its process's name.
const kwokName = "kwok"

// startKWOK runs KWOK (sigs.k8s.io/kwok), which plays the kubelet of every Node with
// the KWOK annotation: the local node groups' Nodes turn Ready without any machine.
func (s *Stack) startKWOK(ctx context.Context) error {
	work := filepath.Join(s.DataDir, kwokName)
	if err := os.MkdirAll(work, 0o700); err != nil {
		return fmt.Errorf("creating KWOK's directory: %w", err)
	}
	// Without an address KWOK serves nothing, and nothing would say when it is up: its
	// server starts only once it has reached the API server and started its controllers,
	// so /healthz answering means it manages Nodes.
	port, err := FreePort()
	if err != nil {
		return err
	}
	// KWOK v0.8 has no stages of its own: hack/tools/kwok/postbuild.sh writes those v0.7
	// used by default beside the binary, from KWOK's module.
	bin, err := filepath.EvalSymlinks(filepath.Join(s.BinDir, kwokName))
	if err != nil {
		return fmt.Errorf("kwok not found in %s: run `make dev`, which builds it: %w", s.BinDir, err)
	}
	stages := filepath.Join(filepath.Dir(bin), "stages.yaml")
	if _, err := os.Stat(stages); err != nil {
		return fmt.Errorf("KWOK's stages (hack/tools/kwok/postbuild.sh writes them when it builds kwok): %w", err)
	}
	p, err := s.startProcess(kwokName, []string{
		"--config=" + stages,
		// KWOK falls back to the in-cluster configuration, silently, when this file is
		// missing: it is always there (StartAPIServer writes it).
		"--kubeconfig=" + s.Kubeconfig,
		"--manage-nodes-with-annotation-selector=" + KWOKNodeAnnotation + "=" + KWOKNodeAnnotationValue,
		"--server-address=127.0.0.1:" + port,
	}, work, []string{
		// KWOK loads <work dir>/kwok.yaml when it exists, ~/.kwok by default: not the
		// user's configuration.
		"KWOK_WORKDIR=" + work,
	})
	if err != nil {
		return err
	}
	return p.waitHealthy(ctx, "http://127.0.0.1:"+port+"/healthz")
}
