#!/usr/bin/env bash
# Filter speed, side by side with fail2ban-regex, on one core.
#
# Generates a 1,000,000-line sshd auth log with scripts/genflood.py
# (10,000 attackers x 10 failures, 9 ordinary lines after each failure) and
# runs on it, pinned to one CPU:
#   1. rampart filter test sshd                       (built-in filter)
#   2. rampart filter test <fail2ban>/filter.d/sshd.conf (compatibility path)
#   3. fail2ban-regex <log> <fail2ban>/filter.d/sshd.conf (Debian's 1.0.2)
# and prints wall time, lines/s, peak RSS and hits for each, and the ratios.
# usage: scripts/bench-filter.sh [LINES_LOG]   (set SKIP_FAIL2BAN=1 to skip 3)
set -euo pipefail
cd "$(dirname "$0")/.."
make -s build
gen=${GENFLOOD:-scripts/genflood.py}
log=${1:-${TMPDIR:-/tmp}/rampart-bench-auth.log}
if [ ! -s "$log" ]; then
  python3 "$gen" "$log" 10000 10 9
fi
lines=$(wc -l < "$log")
f2b=$(scripts/fail2ban-corpus.sh)
conf="$f2b/etc/fail2ban/filter.d/sshd.conf"
cpu=${BENCH_CPU:-1}
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  host: $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "log: $log ($lines lines, $(du -h "$log" | cut -f1))  pinned to CPU $cpu"
declare -A wall
out=$(mktemp); tf=$(mktemp); trap 'rm -f "$out" "$tf"' EXIT
printf '%-22s %8s %12s %8s %12s %9s  %s\n' run wall lines/s cpu lines/cpu-s "peak RSS" result
run() { # name, command...
  local name=$1; shift
  /usr/bin/time -f '%e %U %S %M' -o "$tf" taskset -c "$cpu" "$@" > "$out" 2>&1 || { cat "$out"; exit 1; }
  local secs user sys kb
  read -r secs user sys kb < "$tf"
  local cpu_s; cpu_s=$(echo "$user + $sys" | bc -l)
  local hits
  hits=$(grep -m1 -oE '^(Hits: +[0-9]+|Lines: [0-9]+ lines, [0-9]+ ignored, [0-9]+ matched)' "$out" || true)
  printf '%-22s %7.2fs %12.0f %7.2fs %12.0f %6.1f MB  %s\n' "$name" "$secs" "$(echo "$lines / $secs" | bc -l)" \
    "$cpu_s" "$(echo "$lines / $cpu_s" | bc -l)" "$(echo "$kb / 1024" | bc -l)" "$hits"
  wall[$name]=$secs
}
run builtin-sshd bin/rampart filter test sshd "$log"
run sshd.conf bin/rampart filter test "$conf" "$log"
if [ -z "${SKIP_FAIL2BAN:-}" ]; then
  run fail2ban-regex env PYTHONPATH="$f2b/usr/lib/python3/dist-packages" python3 "$f2b/usr/bin/fail2ban-regex" "$log" "$conf"
  printf 'wall-time ratio fail2ban-regex / rampart: built-in sshd %.1fx, sshd.conf %.1fx\n' \
    "$(echo "${wall[fail2ban-regex]} / ${wall[builtin-sshd]}" | bc -l)" "$(echo "${wall[fail2ban-regex]} / ${wall[sshd.conf]}" | bc -l)"
fi
