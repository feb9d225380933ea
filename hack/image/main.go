// Command image builds CAPT's container image into a tarball (make image).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/capt-dev/capt/internal/image"
)

func main() {
	o := image.Options{OS: "linux", Arch: runtime.GOARCH}
	flag.StringVar(&o.Binary, "binary", "bin/capt-linux", "the static capt binary")
	flag.StringVar(&o.CACertificates, "ca-certificates", "/etc/ssl/certs/ca-certificates.crt", "the CA bundle to include")
	flag.StringVar(&o.Tag, "tag", "ghcr.io/capt-dev/capt:dev", "the image's name")
	flag.StringVar(&o.Arch, "arch", o.Arch, "the binary's architecture")
	out := flag.String("out", "out/capt-image.tar", "the tarball to write")
	flag.Parse()
	img, err := image.Build(o)
	if err == nil {
		err = os.MkdirAll(filepath.Dir(*out), 0o750)
	}
	if err == nil {
		err = image.Write(img, o.Tag, *out)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}
