# CAPT's developer entry points. `make dev` and `make test` work on a fresh machine:
# every tool is built from Go modules into the user cache once and linked into bin/.

SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

BIN   := $(CURDIR)/bin
TOOLS := hack/tools/build.sh
# envtest looks for kube-apiserver and etcd here.
export KUBEBUILDER_ASSETS := $(BIN)

# -ldflags=-w: test binaries without DWARF, linked about a sixth faster (.ci/run).
GO_TEST_FLAGS ?= -race -count=1 -ldflags=-w

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

# Every real part the local stack and the end-to-end test run (eks-token-webhook: the
# stack's EKS mode, EKS's token authentication with aws-iam-authenticator's verifier;
# kwok: the kubelet of the local node groups' fake Nodes; aws-standin: hashicorp/aws's
# schema served to OpenTofu, for the shipped templates/aws modules). Terraform 1.5.7 is only for
# `capt dev --engine=terraform`: no test runs it, so make test does not build it.
# Longest build first (hack/tools/build.sh builds two at a time, in this order), and
# kube-controller-manager right after kube-apiserver in the same job (+), reusing the
# packages it compiled.
STACK_TOOLS := kube-apiserver+kube-controller-manager tofu kwok provider-terraform capi-manager etcd eks-token-webhook aws-standin
DEV_TOOLS   := $(STACK_TOOLS) terraform
# What the packages without the whole stack need: envtest's two, and the token webhook
# internal/localstack's EKS-mode test runs.
UNIT_TOOLS  := kube-apiserver etcd eks-token-webhook

# DEV_ARGS are passed to `capt dev`: make dev DEV_ARGS=--delete
DEV_ARGS ?=

.PHONY: dev
dev: dev-tools build ## run the whole stack locally and create a Cluster on it (capt dev; DEV_ARGS=--delete)
	$(BIN)/capt dev $(DEV_ARGS)

.PHONY: dev-eks
dev-eks: dev-tools build ## as make dev, in EKS mode: CAPT builds the kubeconfig from endpoint, CA and an EKS token it mints (capt dev --eks)
	$(BIN)/capt dev --eks $(DEV_ARGS)

.PHONY: dev-aws
dev-aws: dev-tools build ## as make dev-eks, with the clusterctl eks flavor and the shipped templates/aws modules against the AWS provider stand-in (capt dev --aws; docs/aws.md)
	$(BIN)/capt dev --aws $(DEV_ARGS)

# The EKS token webhook is a module of its own (aws-iam-authenticator brings aws-sdk-go v1,
# kept out of CAPT's go.mod): its tests run there.
# test/move runs two whole stacks one after the other, and provider-terraform always binds
# 127.0.0.1:8080: it runs alone, after the packages test/e2e is among.
# bin/capt (build): the stacks' provider-terraform runs it as `capt dev-node` for the
# local node group module's provisioners.
# test/e2e and test/reliability come first on go test's command line: go test starts the
# packages' test binaries in that order, and they are the longest; the others run beside
# them. TEST_P of them run at a time (go test's -p; its default is the number of cores,
# 2): most of a package's time is waiting for API servers and the stack, not computing.
# With CAPT_SOAK=1 in the environment (make test CAPT_SOAK=1, as .ci/run does),
# test/reliability tries every fault as often as make test-soak does.
TEST_P ?= 3
FIRST  := ./test/e2e ./test/reliability
.PHONY: test
test: stack-tools build ## run every test on a real kube-apiserver and etcd, and the e2e and move tests on the whole stack
	go test -p $(TEST_P) $(GO_TEST_FLAGS) $(FIRST) $$(go list ./... | grep -v -e '/test/move$$' -e '/test/e2e$$' -e '/test/reliability$$')
	go test $(GO_TEST_FLAGS) -timeout 30m ./test/move/
	cd hack/tools/eks-token-webhook && go test $(GO_TEST_FLAGS) ./...
	cd hack/tools/aws-standin && go test $(GO_TEST_FLAGS) ./...

.PHONY: test-unit
test-unit: unit-tools ## the fast inner loop: every test but the whole-stack packages (test/e2e, test/move) and the AWS modules' (test/awsmodules: OpenTofu), on a real kube-apiserver and etcd
	go test -p $(TEST_P) $(GO_TEST_FLAGS) $$(go list ./... | grep -v -e '/test/move$$' -e '/test/e2e$$' -e '/test/awsmodules$$')
	cd hack/tools/eks-token-webhook && go test $(GO_TEST_FLAGS) ./...

