#!/usr/bin/env bash
# Run by hack/tools/build.sh after building the stand-in: extracts hashicorp/aws 6.25.0's
# schema from the pinned npm package (fetched with npm pack, integrity checked) beside
# the binary, where it reads it at every start.
#   postbuild.sh BINARY CACHE_DIR
set -euo pipefail
"$1" extract -out "$2/schema.json.gz"
