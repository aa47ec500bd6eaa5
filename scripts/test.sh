#!/usr/bin/env bash
# The test command: installs what the tests need, then runs every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
# nginx + its RTMP module: the real RTMP server the app's publisher is tested against.
bash scripts/deps.sh nginx libnginx-mod-rtmp
# GStreamer's librtmp sink: a second real RTMP pusher (tests/lvb_librtmp.rs).
bash scripts/deps.sh gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
# PHP with mysqli and curl: the PHP profile's local provider (tests/php_backend.rs, the php-v1 fixture).
bash scripts/deps.sh php-cli php-mysql php-curl

# python3 with venv: tests/im_usersig.rs installs Tencent's own UserSig generators from PyPI into one.
bash scripts/deps.sh python3-venv

# Docker for the runtime's container provider: install the engine and debootstrap, start a dockerd of our
# own when none answers (stopped again on exit), build the images. TCHARNESS_DOCKER=0 skips all of it.
if [ "${TCHARNESS_DOCKER:-1}" != 0 ]; then
  bash scripts/deps.sh docker.io debootstrap docker-compose curl || echo "test.sh: docker packages not installed" >&2
  if ! docker info >/dev/null 2>&1 && command -v dockerd >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
    dockerd_log=$(mktemp)
    dockerd >"$dockerd_log" 2>&1 &
    dockerd_pid=$!
    trap 'kill -TERM "$dockerd_pid" 2>/dev/null; wait "$dockerd_pid" 2>/dev/null; rm -f "$dockerd_log"' EXIT
    for _ in $(seq 100); do docker info >/dev/null 2>&1 && break; sleep 0.2; done
  fi
  if docker info >/dev/null 2>&1 && bash scripts/images.sh; then
    export TCHARNESS_REQUIRE_DOCKER=1
    # The compose stack, as the README starts it.
    bash scripts/compose-smoke.sh
  else
    echo "test.sh: no docker engine or images; container cases are skipped" >&2
  fi
fi

cargo test --workspace "$@"
