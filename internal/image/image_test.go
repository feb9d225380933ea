package image

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// TestImage builds an image around a stand-in binary, writes it as a tarball, reads it
// back and checks what a cluster admission policy would: a non-root user, the
// entrypoint, and a file system with nothing but the binary, certificates and passwd.
func TestImage(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "capt")
	certs := filepath.Join(dir, "ca.crt")
	_ = os.WriteFile(bin, []byte("\x7fELF stand-in"), 0o600)
	_ = os.WriteFile(certs, []byte("-----BEGIN CERTIFICATE-----\n"), 0o600)
	img, err := Build(Options{Binary: bin, CACertificates: certs, OS: "linux", Arch: "amd64"})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "image.tar")
	if err := Write(img, "ghcr.io/capt-dev/capt:test", path); err != nil {
		t.Fatal(err)
	}
	loaded := readArchive(t, path, "ghcr.io/capt-dev/capt:test")
	cfg, err := loaded.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Config.User != "65532:65532" || len(cfg.Config.Entrypoint) != 1 || cfg.Config.Entrypoint[0] != "/capt" || cfg.OS != "linux" {
		t.Errorf("config: user %q, entrypoint %v, os %q", cfg.Config.User, cfg.Config.Entrypoint, cfg.OS)
	}
	layers, err := loaded.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers %d: %v", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var files []string
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			files = append(files, h.Name)
			if h.Uid != 0 || (h.Name == "capt" && h.Mode != 0o755) {
				t.Errorf("%s: uid %d mode %o", h.Name, h.Uid, h.Mode)
			}
		}
	}
	want := []string{"etc/passwd", "etc/group", "etc/ssl/certs/ca-certificates.crt", "capt"}
	if len(files) != len(want) {
		t.Errorf("files %v, want %v (no shell, nothing else)", files, want)
	}
	// The same inputs give the same image.
	again, _ := Build(Options{Binary: bin, CACertificates: certs, OS: "linux", Arch: "amd64"})
	d1, _ := img.Digest()
	d2, _ := again.Digest()
	if d1 != d2 {
		t.Errorf("rebuild changed the digest: %s then %s", d1, d2)
	}
}

// readArchive unpacks an OCI archive and returns the image named tag from its index.
func readArchive(t *testing.T, path, tag string) v1.Image {
	t.Helper()
	dir := t.TempDir()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		target := filepath.Join(dir, filepath.FromSlash(h.Name))
		if h.Typeflag == tar.TypeDir {
			_ = os.MkdirAll(target, 0o750)
			continue
		}
		_ = os.MkdirAll(filepath.Dir(target), 0o750)
		data, _ := io.ReadAll(tr)
		if err := os.WriteFile(target, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	index, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatalf("not an OCI layout: %v", err)
	}
	manifest, err := index.IndexManifest()
	if err != nil || len(manifest.Manifests) != 1 {
		t.Fatalf("index: %v, %d manifests", err, len(manifest.Manifests))
	}
	d := manifest.Manifests[0]
	if d.Annotations["org.opencontainers.image.ref.name"] != tag || d.MediaType != types.OCIManifestSchema1 {
		t.Errorf("manifest %s annotations %v", d.MediaType, d.Annotations)
	}
	img, err := index.Image(d.Digest)
	if err != nil {
		t.Fatal(err)
	}
	return img
}
