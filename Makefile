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

.PHONY: test deps vet unit fuzz-seed interop netns bench build demo

test: deps vet unit fuzz-seed interop netns

deps:
	bash scripts/test-deps.sh

build:
	$(GO) build -o bin/pqtls ./cmd/pqtls

vet:
	$(GO) vet $(PKGS)
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed on: $$out"; exit 1; fi

unit:
	$(GO) test -race -short -count=1 -timeout $(TIMEOUT) $(PKGS)

fuzz-seed:
	$(GO) test -run '^Fuzz' -count=1 -timeout $(TIMEOUT) $(PKGS)

interop:
	$(GO) test -run '^TestInterop' -count=1 -timeout $(TIMEOUT) $(PKGS)

netns:
	$(GO) test -run '^TestNetns' -count=1 -timeout $(TIMEOUT) $(PKGS)

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

demo:
	$(GO) run ./cmd/pqtls demo
