#!/usr/bin/env bash
# The main command: replays the FAQ catalogue (harness/scenarios/) and prints a table; extra args go to `tcharness replay`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
# tcharness finds minilvb next to itself, so both are built.
cargo build --quiet --release -p tcharness -p minilvb
exec target/release/tcharness replay "$@"
