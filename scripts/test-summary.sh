#!/usr/bin/env bash
# Totals the test logs of `make test` (see scripts/gotest.sh) into one line.
set -uo pipefail
dir=${PQTLS_TEST_LOG_DIR:-.test-logs}
count() { cat "$dir"/*.log 2>/dev/null | grep -cE "^\s*--- $1" || true; }
passed=$(count PASS)
failed=$(count FAIL)
skipped=$(count SKIP)
echo "summary: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
