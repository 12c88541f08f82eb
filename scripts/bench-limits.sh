#!/usr/bin/env bash
# Issue 10's cost figure for [limits]: under ~10,000 new connections/s to a
# limited port, the daemon's CPU stays <= 5 % of one core, because the
# kernel does the counting. Everything runs in two throw-away network
# namespaces (needs root; nothing outside them is touched):
#   server: `rampart run` with [limits.api] on 9000/tcp and a socat
#           listener there; a counter chain (table inet benchcount, hook
#           input, priority -300) counts the SYNs that arrive;
#   client: SENDERS hping3 processes (default 20), each from its own address
#           of 198.18.0.0/15, each sending SYNs at RATE/SENDERS per second
#           (-i uN, bounded by -c: hping3's --flood ignores -c) for SECONDS.
# Two phases:
#   count: rate = "1000000/second", max_conn = 1000000: every SYN goes
#          through both dynamic sets (the kernel counts, nobody is banned);
#   ban:   rate = "30/minute": every sender is banned by the kernel after 30
#          SYNs, the daemon records SENDERS bans from NFLOG, the rest of the
#          flood is dropped by the ban sets.
# Printed per phase: achieved SYN rate (counter / duration), the daemon's
# CPU (utime+stime from /proc/PID/stat over the run, % of one core), the
# bans recorded, and /proc/loadavg (the machine may be shared: say so when
# recording the figures in docs/PERFORMANCE.md).
# usage: scripts/bench-limits.sh [count] [ban]   (default: both)
# env: RATE (10000), SECONDS_RUN (10), SENDERS (20), RAMPART=BINARY;
#      FLOOD=1: each sender runs `hping3 --flood` for SECONDS_RUN instead
#      (as fast as it can: on a loaded machine the paced senders fall short
#      of RATE, the flood does not)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then echo "bench-limits.sh: needs root (network namespaces, nftables)" >&2; exit 1; fi
for b in hping3 socat nft ip; do
  command -v "$b" >/dev/null || { echo "bench-limits.sh: $b is missing (run scripts/deps.sh)" >&2; exit 1; }
done
phases=${*:-count ban}
rate=${RATE:-10000}
secs=${SECONDS_RUN:-10}
senders=${SENDERS:-20}
tmp=$(mktemp -d /tmp/rampart-bench-limits.XXXXXX)
srv=rampart-blsrv-$$
cli=rampart-blcli-$$
pid=
socat_pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  if [ -n "$socat_pid" ]; then kill "$socat_pid" 2>/dev/null || true; wait "$socat_pid" 2>/dev/null || true; fi
  ip netns del "$srv" 2>/dev/null || true
  ip netns del "$cli" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

bin=${RAMPART:-}
if [ -z "$bin" ]; then
  bin=$tmp/rampart
  CGO_ENABLED=0 go build -o "$bin" ./cmd/rampart
fi

ip netns add "$srv"
ip netns add "$cli"
ip -n "$srv" link set lo up
ip -n "$cli" link set lo up
ip -n "$cli" link add eth0 type veth peer name eth0 netns "$srv"
ip -n "$srv" addr add 198.18.255.254/15 dev eth0
for i in $(seq 1 "$senders"); do ip -n "$cli" addr add "198.18.0.$i/15" dev eth0; done
ip -n "$srv" link set eth0 up
ip -n "$cli" link set eth0 up
ip netns exec "$srv" socat TCP-LISTEN:9000,fork,reuseaddr SYSTEM:true &
socat_pid=$!
ip netns exec "$srv" nft -f - <<'NFT'
table inet benchcount {
  chain in { type filter hook input priority -300; policy accept; tcp dport 9000 tcp flags syn counter; }
}
NFT

clk=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

run_phase() {
  local phase=$1 limit_rate=$2 max_conn=$3
  local dir=$tmp/$phase
  mkdir -p "$dir"
  cat >"$dir/rampart.toml" <<TOML
[daemon]
state_dir = "$dir/state"
socket = "$dir/rampart.sock"
firewall = "nftables"
on_stop = "flush"

[jails.sshd]
enabled = false

[limits.api]
port = "9000/tcp"
rate = "$limit_rate"
max_conn = $max_conn
bantime = "10m"
TOML
  ip netns exec "$srv" "$bin" run --config "$dir/rampart.toml" >"$dir/daemon.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do "$bin" --socket "$dir/rampart.sock" ping >/dev/null 2>&1 && break; sleep 0.1; done
  sleep 2 # settle: start-up garbage collected, NFLOG bound
  ip netns exec "$srv" nft reset counters table inet benchcount >/dev/null
  local per=$((rate / senders)) count
  local interval=$((1000000 / per))
  count=$((per * secs))
  local c0 t0 c1 t1
  c0=$(cpu_ticks "$pid")
  t0=$(date +%s.%N)
  local hp=()
  for i in $(seq 1 "$senders"); do
    if [ -n "${FLOOD:-}" ]; then
      # As fast as hping3 goes; --flood ignores -c, so timeout bounds it.
      ip netns exec "$cli" timeout "$secs" hping3 -q -S -p 9000 -a "198.18.0.$i" --flood 198.18.255.254 >/dev/null 2>&1 &
    else
      ip netns exec "$cli" timeout $((secs + 20)) hping3 -q -S -p 9000 -a "198.18.0.$i" -i "u$interval" -c "$count" 198.18.255.254 >/dev/null 2>&1 &
    fi
    hp+=($!)
  done
  for p in "${hp[@]}"; do wait "$p" || true; done
  t1=$(date +%s.%N)
  c1=$(cpu_ticks "$pid")
  local pkts
  pkts=$(ip netns exec "$srv" nft list table inet benchcount | awk '/counter packets/ {for (i=1;i<=NF;i++) if ($i=="packets") print $(i+1)}')
  local bans
  bans=$("$bin" --socket "$dir/rampart.sock" banned --json | { grep -o '"prefix"' || true; } | wc -l)
  awk -v ph="$phase" -v p="$pkts" -v t0="$t0" -v t1="$t1" -v c0="$c0" -v c1="$c1" -v hz="$clk" -v b="$bans" -v s="$senders" 'BEGIN {
    d = t1 - t0
    printf "%-5s  %d SYNs in %.1f s = %.0f SYN/s from %d sources  daemon CPU %.2f s = %.2f %% of one core  bans recorded %d\n", ph, p, d, p / d, s, (c1 - c0) / hz, 100 * (c1 - c0) / hz / d, b
  }'
  echo "       loadavg $(cat /proc/loadavg)"
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
}

if [ -n "${FLOOD:-}" ]; then mode="hping3 --flood"; else mode="target RATE=$rate SYN/s"; fi
echo "bench-limits: $(date -u +%FT%TZ), $(nproc) cores, $mode for $secs s from $senders senders"
for ph in $phases; do
  case $ph in
    count) run_phase count "1000000/second" 1000000 ;;
    ban) run_phase ban "30/minute" 0 ;;
    *) echo "unknown phase $ph (count, ban)" >&2; exit 2 ;;
  esac
done
