#!/usr/bin/env bash
# Port-scan ban latency (issue 10, target p99 <= 2 s from the scan's first
# packet), in two throw-away network namespaces (needs root; nothing outside
# them is touched): rampart runs in the server namespace with [portscan]
# (ports = 12, within = 10s; no baseline, so the open ports are the
# listening sockets: none here); the attacker namespace holds 198.18.1.1 …
# and 2001:db8:18::1 …, and internal/e2e/benchtool opens TCP connections from
# one fresh address per scan to 20 closed ports and learns from nftables'
# netlink events when the address is banned. Three runs: IPv4 as fast as
# connect(2) goes, IPv4 at one probe every 10 ms (100 ports/s), IPv6 fast;
# 150 ms between scans, so that the kernel's shared log budget (log_rate,
# default 200 packets/s) refills: one scanner at a time is measured.
# Before them it prints the daemon's CPU time (user+sys, from /proc) over
# 30 idle seconds; after them, over the three runs.
# usage: scripts/bench-portscan.sh [N]   (N scans per run, default 200)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then echo "bench-portscan.sh: needs root (network namespaces, nftables)" >&2; exit 1; fi
n=${1:-200}
tmp=$(mktemp -d /tmp/rampart-bench-portscan.XXXXXX)
srv=rampart-bps-srv-$$
atk=rampart-bps-atk-$$
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  ip netns del "$srv" 2>/dev/null || true
  ip netns del "$atk" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$tmp/rampart" ./cmd/rampart
go build -o "$tmp/benchtool" ./internal/e2e/benchtool
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  host: $(nproc) cores (shared with other jobs), load: $(cut -d' ' -f1-3 /proc/loadavg)  commit: $(git rev-parse --short HEAD)"

ip netns add "$srv"
ip netns add "$atk"
ip -n "$srv" link set lo up
ip -n "$atk" link set lo up
ip -n "$srv" link add eth0 type veth peer name eth0 netns "$atk"
ip -n "$srv" addr add 198.18.0.1/16 dev eth0
ip -n "$srv" addr add 2001:db8:18::ffff/64 dev eth0 nodad
# One address per scan and family.
{
  for i in $(seq 1 "$n"); do
    echo "addr add 198.18.$((1 + (i - 1) / 250)).$((1 + (i - 1) % 250))/16 dev eth0"
    printf 'addr add 2001:db8:18::%x/64 dev eth0 nodad\n' "$i"
  done
} > "$tmp/addrs"
ip -n "$atk" -batch "$tmp/addrs"
ip -n "$srv" link set eth0 up
ip -n "$atk" link set eth0 up

mkdir -p "$tmp/state"
cat > "$tmp/rampart.toml" <<EOT
[daemon]
state_dir = "$tmp/state"
socket = "$tmp/rampart.sock"
firewall = "nftables"
on_stop = "flush"
log_level = "info"

[jails.sshd]
enabled = false

[portscan]
enabled = true
ports = 12
within = "10s"
bantime = "1h"
EOT
ip netns exec "$srv" "$tmp/rampart" run --config "$tmp/rampart.toml" > "$tmp/daemon.log" 2>&1 &
pid=$!
for _ in $(seq 1 200); do
  if ip netns exec "$srv" nft list chain inet rampart portscan 2>/dev/null | grep -q 'log prefix'; then break; fi
  sleep 0.05
done
ip netns exec "$srv" nft list chain inet rampart portscan >/dev/null || { cat "$tmp/daemon.log"; exit 1; }
# The daemon's process is the child of `ip netns exec`, which execs it.
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
tck=$(getconf CLK_TCK)
# Idle cost: the chain's upkeep (once a second: /proc/net, one netlink
# read of the chain and sets) and the rest of the daemon, with no traffic.
i0=$(cpu); sleep 30; i1=$(cpu)
echo "idle: daemon CPU (user+sys) over 30 s without traffic: $(( (i1 - i0) * 1000 / tck )) ms"
c0=$(cpu)
fail() {
  echo "--- daemon log (tail):"; tail -20 "$tmp/daemon.log"
  echo "--- chain:"; ip netns exec "$srv" nft list chain inet rampart portscan
  exit 1
}
"$tmp/benchtool" portscan -ns "$srv" -atk "$atk" -dst 198.18.0.1 -from 198.18.1.1 -n "$n" -ports 20 || fail
# Slow scans from the same addresses: unban them all first.
"$tmp/rampart" --socket "$tmp/rampart.sock" unban --all >/dev/null
sleep 1
"$tmp/benchtool" portscan -ns "$srv" -atk "$atk" -dst 198.18.0.1 -from 198.18.1.1 -n "$n" -ports 20 -interval 10ms -first-port 2000 || fail
"$tmp/benchtool" portscan -ns "$srv" -atk "$atk" -dst 2001:db8:18::ffff -from 2001:db8:18::1 -n "$n" -ports 20 || fail
c1=$(cpu)
echo "daemon CPU (user+sys) over the three runs ($((3 * n)) bans): $(( (c1 - c0) * 1000 / tck )) ms"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
grep -c '^.*ban jail=portscan' "$tmp/daemon.log" | sed 's/^/ban lines in the daemon log: /'
