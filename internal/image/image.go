// Package image builds CAPT's container image without a container engine, with
// go-containerregistry (the library ko is built on): one layer holding the static
// capt binary, CA certificates and a passwd file naming the non-root user, no shell and
// no package manager, as distroless images are; written as a tarball any runtime loads.
package image

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	specsv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// NonRoot is the user and group the image runs as (distroless's nonroot).
const NonRoot = 65532

// Options say what goes into the image.
type Options struct {
	// Binary is the static capt binary (CGO_ENABLED=0).
	Binary string
	// CACertificates is a PEM bundle for TLS to the API server and the cloud.
	CACertificates string
	// Tag names the image in the tarball, e.g. ghcr.io/capt-dev/capt:v0.1.0.
	Tag string
	// Platform is the binary's OS and architecture.
	OS, Arch string
}

// Build returns the image.
func Build(o Options) (v1.Image, error) {
	binary, err := os.ReadFile(o.Binary)
	if err != nil {
		return nil, fmt.Errorf("reading the binary: %w", err)
	}
	certs, err := os.ReadFile(o.CACertificates)
	if err != nil {
		return nil, fmt.Errorf("reading CA certificates: %w", err)
	}
	files := []file{
		{"etc/passwd", []byte(fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", NonRoot, NonRoot)), 0o644},
		{"etc/group", []byte(fmt.Sprintf("root:x:0:\nnonroot:x:%d:\n", NonRoot)), 0o644},
		{"etc/ssl/certs/ca-certificates.crt", certs, 0o644},
		{"capt", binary, 0o755},
	}
	layer, err := tarLayer(files)
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(mutate.MediaType(mutate.ConfigMediaType(empty.Image, types.OCIConfigJSON), types.OCIManifestSchema1), layer)
	if err != nil {
		return nil, fmt.Errorf("adding the layer: %w", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = o.OS, o.Arch
	cfg.Config.User = fmt.Sprintf("%d:%d", NonRoot, NonRoot)
	cfg.Config.Entrypoint = []string{"/capt"}
	cfg.Config.Cmd = []string{"manager"}
	cfg.Config.WorkingDir = "/"
	cfg.Config.Env = []string{"SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"}
	cfg.Config.Labels = map[string]string{"org.opencontainers.image.source": "https://github.com/capt-dev/capt"}
	return mutate.ConfigFile(img, cfg)
}

// Write writes img as an OCI image layout in a tar file (an OCI archive), named tag:
// `podman load`, `docker load` (25+), `skopeo copy oci-archive:` and `crane push` read it.
func Write(img v1.Image, tag, path string) error {
	if _, err := name.NewTag(tag); err != nil {
		return fmt.Errorf("image tag %q: %w", tag, err)
	}
	dir, err := os.MkdirTemp("", "capt-oci-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("writing the OCI layout: %w", err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{specsv1.AnnotationRefName: tag})); err != nil {
		return fmt.Errorf("writing the OCI layout: %w", err)
	}
	return tarDir(dir, path)
}

type file struct {
	path string
	data []byte
	mode int64
}

// tarLayer makes one layer of files, owned by root, with a fixed time so that a
// rebuild of the same binary gives the same image.
func tarLayer(files []file) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	epoch := time.Unix(0, 0)
	dirs := map[string]bool{}
	for _, f := range files {
		for dir := parent(f.path); dir != ""; dir = parent(dir) {
			if dirs[dir] {
				break
			}
			dirs[dir] = true
		}
	}
	for _, dir := range sortedDirs(dirs) {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir + "/", Mode: 0o755, ModTime: epoch}); err != nil {
			return nil, err
		}
	}
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.path, Mode: f.mode, Size: int64(len(f.data)), ModTime: epoch}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
		tarball.WithMediaType(types.OCILayer))
}
