#!/usr/bin/env bash
# The compose stack as a user starts it: MariaDB with the reference schema, minilvb, and the emulated cloud,
# each healthy by its own healthcheck; then one request that goes through the backend to the database and one
# admin request to the cloud; then everything is removed. Needs the images (scripts/images.sh) and
# docker-compose. Exit 0 when the stack worked.
set -euo pipefail
cd "$(dirname "$0")/.."
compose=(docker-compose -p tcharness-smoke -f compose/docker-compose.yml)
schema=compose/initdb/schema.sql
cleanup() {
  "${compose[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
  rm -f "$schema"
}
trap cleanup EXIT
cargo build --quiet --release -p minilvb
target/release/minilvb schema >"$schema"
"${compose[@]}" up -d >/dev/null 2>&1
healthy=0
for _ in $(seq 120); do
  healthy=$("${compose[@]}" ps 2>/dev/null | grep -c "(healthy)" || true)
  [ "$healthy" = 3 ] && break
  if "${compose[@]}" ps 2>/dev/null | grep -q "Exit"; then break; fi
  sleep 1
done
if [ "$healthy" != 3 ]; then
  echo "compose-smoke: $healthy of 3 services healthy" >&2
  "${compose[@]}" ps >&2 || true
  "${compose[@]}" logs --tail 20 >&2 || true
  exit 1
fi
list=$(curl -s -m 10 http://127.0.0.1:18080/interface.php -d '{"Action":"FetchList","flag":1,"pageno":1,"pagesize":10}')
case "$list" in
  *'"returnValue":0'*) ;;
  *) echo "compose-smoke: FetchList through the backend: $list" >&2; exit 1 ;;
esac
health=$(curl -s -m 10 http://127.0.0.1:18000/_tcharness/health)
case "$health" in
  *'"status":"ok"'*) ;;
  *) echo "compose-smoke: cloud health: $health" >&2; exit 1 ;;
esac
echo "compose-smoke: 3 services healthy, FetchList answered from MariaDB, cloud healthy"
