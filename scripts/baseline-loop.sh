#!/usr/bin/env bash
# An accepted baseline of a backend other than minilvb, replayed RUNS times in a row: every run must be
# all green with 0 differences. Accepts once into a fresh directory, then replays against it.
#
#   scripts/baseline-loop.sh                                  # the PHP fixture, 10 runs, local provider
#   BACKEND=php:/path/to/live_demo_service RUNTIME=docker RUNS=5 scripts/baseline-loop.sh
#   TCHARNESS=target/release/tcharness scripts/baseline-loop.sh
#
# Prints the wall time of each run and a summary; exits 1 if any run differed or failed.
set -euo pipefail

RUNS="${RUNS:-10}"
RUNTIME="${RUNTIME:-local}"
cd "$(dirname "$0")/.."
BACKEND="${BACKEND:-php:$PWD/harness/tests/fixtures/php-v1}"
if [[ -z "${TCHARNESS:-}" ]]; then
  cargo build -q -p tcharness
  TCHARNESS=target/debug/tcharness
fi
OUT="$(mktemp -d "${TMPDIR:-/tmp}/tcharness-baseline.XXXXXX")"
replay() { "$TCHARNESS" replay --runtime "$RUNTIME" --backend "$BACKEND" --snapshots "$OUT/snapshots" "$@"; }

replay --accept >"$OUT/accept.txt" 2>&1 || { cat "$OUT/accept.txt"; echo "accepting the baseline failed" >&2; exit 1; }
echo "baseline: $(tail -n 1 "$OUT/accept.txt")"
failed=0
for i in $(seq "$RUNS"); do
  start=$(date +%s.%N)
  if replay >"$OUT/run-$i.txt" 2>&1; then
    verdict="0 differences"
  else
    verdict="DIFFERS (kept in $OUT/run-$i.txt)"
    failed=$((failed + 1))
  fi
  printf 'run %2d: %5.2f s  %s  (%s)\n' "$i" "$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')" "$verdict" "$(tail -n 1 "$OUT/run-$i.txt")"
done
echo "$RUNS runs, $failed with a difference"
[[ "$failed" == 0 ]] && rm -rf "$OUT"
[[ "$failed" == 0 ]]
