#!/usr/bin/env bash
# hack/tools/kwok/postbuild.sh BINARY OUTDIR (run by build.sh after building kwok).
#
# KWOK v0.8 has no stages built in: without any it refuses to start ("no stages found").
# This writes OUTDIR/stages.yaml, the stages KWOK v0.7 used when given none, from the
# kwok module's own files (kustomize/stage): node-initialize and node-heartbeat (KWOK
# keeps the Nodes' leases itself), pod-ready, pod-complete and pod-delete. The local
# stack passes it with --config (internal/localstack/kwok.go).
set -euo pipefail
out=$2
src=$(cd "$(dirname "$0")" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)
{
	for f in node/fast/node-initialize node/heartbeat/node-heartbeat pod/fast/pod-ready pod/fast/pod-complete pod/fast/pod-delete; do
		echo '---'
		cat "$src/kustomize/stage/$f.yaml"
	done
} >"$out/stages.yaml.tmp"
mv "$out/stages.yaml.tmp" "$out/stages.yaml"
