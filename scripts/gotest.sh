#!/usr/bin/env bash
# Runs one `go test` stage of `make test` verbosely into a log file and prints
# what a person needs: each package's result, skipped tests with their reason,
# and the full output of anything that failed.
#
#   scripts/gotest.sh STAGE [go test flags and packages...]
#
# Logs go to $PQTLS_TEST_LOG_DIR (default .test-logs/STAGE.log);
# scripts/test-summary.sh totals them.
set -uo pipefail
stage=$1
shift
dir=${PQTLS_TEST_LOG_DIR:-.test-logs}
mkdir -p "$dir"
log=$dir/$stage.log
echo "== $stage: go test $*"
start=$(date +%s)
go test -v "$@" >"$log" 2>&1
rc=$?
grep -E '^(ok|FAIL|---)\s' "$log" | grep -v -- '--- PASS' || true
# Skips under -short (the unit stage) are by design; elsewhere show each
# skipped test with its reason (printed just before the SKIP line).
if [ "$stage" != unit ]; then
  grep -E -B1 '^\s*--- SKIP' "$log" | grep -vE '^(--|=== RUN.*)$' | sed 's/^/   /' | head -60 || true
fi
if [ $rc -ne 0 ]; then
  echo "== $stage FAILED (exit $rc); failing tests and their output:"
  grep -E '^\s*--- FAIL' "$log" || true
  # The output of each failing test (go test -v prints it under its RUN line).
  awk '/^=== RUN/{buf=""} {buf=buf $0 "\n"} /^\s*--- FAIL/{printf "%s", buf; buf=""}' "$log" | tail -300
  grep -E '^(panic:|fatal error:)' -A30 "$log" | head -60 || true
  # Build and vet failures have no --- FAIL line: show the compiler's words.
  if grep -qE '\[(build|setup) failed\]' "$log"; then
    echo "== build failures:"
    grep -E '^(# |\S+\.go:[0-9]+(:[0-9]+)?: )' "$log" | head -60 || true
  fi
  # No failing test, panic or build error (go missing, a bad flag, a test
  # binary that exits early): the log's first and last lines say why.
  if ! grep -qE '^(\s*--- FAIL|panic:|fatal error:)|\[(build|setup) failed\]' "$log"; then
    echo "== no failing test found; start and end of $log:"
    head -5 "$log"
    echo "   ..."
    tail -10 "$log"
  fi
fi
echo "== $stage: exit $rc in $(( $(date +%s) - start ))s (log: $log)"
exit $rc
