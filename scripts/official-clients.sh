#!/usr/bin/env bash
# A virtualenv with Tencent's own client libraries (harness/tests/official_clients/requirements.txt) under
# target/, made again when the requirements change; prints its interpreter. Needs python3 with venv.
set -euo pipefail
cd "$(dirname "$0")/.."
req=harness/tests/official_clients/requirements.txt
venv=target/official-clients
stamp=$(sha256sum "$req" | cut -d' ' -f1)
if [ "$(cat "$venv/.requirements-sha256" 2>/dev/null || true)" != "$stamp" ]; then
  rm -rf "$venv"
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req" >&2
  echo "$stamp" >"$venv/.requirements-sha256"
fi
echo "$PWD/$venv/bin/python"