.PHONY: test-soak
test-soak: test-tools ## the reliability suite with every fault tried more often (every crash point, 3 rounds, 50 flips; about 8 minutes)
	CAPT_SOAK=1 go test $(GO_TEST_FLAGS) -timeout 30m ./test/reliability/

.PHONY: reliability-report
reliability-report: test-tools ## run test-soak and rewrite the table of docs/reliability.md from it
	CAPT_SOAK=1 CAPT_RELIABILITY_REPORT=$(CURDIR)/docs/reliability.md go test $(GO_TEST_FLAGS) -timeout 30m -v ./test/reliability/ | grep -v '^[{=]'

.PHONY: test-tools
test-tools: ## build kube-apiserver and etcd into bin/ if missing
	$(TOOLS) kube-apiserver etcd

.PHONY: stack-tools
stack-tools: ## build every tool the whole-stack tests run into bin/ if missing (one at a time: 2 cores)
	$(TOOLS) $(STACK_TOOLS)

.PHONY: dev-tools
dev-tools: ## build every tool of the local stack, Terraform 1.5.7 included (capt dev --engine=terraform), into bin/ if missing
	$(TOOLS) $(DEV_TOOLS)

# Every tool .ci/run needs (the stack's, the linter, controller-gen), built in one call
# so that two build at a time from the start (on a machine with them built: links only).
# The tools modules share k8s.io v0.36.3 and its dependencies' versions with CAPT's own
# go.mod (docs/development.md, "Tools share compiled packages"), so whichever builds
# k8s.io/api, client-go and apimachinery first compiles them for all. kube-apiserver
# starts first and golangci-lint, which shares none of them, beside it: the others start
# once the API server's build has compiled them, instead of compiling them beside it.
.PHONY: ci-tools
ci-tools: ## build every tool .ci/run runs into bin/ if missing (two at a time)
	$(TOOLS) kube-apiserver+kube-controller-manager golangci-lint tofu capi-manager kwok provider-terraform etcd controller-gen eks-token-webhook aws-standin

.PHONY: unit-tools
unit-tools: ## build the tools of make test-unit into bin/ if missing
	$(TOOLS) $(UNIT_TOOLS)

.PHONY: bench
bench: test-tools build ## scale figures at 10, 100 and 1000 clusters (about 25 minutes); rewrites the scale section of docs/benchmarks.md
	go run ./bench/scale -n $(BENCH_N) -rest $(BENCH_REST) -docs docs/benchmarks.md

BENCH_N    ?= 10,100,1000
BENCH_REST ?= 5m

.PHONY: bench-wta
bench-wta: test-tools ## WorkspaceTemplateApply figures: writes at rest and Ready delay for 100 applies (5 minutes)
	go run ./bench/wta -n 100 -rest 5m

.PHONY: bench-rollout
bench-rollout: test-tools ## staged rollout figures: a template change reaching 100 applies, at once and with maxConcurrent 10, 2-s simulated applies (about 1 minute)
	go run ./bench/wta -n 100 -rollout 10 -apply-delay 2s

.PHONY: bench-controlplane
bench-controlplane: test-tools ## CAPTControlPlane figures: endpoint delay and cost at rest for 50 clusters (5 minutes)
	go run ./bench/controlplane -n 50 -rest 5m

.PHONY: bench-machinepool
bench-machinepool: test-tools ## CAPTMachinePool figures: Workspace Ready to Nodes Ready, writes during creation and at rest for 50 pools (about 4 minutes); rewrites its section of docs/benchmarks.md
	go run ./bench/machinepool -n 50 -rest 2m -docs docs/benchmarks.md

# EKS token refresh at 1,000 clusters: the interval is shortened from the default 10m to
# 2m (the bench scales its rates back), resyncs are moved out of the window (1h).
.PHONY: bench-eks
bench-eks: test-tools ## EKS token refresh figures: CPU per mint, then 1000 clusters refreshing every 2m for 6m at rest (about 9 minutes)
	go test -run '^$$' -bench Mint -benchtime 20000x -count 3 ./internal/ekstoken/
	go run ./bench/controlplane -n 1000 -eks-refresh 2m -rest 6m -sync-period 1h

# MUTATE_ARGS are passed to hack/mutate: make mutate MUTATE_ARGS='-only ^wta-'
MUTATE_ARGS ?=

