#!/usr/bin/env bash
# Installs the system packages the harness and its tests need, once (idempotent; skips what is present).
# Usage: scripts/deps.sh [extra-package ...]
set -euo pipefail

need=()
for pkg in mariadb-server ffmpeg "$@"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done

if [ ${#need[@]} -gt 0 ]; then
  echo "installing system packages: ${need[*]}" >&2
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# Debian's mariadb-server package may start a system service; the harness never uses it.
