#!/usr/bin/env bash
# Builds the real tools CAPT tests and runs against, from Go modules, once per version.
#
#   hack/tools/build.sh kube-apiserver etcd ...
#   hack/tools/build.sh tofu kube-apiserver+kube-controller-manager ...   (+: one after the other)
#
# Each tool has its own tools module under hack/tools/<name> (their dependency graphs
# conflict: kube-apiserver replaces every k8s.io staging module, provider-terraform pins
# older ones). Where a graph can take them, the tools modules require the versions CAPT's
# own go.mod has (k8s.io v0.36.3, golang.org/x, grpc, otel): the build cache then holds
# one compiled copy of those packages for every tool and for CAPT, instead of one per
# tool (docs/development.md, "Tools share compiled packages"). A binary is built into the user cache dir, keyed by tool, version and the
# hash of its go.mod/go.sum, and linked into bin/. A fresh clone on a machine that built
# it before only links; a fresh machine builds.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cache=${CAPT_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/capt/tools}
bindir=${CAPT_BIN_DIR:-$root/bin}

# name|version|package|extra ldflags (Kubernetes and Cluster API binaries built from a
# module carry no version unless stamped; Cluster API refuses an API server of v0.0.0).
# A tool with source of its own (eks-token-webhook: its version is aws-iam-authenticator's,
# whose verifier it serves) is the package of its tools module. kwok needs no stamp: its
# version is a constant in its source (sigs.k8s.io/kwok/pkg/consts.Version). aws-standin's
# version is that of hashicorp/aws, whose schema it serves (hack/tools/aws-standin).
tools_table() {
	cat <<'TABLE'
kube-apiserver|v1.36.3|k8s.io/kubernetes/cmd/kube-apiserver|-X k8s.io/component-base/version.gitVersion=v1.36.3 -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=36 -X k8s.io/component-base/version.gitTreeState=clean
etcd|v3.6.16|go.etcd.io/etcd/server/v3|
controller-gen|v0.21.0|sigs.k8s.io/controller-tools/cmd/controller-gen|
golangci-lint|v2.15.0|github.com/golangci/golangci-lint/v2/cmd/golangci-lint|
kube-controller-manager|v1.36.3|k8s.io/kubernetes/cmd/kube-controller-manager|-X k8s.io/component-base/version.gitVersion=v1.36.3 -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=36 -X k8s.io/component-base/version.gitTreeState=clean
capi-manager|v1.14.2|sigs.k8s.io/cluster-api/core|-X sigs.k8s.io/cluster-api/version.gitVersion=v1.14.2 -X sigs.k8s.io/cluster-api/version.gitMajor=1 -X sigs.k8s.io/cluster-api/version.gitMinor=14
provider-terraform|v0.21.2|github.com/upbound/provider-terraform/cmd/provider|
tofu|v1.12.6|github.com/opentofu/opentofu/cmd/tofu|-X github.com/opentofu/opentofu/version.dev=no
terraform|v1.5.7|github.com/hashicorp/terraform|
eks-token-webhook|v0.7.2|github.com/capt-dev/capt/hack/tools/eks-token-webhook|
kwok|v0.8.0|sigs.k8s.io/kwok/cmd/kwok|
aws-standin|v6.25.0|github.com/capt-dev/capt/hack/tools/aws-standin|
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
	# The key covers the module graph, the table line (package, version stamps) and the
	# tool's own source, if it has any (a change to it must rebuild; tests are not built).
	key=$( (cat "$dir/go.mod" "$dir/go.sum"; echo "$line"
		find "$dir" \( -name '*.go' ! -name '*_test.go' -o -name postbuild.sh \) -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum |
			sed "s|  $dir/|  |") | sha256sum | cut -c1-12)
	out=$cache/$name-$version-$key/$name
	mkdir -p "$(dirname "$out")" "$bindir"
	(
		# One builder at a time per tool: parallel make targets and test runs share the cache.
		exec 9>"$out.lock"
		flock 9
		if [[ ! -x $out ]]; then
			echo "building $name $version (once; cached in $(dirname "$out"))" >&2
			start=$(date +%s)
			# GOGC=400: the compiler and linker collect garbage less often (they keep a
			# few hundred MB more of the 24 GiB); a tool build is bound by their CPU, and
			# GOGC changes neither the binary nor the build cache's keys.
			(cd "$dir" && GOGC=400 CGO_ENABLED=0 go build -trimpath -ldflags "-s -w $ldflags" -o "$out.tmp" "$pkg")
			# A tool that needs more than its binary (aws-standin: the schema it serves)
			# makes it beside the binary, before the binary appears.
			if [[ -x $dir/postbuild.sh ]]; then
				"$dir/postbuild.sh" "$out.tmp" "$(dirname "$out")"
			fi
			mv "$out.tmp" "$out"
			echo "built $name in $(($(date +%s) - start))s" >&2
		fi
	)
	ln -sfn "$out" "$bindir/$name"
}

[[ $# -gt 0 ]] || { echo "usage: $0 TOOL..." >&2; exit 2; }
# Up to CAPT_TOOLS_JOBS builds at a time (2 by default), started in the order given: a
# build spends part of its time not computing (module downloads, the single-threaded
# link, the tail of a dependency chain), which the other build fills. Callers name the
# longest first. Tools joined by + build one after the other in one job:
# kube-apiserver+kube-controller-manager, whose second reuses the packages the first
# compiled (k8s.io/kubernetes), instead of compiling them again beside it. Every build is
# waited for; the first failure is the exit status.
build_chain() {
	local t
	for t in ${1//+/ }; do build_one "$t" || return; done
}
jobs=${CAPT_TOOLS_JOBS:-2}
rc=0
running=0
reap_one() {
	local status=0
	wait -n || status=$?
	((rc != 0)) || rc=$status
	running=$((running - 1))
}
for chain in "$@"; do
	((running < jobs)) || reap_one
	build_chain "$chain" &
	running=$((running + 1))
done
while ((running > 0)); do reap_one; done
exit "$rc"
