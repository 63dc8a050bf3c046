#!/usr/bin/env bash
# Ingest benchmark: heartbeats vs GET /api/health with the same load tool and
# settings in one run, against the release server with the embedded store
# (durable acknowledged writes), then RSS with 100,000 registered services.
# A third run reads the records (`GET /api/services/{id}`, the same reply as a
# heartbeat's, nothing written) as a reference for what the reply alone costs.
#
#   bash benches/ingest.sh            # defaults: 64 connections, 15 s per run
#   DURATION=30s CONNECTIONS=64 bash benches/ingest.sh
#
# Each run also prints the CPU time the server and wrk spent per request
# (from /proc and bash's `time`): on a machine where both share the cores
# this is what decides the ratio.
#
# Needs wrk (installed with apt-get when missing) and python3.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-15s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
SERVICES=${SERVICES:-1000}
TOTAL_SERVICES=${TOTAL_SERVICES:-100000}
PORT=${PORT:-18765}
STORE_URI=${STORE_URI:-}

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cargo build --release --quiet --bin laneswap

work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
store=${STORE_URI:-sqlite:$work/bench.db}
LANESWAP_LOG_LEVEL=warn ./target/release/laneswap server --listen "127.0.0.1:$PORT" --store "$store" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/api/health" >/dev/null && break; sleep 0.1; done

python3 benches/register.py "127.0.0.1:$PORT" 0 "$SERVICES"
# Warm up: every service gets its 100 inline events, so responses have their full size.
SERVICES=$SERVICES wrk -t"$THREADS" -c"$CONNECTIONS" -d5s -s benches/heartbeat.lua "http://127.0.0.1:$PORT" >/dev/null

server_ticks() { awk '{print $14 + $15}' "/proc/$server/stat"; }
TICKS=$(getconf CLK_TCK)
run() { # name, extra wrk args…
  local name=$1; shift
  local before after TIMEFORMAT='%U %S'
  before=$(server_ticks)
  { time wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$@" >"$work/$name.txt"; } 2>"$work/$name.cpu"
  after=$(server_ticks)
  local rps p50 p99
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$work/$name.txt")
  p50=$(awk '$1 == "50%" {print $2}' "$work/$name.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$work/$name.txt")
  local requests errors
  requests=$(awk '/requests in/ {print $1}' "$work/$name.txt")
  errors=$(awk '/Non-2xx|Socket errors/ {print}' "$work/$name.txt")
  # CPU per request, server and load tool, in microseconds.
  local server_us tool_us
  server_us=$(awk -v a="$after" -v b="$before" -v t="$TICKS" -v n="$requests" 'BEGIN {printf "%.1f", (a - b) / t / n * 1e6}')
  tool_us=$(awk -v n="$requests" '{printf "%.1f", ($1 + $2) / n * 1e6}' "$work/$name.cpu")
  printf '%-10s %10s req/s   p50 %8s   p99 %8s   CPU/request: server %5s us, wrk %5s us   %s\n' \
    "$name" "$rps" "$p50" "$p99" "$server_us" "$tool_us" "$errors"
  eval "${name}_rps=$rps ${name}_server_us=$server_us ${name}_tool_us=$tool_us"
}

echo "laneswap ingest benchmark: wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $SERVICES services, store $store"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r)"
SERVICES=$SERVICES run heartbeat -s benches/heartbeat.lua "http://127.0.0.1:$PORT"
run health "http://127.0.0.1:$PORT/api/health"
# Reference: reading the record a heartbeat replies with, without writing.
SERVICES=$SERVICES run get -s benches/get.lua "http://127.0.0.1:$PORT"
awk -v h="$heartbeat_rps" -v g="$health_rps" 'BEGIN {printf "ratio heartbeat/health: %.2f\n", h / g}'
awk -v r="$get_rps" -v g="$health_rps" 'BEGIN {printf "ratio get/health (same reply, no write): %.2f\n", r / g}'
# Server and wrk share the cores, so the rate is 1 / (server + wrk CPU per
# request), and wrk's share grows with the reply (a heartbeat reply carries up
# to 100 events). What a heartbeat may cost the server for a ratio of 0.8:
awk -v hs="$health_server_us" -v ht="$health_tool_us" -v bs="$heartbeat_server_us" -v bt="$heartbeat_tool_us" \
  'BEGIN {printf "for a ratio of 0.8 a heartbeat may cost the server %.1f us of CPU (a health check costs it %.1f, a heartbeat now %.1f)\n", (hs + ht) / 0.8 - bt, hs, bs}'
python3 benches/register.py "127.0.0.1:$PORT" "$SERVICES" "$TOTAL_SERVICES"
rss=$(awk '/VmRSS/ {printf "%.1f MB", $2/1024}' "/proc/$server/status")
list_time=$(curl -fs -o "$work/list.json" -w '%{time_total}' "http://127.0.0.1:$PORT/api/services")
count=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['summary']['total'])" "$work/list.json")
rss_after=$(awk '/VmRSS/ {printf "%.1f MB", $2/1024}' "/proc/$server/status")
echo "services registered: $count; RSS $rss (after GET /api/services: $rss_after); GET /api/services took ${list_time}s, $(du -h "$work/list.json" | cut -f1)"
