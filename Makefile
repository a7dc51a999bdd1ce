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

.PHONY: test deps vet clean-logs unit fuzz-seed interop netns bench build demo unit-go127

test: deps vet clean-logs unit fuzz-seed interop netns unit-go127
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

# Go 1.27 stage: the module builds with Go 1.26 (go.mod), while ML-DSA
# (crypto/mldsa, post-quantum certificates) needs Go 1.27. This stage runs the
# unit tests (-short) of the packages with Go 1.27 code, then the ML-DSA
# interop tests and the `pqtls certs dev` tests (cmd/pqtls) under
# GOTOOLCHAIN=$(GO127) (the go command downloads that toolchain once). If it cannot be had, the stage fails under PQTLS_REQUIRE_PEERS=1 and
# is skipped otherwise, saying so.
GO127             ?= go1.27.3
# The root package carries the ML-DSA authentication policy (auth_go127.go).
GO127_PKGS        ?= . ./devpki/... ./observe/... ./internal/wire/... ./scan/... ./tunnel/...
GO127_INTEROP_RUN ?= ^(TestInterop.*MLDSA|TestCertsDev)
GO127_INTEROP     ?= . ./tunnel/... ./scan/... ./observe/... ./cmd/pqtls/...

unit-go127:
	@mkdir -p $(PQTLS_TEST_LOG_DIR); \
	if GOTOOLCHAIN=$(GO127) $(GO) version >/dev/null 2>&1; then \
	  GOTOOLCHAIN=$(GO127) scripts/gotest.sh unit-go127 -race -short -count=1 -timeout 5m $(GO127_PKGS) && \
	  GOTOOLCHAIN=$(GO127) scripts/gotest.sh interop-go127 -run '$(GO127_INTEROP_RUN)' -count=1 -timeout 5m $(GO127_INTEROP); \
	else \
	  msg="Go toolchain $(GO127) unavailable (GOTOOLCHAIN=$(GO127) $(GO) version failed: check network access to the Go module proxy, or GOPROXY)"; \
	  if [ "$${PQTLS_REQUIRE_PEERS:-}" = 1 ]; then \
	    echo "--- FAIL: unit-go127 ($$msg)" >$(PQTLS_TEST_LOG_DIR)/unit-go127.log; \
	    echo "== unit-go127 FAILED: $$msg; PQTLS_REQUIRE_PEERS=1 needs it"; exit 1; \
	  fi; \
	  echo "--- SKIP: unit-go127 ($$msg)" >$(PQTLS_TEST_LOG_DIR)/unit-go127.log; \
	  echo "== unit-go127 SKIPPED: $$msg"; \
	fi
