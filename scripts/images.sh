#!/usr/bin/env bash
# Builds the container images the harness runs, from nothing and without any registry; idempotent (skips
# every image that already exists and is current).
#   local/debian:bookworm          debootstrap (minbase) of the Debian mirror apt already uses, docker import
#   local/tcharness-mariadb:10.11  compose/images/mariadb (Debian's mariadb-server + an init entrypoint)
#   local/tcharness-php:8.2        compose/images/php (Debian's php-cli, php-mysql, php-curl: the PHP profile)
#   local/minilvb:latest           compose/images/minilvb (`minilvb` on the Debian base; rebuilt when it changes)
#   local/tcharness:latest         compose/images/tcharness (`tcharness serve` on the Debian base; likewise)
# Usage: scripts/images.sh [--no-minilvb] [--no-tcharness]
set -euo pipefail
cd "$(dirname "$0")/.."
export DOCKER_BUILDKIT=0

with_minilvb=1
with_tcharness=1
for arg in "$@"; do
  case "$arg" in
    --no-minilvb) with_minilvb=0 ;;
    --no-tcharness) with_tcharness=0 ;;
    *) echo "unknown argument: $arg" >&2; exit 2 ;;
  esac
done

docker info >/dev/null 2>&1 || { echo "images.sh: no docker engine answers" >&2; exit 1; }
have() { docker image inspect "$1" >/dev/null 2>&1; }

# The mirror apt already uses (first deb URI of the sources), read at run time.
debian_mirror() {
  local uri=""
  if compgen -G "/etc/apt/sources.list.d/*.sources" >/dev/null; then
    uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources)
  fi
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri=$(awk '$1 == "deb" {for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) {print $i; exit}}' /etc/apt/sources.list)
  fi
  [ -n "$uri" ] || { echo "images.sh: no Debian mirror found under /etc/apt" >&2; exit 1; }
  echo "$uri"
}

if have local/debian:bookworm; then
  echo "local/debian:bookworm: present"
else
  command -v debootstrap >/dev/null || { echo "images.sh: debootstrap is not installed" >&2; exit 1; }
  rootfs=$(mktemp -d)
  trap 'rm -rf "$rootfs"' EXIT
  echo "local/debian:bookworm: debootstrap (about 30 s)"
  debootstrap --variant=minbase bookworm "$rootfs" "$(debian_mirror)" >/dev/null
  tar -C "$rootfs" -c . | docker import - local/debian:bookworm >/dev/null
  rm -rf "$rootfs"
  trap - EXIT
fi

# Rebuilt when its build context changes (the digest is kept as an image label).
mariadb_digest=$(cat compose/images/mariadb/* | sha256sum | cut -d' ' -f1)
mariadb_current=$(docker image inspect -f '{{ index .Config.Labels "tcharness.context-sha256" }}' \
  local/tcharness-mariadb:10.11 2>/dev/null || true)
if [ "$mariadb_current" = "$mariadb_digest" ]; then
  echo "local/tcharness-mariadb:10.11: present"
else
  echo "local/tcharness-mariadb:10.11: building (about 20 s)"
  docker build -q --label "tcharness.context-sha256=$mariadb_digest" -t local/tcharness-mariadb:10.11 \
    compose/images/mariadb >/dev/null
fi

php_digest=$(cat compose/images/php/* | sha256sum | cut -d' ' -f1)
php_current=$(docker image inspect -f '{{ index .Config.Labels "tcharness.context-sha256" }}' \
  local/tcharness-php:8.2 2>/dev/null || true)
if [ "$php_current" = "$php_digest" ]; then
  echo "local/tcharness-php:8.2: present"
else
  echo "local/tcharness-php:8.2: building (about 30 s)"
  docker build -q --label "tcharness.context-sha256=$php_digest" -t local/tcharness-php:8.2 \
    compose/images/php >/dev/null
fi

if [ "$with_minilvb" = 1 ]; then
  # A plain release build: the image is the same Debian release, so the glibc it links against is there.
  cargo build --quiet --release -p minilvb
  bin=target/release/minilvb
  digest=$(cat "$bin" compose/images/minilvb/Dockerfile | sha256sum | cut -d' ' -f1)
  current=$(docker image inspect -f '{{ index .Config.Labels "tcharness.binary-sha256" }}' local/minilvb:latest 2>/dev/null || true)
  if [ "$current" = "$digest" ]; then
    echo "local/minilvb:latest: present"
  else
    echo "local/minilvb:latest: building"
    ctx=$(mktemp -d)
    cp compose/images/minilvb/Dockerfile "$bin" "$ctx/"
    docker build -q --label "tcharness.binary-sha256=$digest" -t local/minilvb:latest "$ctx" >/dev/null
    rm -rf "$ctx"
  fi
fi

if [ "$with_tcharness" = 1 ]; then
  cargo build --quiet --release -p tcharness --bin tcharness
  bin=target/release/tcharness
  digest=$(cat "$bin" compose/images/tcharness/Dockerfile harness/scenarios/tenant.toml | sha256sum | cut -d' ' -f1)
  current=$(docker image inspect -f '{{ index .Config.Labels "tcharness.binary-sha256" }}' local/tcharness:latest 2>/dev/null || true)
  if [ "$current" = "$digest" ]; then
    echo "local/tcharness:latest: present"
  else
    echo "local/tcharness:latest: building"
    ctx=$(mktemp -d)
    cp compose/images/tcharness/Dockerfile "$bin" harness/scenarios/tenant.toml "$ctx/"
    docker build -q --label "tcharness.binary-sha256=$digest" -t local/tcharness:latest "$ctx" >/dev/null
    rm -rf "$ctx"
  fi
fi