.PHONY: mutate
mutate: test-tools ## break each promise of hack/mutate/mutations.txt and check a test fails (206 mutations compiled into one test binary per package, 4 at a time, on one shared API server per worker: see docs/reliability.md)
	go run ./hack/mutate $(MUTATE_ARGS)

.PHONY: build
build: ## build bin/capt
	CGO_ENABLED=0 go build -trimpath -o $(BIN)/capt ./cmd/capt

# A release's tag (required): its cluster templates and aws-workspacetemplates.yaml fetch
# the modules of templates/aws at it, and its image defaults to it.
RELEASE_VERSION ?=
RELEASE_IMAGE   ?= ghcr.io/capt-dev/capt:$(RELEASE_VERSION)

.PHONY: release-manifests
release-manifests: ## clusterctl release files in out/: metadata.yaml, both providers' components, cluster templates, aws-workspacetemplates.yaml (RELEASE_VERSION=v0.1.0, RELEASE_IMAGE=...)
	go run ./hack/release -out out -version "$(RELEASE_VERSION)" -image "$(RELEASE_IMAGE)"

IMAGE_TAG ?= ghcr.io/capt-dev/capt:dev

.PHONY: image
image: ## the manager's container image, without a container engine, as out/capt-image.tar (IMAGE_TAG=...; docker/podman load -i)
	CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags=-s -o $(BIN)/capt-linux ./cmd/capt
	go run ./hack/image -binary $(BIN)/capt-linux -tag $(IMAGE_TAG) -out out/capt-image.tar

.PHONY: generate
generate: ## regenerate deepcopy code and CRDs from the API types
	$(TOOLS) controller-gen
	$(BIN)/controller-gen object:headerFile=hack/boilerplate.go.txt paths=./api/...
	rm -f config/crd/bases/*.yaml
	$(BIN)/controller-gen crd paths=./api/... output:crd:artifacts:config=config/crd/bases
	$(BIN)/controller-gen rbac:roleName=capt-manager-role paths=./internal/... output:rbac:artifacts:config=config/rbac
	$(BIN)/controller-gen rbac:roleName=capt-manager-role $(INFRASTRUCTURE_PATHS) output:rbac:artifacts:config=config/infrastructure/rbac
	$(BIN)/controller-gen rbac:roleName=capt-manager-role $(CONTROLPLANE_PATHS) output:rbac:artifacts:config=config/controlplane/rbac
	rm -f charts/capt/crds/*.yaml
	cp config/crd/bases/*.yaml charts/capt/crds/
	cp config/rbac/role.yaml config/rbac/common/aggregated_role.yaml charts/capt/files/

# The packages whose RBAC markers make each clusterctl provider's role.
INFRASTRUCTURE_PATHS := paths=./internal/manager paths=./internal/crdgate paths=./internal/controller/captcluster paths=./internal/controller/machinepool paths=./internal/controller/nodegroupbootstrap paths=./internal/controller/workspaceapply paths=./internal/controller/workspacetemplate
CONTROLPLANE_PATHS   := paths=./internal/manager paths=./internal/crdgate paths=./internal/controller/controlplane

.PHONY: verify-generate
verify-generate: generate ## fail when generated files differ from what is committed
	@if ! git diff --quiet -- api config charts || [[ -n "$$(git ls-files --others --exclude-standard -- api config charts)" ]]; then \
		git diff --stat -- api config charts; git ls-files --others --exclude-standard -- api config charts; \
		echo "generated files are stale: run 'make generate' and commit the result"; exit 1; fi

# go vet and golangci-lint in the configuration of make build and make image
# (CGO_ENABLED=0, -trimpath): the dependencies they compile for their export data (go vet
# itself; golangci-lint through go list -export) are then the ones those builds link. On
# an empty build cache golangci-lint took 356 s in the default configuration, 76 s in this one.
NORACE_ENV := CGO_ENABLED=0 GOFLAGS=-trimpath
.PHONY: lint
lint: ## go vet and golangci-lint
	$(TOOLS) golangci-lint
	$(NORACE_ENV) go vet ./...
	$(NORACE_ENV) $(BIN)/golangci-lint run ./...
	cd hack/tools/aws-standin && $(NORACE_ENV) go vet ./... && $(NORACE_ENV) $(BIN)/golangci-lint run ./...

.PHONY: verify
verify: verify-generate lint ## every check CI runs besides the tests

.PHONY: clean
clean: ## remove bin/ links (the tool cache stays)
	rm -rf $(BIN)
