#!/usr/bin/env bash
# Builds the real tools CAPT tests and runs against, from Go modules, once per version.
#
#   hack/tools/build.sh kube-apiserver etcd ...
#
# Each tool has its own tools module under hack/tools/<name> (their dependency graphs
# conflict: kube-apiserver replaces every k8s.io staging module, provider-terraform pins
# older ones). A binary is built into the user cache dir, keyed by tool, version and the
# hash of its go.mod/go.sum, and linked into bin/. A fresh clone on a machine that built
# it before only links; a fresh machine builds.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cache=${CAPT_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/capt/tools}
bindir=${CAPT_BIN_DIR:-$root/bin}

# name|version|package|extra ldflags
tools_table() {
	cat <<'TABLE'
kube-apiserver|v1.36.3|k8s.io/kubernetes/cmd/kube-apiserver|
etcd|v3.6.16|go.etcd.io/etcd/server/v3|
controller-gen|v0.21.0|sigs.k8s.io/controller-tools/cmd/controller-gen|
golangci-lint|v2.15.0|github.com/golangci/golangci-lint/v2/cmd/golangci-lint|
TABLE
}

build_one() {
	local name=$1 line version pkg ldflags dir key out
	line=$(tools_table | grep "^${name}|" || true)
	if [[ -z $line ]]; then
		echo "build.sh: unknown tool $name (known: $(tools_table | cut -d'|' -f1 | tr '\n' ' '))" >&2
		return 2
	fi
	IFS='|' read -r _ version pkg ldflags <<<"$line"
	dir=$root/hack/tools/$name
	key=$(cat "$dir/go.mod" "$dir/go.sum" | sha256sum | cut -c1-12)
	out=$cache/$name-$version-$key/$name
	mkdir -p "$(dirname "$out")" "$bindir"
	(
		# One builder at a time per tool: parallel make targets and test runs share the cache.
		exec 9>"$out.lock"
		flock 9
		if [[ ! -x $out ]]; then
			echo "building $name $version (once; cached in $(dirname "$out"))" >&2
			start=$(date +%s)
			(cd "$dir" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w $ldflags" -o "$out.tmp" "$pkg")
			mv "$out.tmp" "$out"
			echo "built $name in $(($(date +%s) - start))s" >&2
		fi
	)
	ln -sfn "$out" "$bindir/$name"
}

[[ $# -gt 0 ]] || { echo "usage: $0 TOOL..." >&2; exit 2; }
for t in "$@"; do build_one "$t"; done
