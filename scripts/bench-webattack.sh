#!/usr/bin/env bash
# Web-attack detection speed (issue 11), on a 100,000-line nginx access log
# with 10 % attacks (internal/webattack/corpus/genlog: 90,000 requests of 200
# benign clients, 10,000 attack requests from 10,000 addresses):
#   cli.    `rampart filter test web-attacks LOG --json`, pinned to one core
#           (taskset -c $CPU), RUNS times: wall, user and system CPU, peak
#           RSS (target >= 300,000 lines/s on one core, <= 50 MB);
#   daemon. the real daemon, pinned to the same core, with a jail
#           filter = "web-attacks" on an empty access log, in a throw-away
#           network namespace (nftables there only): the whole log is
#           appended at once, and the clock stops when every line is read
#           (rampart_logsource_lines_read_total) and every single-hit
#           address the CLI reported is in the kernel's ban set (nftables
#           netlink events, internal/e2e/benchtool waitbans); the daemon's
#           CPU time (user+system, /proc/PID/stat) over the same span.
#           RUNS times (target >= 200,000 lines/s).
# The machine these figures come from is shared: each run prints the load
# average; CPU time is the better measure when the load is high.
# usage: scripts/bench-webattack.sh [cli] [daemon]   (default: both)
#   RUNS=3  CPU=1  RAMPART=BINARY (measure that build)  LINES=100000
#   ATTACKS=10 (percent of the lines that are attacks; 0: benign only)
#   KEEP=1: keep the temporary directory (logs, state databases)
#   PROFILE=DIR: record `perf record -g` of the daemon's runs into
#   DIR/daemonN.perf.data (with an unstripped binary DIR/rampart) and print
#   the top of `perf report`.
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${*:-cli daemon}
runs=${RUNS:-3}
cpu=${CPU:-1}
lines=${LINES:-100000}
attacks=$((lines * ${ATTACKS:-10} / 100))
tmp=$(mktemp -d /tmp/rampart-bench-web.XXXXXX)
ns=rampart-bweb-$$
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  ip netns del "$ns" 2>/dev/null || true
  if [ -n "${KEEP:-}" ]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
if [ -n "${RAMPART:-}" ]; then
  cp "$RAMPART" "$tmp/rampart"
else
  CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$tmp/rampart" ./cmd/rampart
fi
prof=${PROFILE:-}
bin=$tmp/rampart
if [ -n "$prof" ]; then
  mkdir -p "$prof"
  CGO_ENABLED=0 go build -trimpath -o "$prof/rampart" ./cmd/rampart
  bin=$prof/rampart
fi
# genlog: -attacks 0 is "the corpus once", -1 none
go run ./internal/webattack/corpus/genlog -benign $((lines - attacks)) -attacks "$([ "$attacks" -gt 0 ] && echo "$attacks" || echo -1)" > "$tmp/web.log"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  host: $(nproc) cores  commit: $(git rev-parse --short HEAD)${RAMPART:+ (binary: $RAMPART)}"
echo "log: $(wc -l < "$tmp/web.log") lines, $(du -h "$tmp/web.log" | cut -f1)"

# rate N SECONDS: N / SECONDS, rounded, in lines/s.
rate() { awk -v n="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%d", n / s; else print "-" }'; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

# Every address a single-hit finding bans (the daemon must ban the same).
"$tmp/rampart" filter test web-attacks "$tmp/web.log" --json > "$tmp/hits.json"
want=$(python3 -c '
import json, sys
print(len({h["ip"] for h in map(json.loads, open(sys.argv[1])) if h["single_hit"]}))' "$tmp/hits.json")
echo "findings: $(wc -l < "$tmp/hits.json"), single-hit addresses: $want"

for s in $steps; do
  case $s in
  cli)
    for i in $(seq 1 "$runs"); do
      l0=$(load)
      /usr/bin/time -f "%e %U %S %M" -o "$tmp/time" taskset -c "$cpu" "$tmp/rampart" filter test web-attacks "$tmp/web.log" --json > /dev/null
      read -r wall user sys rss < "$tmp/time"
      c=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
      echo "cli run $i: wall $wall s, CPU $c s (user $user, sys $sys), max RSS $((rss / 1024)) MB: $(rate "$lines" "$wall") lines/s by wall, $(rate "$lines" "$c") by CPU; load $l0"
    done ;;
  daemon)
    if [ "$(id -u)" -ne 0 ]; then echo "bench-webattack.sh daemon: needs root (network namespace, nftables)" >&2; exit 1; fi
    go build -o "$tmp/benchtool" ./internal/e2e/benchtool
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    for i in $(seq 1 "$runs"); do
      d=$tmp/d$i; mkdir -p "$d/state"; : > "$d/access.log"
      cat > "$d/rampart.toml" <<EOT
[daemon]
state_dir = "$d/state"
socket = "$d/rampart.sock"
firewall = "nftables"
on_stop = "flush"
log_level = "warn"
metrics_listen = "127.0.0.1:9912"

[jails.sshd]
enabled = false

[jails.web]
enabled = true
filter = "web-attacks"
logpath = ["$d/access.log"]
port = "http,https"
maxretry = 5
findtime = "1h"
bantime = "1h"
EOT
      ip netns exec "$ns" nft flush ruleset
      ip netns exec "$ns" taskset -c "$cpu" "$bin" run --config "$d/rampart.toml" 2> "$d/daemon.log" &
      pid=$!
      up=
      for _ in $(seq 1 500); do
        if "$tmp/rampart" --socket "$d/rampart.sock" ping >/dev/null 2>&1; then up=1; break; fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.02
      done
      if [ -z "$up" ]; then echo "daemon did not start" >&2; cat "$d/daemon.log" >&2; exit 1; fi
      sleep 1
      if [ -n "$prof" ]; then
        perf record -q -F 1999 -g -p "$pid" -o "$prof/daemon$i.perf.data" 2>/dev/null &
        perfpid=$!
        sleep 0.5
      fi
      l0=$(load)
      c0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
      t0=$(date +%s%N)
      cat "$tmp/web.log" >> "$d/access.log"
      "$tmp/benchtool" waitbans -ns "$ns" -want "$want" -since "$t0" -timeout 120s > "$d/bans"
      n=0
      for _ in $(seq 1 12000); do
        n=$(ip netns exec "$ns" curl -s http://127.0.0.1:9912/metrics | awk '/^rampart_logsource_lines_read_total/ {s += $2} END {printf "%d", s}')
        [ "$n" -ge "$lines" ] && break
        sleep 0.01
      done
      t1=$(date +%s%N)
      c1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
      hz=$(getconf CLK_TCK)
      wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
      c=$(awk -v a="$c0" -v b="$c1" -v hz="$hz" 'BEGIN { printf "%.2f", (b - a) / hz }')
      rss=$(awk '/^VmHWM/ {printf "%.1f", $2/1024}' "/proc/$pid/status")
      echo "daemon run $i: $n lines read, $(sed 's/^waitbans: //' "$d/bans"); all read and banned $wall s after the append: $(rate "$lines" "$wall") lines/s by wall; daemon CPU $c s: $(rate "$lines" "$c") lines/s by CPU; peak RSS $rss MB; load $l0"
      if [ -n "$prof" ]; then
        kill -INT "$perfpid"; wait "$perfpid" || true
        perf report -i "$prof/daemon$i.perf.data" --no-children --sort symbol --stdio 2>/dev/null | grep -v '^#' | grep '%' | head -40
      fi
      kill -TERM "$pid"; wait "$pid" || true; pid=
    done ;;
  *) echo "unknown step $s (want cli, daemon)" >&2; exit 2 ;;
  esac
done
