package image

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/tarball"
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
	loaded, err := tarball.ImageFromPath(path, nil)
	if err != nil {
		t.Fatal(err)
	}
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
