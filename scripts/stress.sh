#!/usr/bin/env bash
# Flake stress: the catalogue replayed RUNS times at `nice -n 19` while two processes keep both cores busy,
# then once more with --jobs 8. Every run that is not all green is kept under $OUT for inspection.
#
#   scripts/stress.sh                 # 20 runs, local provider
#   RUNS=5 RUNTIME=docker scripts/stress.sh
#   TCHARNESS=target/release/tcharness scripts/stress.sh
#
# Prints one line per run and a summary; exits 1 if any run had a difference or an error.
set -euo pipefail

RUNS="${RUNS:-20}"
RUNTIME="${RUNTIME:-local}"
cd "$(dirname "$0")/.."
if [[ -z "${TCHARNESS:-}" ]]; then
  cargo build -q -p tcharness -p minilvb
  TCHARNESS=target/debug/tcharness
fi
OUT="$(mktemp -d "${TMPDIR:-/tmp}/tcharness-stress.XXXXXX")"
# A copy: a rebuild during the stress must not change the binary under test. minilvb is found beside it.
cp "$TCHARNESS" "$OUT/tcharness"
[[ -x "$(dirname "$TCHARNESS")/minilvb" ]] && cp "$(dirname "$TCHARNESS")/minilvb" "$OUT/minilvb"
TCHARNESS="$OUT/tcharness"
# The catalogue and its snapshots as they were at the start, for the same reason.
cp -r harness/scenarios "$OUT/scenarios"
cp -r harness/snapshots "$OUT/snapshots"

spinners=()
cleanup() {
  for pid in "${spinners[@]}"; do kill "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM
for _ in 1 2; do
  (while :; do :; done) &
  spinners+=("$!")
done

failed=0
run() {
  local name="$1"; shift
  local log="$OUT/$name.txt"
  local started=$SECONDS
  if nice -n 19 "$TCHARNESS" replay --runtime "$RUNTIME" --snapshots "$OUT/snapshots" "$@" \
    "$OUT/scenarios" >"$log" 2>&1; then
    echo "$name: green ($((SECONDS - started)) s) $(tail -n 1 "$log")"
    rm -f "$log"
  else
    failed=$((failed + 1))
    echo "$name: DIFFERENT ($((SECONDS - started)) s) $(tail -n 1 "$log"); kept in $log"
  fi
}

for i in $(seq 1 "$RUNS"); do
  run "run-$i"
done
run "jobs-8" --jobs 8

echo "stress: $failed of $((RUNS + 1)) runs differed (both cores busy, nice 19, runtime $RUNTIME)"
[[ "$failed" -eq 0 ]] || exit 1
rm -rf "$OUT/tcharness" "$OUT/minilvb" "$OUT/scenarios" "$OUT/snapshots"
rmdir "$OUT" 2>/dev/null || true
