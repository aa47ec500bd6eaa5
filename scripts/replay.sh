#!/usr/bin/env bash
# The main command: replays the FAQ catalogue (scenarios/) and prints a table; extra args go to `tcharness replay`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cargo run --quiet --release -p harness --bin tcharness -- replay "$@"
