#!/usr/bin/env bash
# Ingest CPU with real pushers: N ffmpeg processes stream-copy a 1 Mbit/s H.264/AAC FLV (`-re`, looped)
# into `tcharness serve`, then into nginx with the RTMP module and `record all`, in the same run. For each
# server: wait until all N pushes are accepted (the ingest's journal; nginx's recording files), let the
# pushes settle for WARMUP seconds, then sample the server's utime+stime over WINDOW seconds. The ffmpeg
# processes are not counted.
#
#   scripts/bench-ingest.sh                  # N = 60 and 100, each server once per N
#   REPEAT=2 WINDOW=30 scripts/bench-ingest.sh 60 100
#   TCHARNESS=path/to/tcharness scripts/bench-ingest.sh 60
#
# Prints one table row per server and N, and the CPU ratio ingest / nginx-rtmp per N and repeat.
# Needs ffmpeg (with libx264), nginx and Debian's libnginx-mod-rtmp.
set -euo pipefail

WINDOW="${WINDOW:-20}"
WARMUP="${WARMUP:-5}"
REPEAT="${REPEAT:-1}"
NGINX_RTMP_MODULE="${NGINX_RTMP_MODULE:-/usr/lib/nginx/modules/ngx_rtmp_module.so}"
counts=("$@")
[[ ${#counts[@]} -eq 0 ]] && counts=(60 100)

cd "$(dirname "$0")/.."
if [[ -z "${TCHARNESS:-}" ]]; then
  cargo build -q --release -p tcharness --bin tcharness
  TCHARNESS=target/release/tcharness
fi
WORK="$(mktemp -d "${TMPDIR:-/tmp}/tcharness-bench-ingest.XXXXXX")"
pushers=()
servers=()
cleanup() {
  for pid in "${pushers[@]}" "${servers[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [[ -n "${KEEP:-}" ]] || rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

CLK_TCK="$(getconf CLK_TCK)"
now() { date +%s.%N; }
# utime + stime of a process, in clock ticks (fields 14 and 15; the name in field 2 may hold spaces).
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
rss_mib() { awk '/^VmRSS:/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }
dir_bytes() { du -sb "$1" | cut -f1; }

# Waits up to $3 seconds for command $2 to print a number >= $1 (the pushes being accepted).
wait_count() {
  local want="$1" probe="$2" limit="$3" got=0
  local deadline=$(( $(date +%s) + limit ))
  while (( $(date +%s) < deadline )); do
    got="$($probe || true)"
    (( got >= want )) && { echo "$got"; return 0; }
    sleep 0.2
  done
  echo "$got"
  return 1
}

# The source: 30 s of 640x360 25 fps H.264 at a constant 900 kbit/s plus 96 kbit/s AAC, ~1 Mbit/s.
SOURCE="$WORK/source.flv"
ffmpeg -hide_banner -loglevel error -nostdin \
  -f lavfi -i testsrc=size=640x360:rate=25 -f lavfi -i sine=frequency=440:sample_rate=44100 -t 30 \
  -c:v libx264 -preset veryfast -g 50 -b:v 900k -minrate 900k -maxrate 900k -bufsize 900k \
  -x264-params nal-hrd=cbr -c:a aac -b:a 96k -f flv "$SOURCE"
source_kbit="$(ffprobe -v error -show_entries format=bit_rate -of default=nw=1:nk=1 "$SOURCE")"

# The healthy tenant without a callback URL: nginx-rtmp sends no callbacks either.
TENANT="$WORK/tenant.toml"
sed 's|^callback_url = .*|callback_url = ""|' harness/scenarios/tenant.toml >"$TENANT"
PUSH_KEY="$(sed -n 's/^push_key = "\([0-9a-f]*\)".*/\1/p' "$TENANT")"
BIZID="$(sed -n 's/^bizid = \([0-9]*\).*/\1/p' "$TENANT")"

start_pushers() { # $1 = N, $2 = URL prefix (rtmp://host:port/live/), $3 = "signed" or "plain"
  local n="$1" prefix="$2" mode="$3" i stream url tx_time secret
  tx_time="$(printf '%X' $(( $(date +%s) + 3600 )))"
  pushers=()
  for (( i = 0; i < n; i++ )); do
    stream="${BIZID}_bench$i"
    url="$prefix$stream"
    if [[ "$mode" == signed ]]; then
      secret="$(printf '%s' "$PUSH_KEY$stream$tx_time" | md5sum | cut -d' ' -f1)"
      url="$url?txSecret=$secret&txTime=$tx_time"
    fi
    ffmpeg -hide_banner -loglevel error -nostdin -re -stream_loop -1 -i "$SOURCE" -c copy -f flv \
      -rtmp_tcurl "rtmp://$BIZID.livepush.myqcloud.com/live" "$url" 2>>"$WORK/ffmpeg.log" &
    pushers+=("$!")
  done
}

stop_pushers() {
  local pid
  for pid in "${pushers[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pushers[@]}"; do wait "$pid" 2>/dev/null || true; done
  pushers=()
}

alive_pushers() {
  local alive=0 pid
  for pid in "${pushers[@]}"; do kill -0 "$pid" 2>/dev/null && alive=$(( alive + 1 )); done
  echo "$alive"
}

# Samples server $1 over the window; $2 = directory its recordings grow in. Prints
# "cpu% rss_mib recorded_mbit loadavg".
measure() {
  local pid="$1" dir="$2" t0 c0 b0 t1 c1 b1
  sleep "$WARMUP"
  t0="$(now)"; c0="$(cpu_ticks "$pid")"; b0="$(dir_bytes "$dir")"
  sleep "$WINDOW"
  t1="$(now)"; c1="$(cpu_ticks "$pid")"; b1="$(dir_bytes "$dir")"
  awk -v t0="$t0" -v t1="$t1" -v c0="$c0" -v c1="$c1" -v b0="$b0" -v b1="$b1" -v hz="$CLK_TCK" \
    -v rss="$(rss_mib "$pid")" -v la="$(cut -d' ' -f1 /proc/loadavg)" \
    'BEGIN { w = t1 - t0; printf "%.1f %s %.1f %s\n", (c1 - c0) / hz / w * 100, rss, (b1 - b0) * 8 / w / 1e6, la }'
}

# The CPU % of the last server measured (the bench functions run in this shell, so that the cleanup
# trap sees every process they started).
LAST_CPU=0
row() { # server N ok failed "cpu rss mbit load"
  local name="$1" n="$2" ok="$3" failed="$4" cpu rss mbit load
  read -r cpu rss mbit load <<<"$5"
  printf '| %s | %s | %s ok / %s failed | %s Mbit/s | %s%% of one core | %s MiB | %s |\n' \
    "$name" "$n" "$ok" "$failed" "$mbit" "$cpu" "$rss" "$load"
  LAST_CPU="$cpu"
}

bench_ingest() { # N
  local n="$1" out banner rtmp http pid result accepted failed rec="$WORK/ingest-rec"
  rm -rf "$rec"; mkdir -p "$rec"
  # The recordings go to a temp dir of the server: point it into ours to measure what was written.
  TMPDIR="$rec" "$TCHARNESS" serve --tenant "$TENANT" >"$WORK/serve.out" 2>"$WORK/serve.err" &
  pid="$!"; servers=("$pid")
  wait_count 1 "grep -c ^{ $WORK/serve.out" 30 >/dev/null || { cat "$WORK/serve.err" >&2; exit 1; }
  banner="$(head -1 "$WORK/serve.out")"
  rtmp="$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["rtmp"])' "$banner")"
  http="$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["http"])' "$banner")"
  start_pushers "$n" "rtmp://$rtmp/live/" signed
  accepted_now() {
    curl -s "http://$http/_tcharness/journal?service=lvb_ingest" | grep -o '"outcome":"accepted"' | wc -l
  }
  accepted="$(wait_count "$n" accepted_now 120)" || true
  result="$(measure "$pid" "$rec")"
  failed=$(( n - $(alive_pushers) ))
  stop_pushers
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true; servers=()
  row "emulated LVB ingest (records to disk)" "$n" "$accepted" "$failed" "$result"
}

bench_nginx() { # N
  local n="$1" dir="$WORK/nginx" port pid result accepted failed
  rm -rf "$dir"; mkdir -p "$dir/rec"
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  cat >"$dir/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
error_log $dir/error.log;
pid $dir/nginx.pid;
load_module $NGINX_RTMP_MODULE;
events { worker_connections 4096; }
rtmp { server { listen 127.0.0.1:$port; chunk_size 4096;
  application live { live on; record all; record_path $dir/rec; } } }
EOF
  nginx -e stderr -p "$dir" -c "$dir/nginx.conf" 2>"$dir/stderr" &
  pid="$!"; servers=("$pid")
  listening() { ss -Hltn "sport = :$port" | wc -l; }
  wait_count 1 listening 30 >/dev/null || { cat "$dir/stderr" >&2; exit 1; }
  start_pushers "$n" "rtmp://127.0.0.1:$port/live/" plain
  # `record all` opens one file per accepted publish.
  recording_files() { find "$dir/rec" -name '*.flv' | wc -l; }
  accepted="$(wait_count "$n" recording_files 120)" || true
  result="$(measure "$pid" "$dir/rec")"
  failed=$(( n - $(alive_pushers) ))
  stop_pushers
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true; servers=()
  row "nginx $(nginx -v 2>&1 | sed 's|.*/||') + nginx-rtmp (record all)" "$n" "$accepted" "$failed" "$result"
}

echo "source: $(( source_kbit / 1000 )) kbit/s; $(nproc) cores; window ${WINDOW}s after ${WARMUP}s warm-up"
echo "| server | N | pushes | recorded | CPU | RSS | load avg |"
echo "|---|---|---|---|---|---|---|"
ratios=()
for (( r = 1; r <= REPEAT; r++ )); do
  for n in "${counts[@]}"; do
    # Alternate which server goes first, so a drift of the machine's load does not favour one.
    if (( r % 2 == 1 )); then
      bench_ingest "$n"; ours="$LAST_CPU"; bench_nginx "$n"; theirs="$LAST_CPU"
    else
      bench_nginx "$n"; theirs="$LAST_CPU"; bench_ingest "$n"; ours="$LAST_CPU"
    fi
    ratios+=("N=$n run $r: $(awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')")
  done
done
echo "CPU ratio ingest / nginx-rtmp record all:"
printf '  %s\n' "${ratios[@]}"
