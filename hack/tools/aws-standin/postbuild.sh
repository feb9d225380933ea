#!/usr/bin/env bash
# Run by hack/tools/build.sh after building the stand-in: extracts the schema of every
# hashicorp/aws version it serves (schema/source.go: 6.25.0 and the modules' floor,
# 5.33.0) from the pinned npm packages (fetched with npm pack, integrity checked), beside
# the binary, where it reads the one it plays at every start.
#   postbuild.sh BINARY CACHE_DIR
set -euo pipefail
"$1" extract -dir "$2"
