# make test: install the real peers if missing, then vet, unit (with -race),
# fuzz seeds, interop and netns tests. PQTLS_REQUIRE_PEERS=1 turns every
# "peer missing, skipping" into a failure (CI sets it).
#
# Test naming convention: TestInterop* need real peers (Node.js, Chromium,
# nginx, PostgreSQL, Prometheus...), TestNetns* need root and network
# namespaces. Both skip under -short.
GO       ?= go
PKGS     ?= ./...
TIMEOUT  ?= 20m
SHELL    := /bin/bash
export PQTLS_TEST_LOG_DIR ?= $(CURDIR)/.test-logs

.PHONY: test deps vet clean-logs unit fuzz-seed interop netns bench build demo

test: deps vet clean-logs unit fuzz-seed interop netns
	@scripts/test-summary.sh

clean-logs:
	@rm -rf $(PQTLS_TEST_LOG_DIR)

deps:
	bash scripts/test-deps.sh

build:
	$(GO) build -o bin/pqtls ./cmd/pqtls

vet:
	$(GO) vet $(PKGS)
	cd interop && $(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed on: $$out"; exit 1; fi

unit:
	@scripts/gotest.sh unit -race -short -count=1 -timeout $(TIMEOUT) $(PKGS)

fuzz-seed:
	@scripts/gotest.sh fuzz-seed -run '^Fuzz' -count=1 -timeout $(TIMEOUT) $(PKGS)

interop:
	@scripts/gotest.sh interop -run '^TestInterop' -count=1 -timeout $(TIMEOUT) $(PKGS)
	@cd interop && ../scripts/gotest.sh interop-module -run '^TestInterop' -count=1 -timeout $(TIMEOUT) ./...

netns:
	@scripts/gotest.sh netns -run '^TestNetns' -count=1 -timeout $(TIMEOUT) $(PKGS)

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

demo:
	$(GO) run ./cmd/pqtls demo
