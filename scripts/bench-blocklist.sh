#!/usr/bin/env bash
# The daemon with a blocklist of 1,000,000 entries (70 % IPv4 /16-/32,
# 30 % IPv6 2001:db8::/32 at /32-/128, one per line, the shape of
# internal/blocklist's benchmark; written by a seeded generator), inside a
# throw-away network namespace (root; nothing outside it is touched):
# `rampart run` with [blocklists.big] file = the list and no jail; prints
# the time the daemon logged for putting the list in force, the daemon's
# peak RSS (VmHWM) once it did, and its RSS 5 s later.
# RAMPART=BINARY measures a given build instead of building this checkout;
# LIST=FILE keeps the generated list in FILE (made once, then reused).
# usage: scripts/bench-blocklist.sh [ENTRIES]   (default 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then echo "bench-blocklist.sh: needs root (a network namespace, nftables)" >&2; exit 1; fi
n=${1:-1000000}
tmp=$(mktemp -d /tmp/rampart-bench-blocklist.XXXXXX)
ns=rampart-blbench-$$
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
bin=${RAMPART:-}
if [ -z "$bin" ]; then
  bin=$tmp/rampart
  CGO_ENABLED=0 go build -o "$bin" ./cmd/rampart
fi
list=${LIST:-$tmp/big.txt}
if [ ! -s "$list" ]; then
python3 - "$list" "$n" <<'PY'
import ipaddress, random, sys
rng = random.Random(7)
out, n = sys.argv[1], int(sys.argv[2])
with open(out, "w") as f:
    for _ in range(n):
        if rng.randrange(10) < 7:
            a = ipaddress.IPv4Address(bytes([rng.randrange(223) + 1, rng.randrange(256), rng.randrange(256), rng.randrange(256)]))
            f.write("%s\n" % ipaddress.IPv4Network((a, 16 + rng.randrange(17)), strict=False))
        else:
            a = ipaddress.IPv6Address(bytes([0x20, 0x01, 0x0d, 0xb8] + [rng.randrange(256) for _ in range(12)]))
            f.write("%s\n" % ipaddress.IPv6Network((a, 32 + rng.randrange(97)), strict=False))
PY
fi
cat >"$tmp/rampart.toml" <<CFG
[daemon]
state_dir = "$tmp/state"
socket = "$tmp/rampart.sock"
firewall = "nftables"
on_stop = "flush"

[jails.sshd]
enabled = false

[blocklists.big]
file = "$list"
every = "1h"
CFG
ip netns add "$ns"
ip netns exec "$ns" "$bin" run --config "$tmp/rampart.toml" >"$tmp/log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  grep -q "blocklist in force" "$tmp/log" && break
  kill -0 "$pid" 2>/dev/null || { cat "$tmp/log"; exit 1; }
  sleep 0.1
done
grep -q "blocklist in force" "$tmp/log" || { echo "the list was not in force within 60 s"; tail "$tmp/log"; exit 1; }
line=$(grep "blocklist in force" "$tmp/log")
# The daemon is the child of ip netns exec (exec'd: the same pid).
hwm=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
sleep 5
rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
echo "entries=$n $(echo "$line" | grep -o 'ranges=[0-9]*') $(echo "$line" | grep -o 'took=[^ ]*')"
echo "peak RSS (VmHWM) once in force: $((hwm / 1024)) MB; RSS 5 s later: $((rss / 1024)) MB"
echo "load: $(cat /proc/loadavg)"
