#!/usr/bin/env bash
# Filter speed, side by side with fail2ban-regex, on one core.
#
# Generates two 300,000-line sshd auth logs with scripts/genflood.py, the
# hit-heavy mixes of issue 9:
#   a: 3,000 attackers x 10 failures, 9 ordinary lines after each, 20 % IPv6
#   b: 10,000 attackers x 3 failures, 9 ordinary lines after each, 30 % IPv6
# and runs on each, one after the other and each pinned to one CPU:
#   rampart filter test sshd LOG [--json]                     (built-in filter)
#   rampart filter test <fail2ban>/filter.d/sshd.conf LOG [--json] (compatibility path)
#   fail2ban-regex LOG <fail2ban>/filter.d/sshd.conf          (Debian's, unpacked by
#                                                              scripts/fail2ban-corpus.sh)
# It prints wall time, CPU time, peak RSS and hits for each, and the ratios
# of fail2ban-regex's wall time and CPU time to each rampart run's (targets,
# on wall time: >= 40x for the built-in filter with --json, >= 20x for
# sshd.conf). On a busy machine the CPU-time ratio is the steadier one.
#
# usage: scripts/bench-filter.sh
#   RAMPART_BIN=path   the binary to measure (default: make build, bin/rampart)
#   BENCH_CPU=n        the CPU to pin to (default 1)
#   BENCH_LOGS="a b"   which logs (default both)
#   SKIP_FAIL2BAN=1    leave fail2ban-regex out (no ratios)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${RAMPART_BIN:-}
if [ -z "$bin" ]; then
  make -s build
  bin=bin/rampart
fi
gen=${GENFLOOD:-scripts/genflood.py}
dir=${TMPDIR:-/tmp}
cpu=${BENCH_CPU:-1}
f2b=$(scripts/fail2ban-corpus.sh)
conf="$f2b/etc/fail2ban/filter.d/sshd.conf"
declare -A genargs=(
  [a]="3000 10 9 --v6-share 0.2"
  [b]="10000 3 9 --v6-share 0.3"
)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  commit: $commit  binary: $bin"
echo "host: $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)  pinned to CPU $cpu"
out=$(mktemp); tf=$(mktemp); trap 'rm -f "$out" "$tf"' EXIT

# run NAME CMD...: time one command (wall to the microsecond from bash's
# clock, CPU and peak RSS from /usr/bin/time); sets secs, cpu_s and rss.
run() {
  shift
  local t0=$EPOCHREALTIME
  /usr/bin/time -f '%U %S %M' -o "$tf" taskset -c "$cpu" "$@" > "$out" 2>&1 || { cat "$out"; exit 1; }
  secs=$(echo "$EPOCHREALTIME - $t0" | bc -l)
  read -r user sys kb < "$tf"
  cpu_s=$(echo "$user + $sys" | bc -l)
  rss=$(echo "$kb / 1024" | bc -l)
}

for l in ${BENCH_LOGS:-a b}; do
  log="$dir/rampart-bench-$l.log"
  if [ ! -s "$log" ]; then
    # shellcheck disable=SC2086 # the arguments are words
    python3 "$gen" "$log" ${genargs[$l]}
  fi
  lines=$(wc -l < "$log")
  echo
  echo "log $l: genflood.py OUT ${genargs[$l]} ($lines lines, $(du -h "$log" | cut -f1))"
  f2b_secs=""
  if [ -z "${SKIP_FAIL2BAN:-}" ]; then
    run fail2ban-regex env PYTHONPATH="$f2b/usr/lib/python3/dist-packages" python3 "$f2b/usr/bin/fail2ban-regex" "$log" "$conf"
    f2b_secs=$secs f2b_cpu=$cpu_s
    f2b_row=$(printf '%-28s %7.3fs %7.2fs %6.1f MB  %-16s %8s %8s' fail2ban-regex "$secs" "$cpu_s" "$rss" \
      "$(grep -m1 -oE '[0-9]+ matched' "$out" || true)" 1.0x 1.0x)
  fi
  printf '%-28s %8s %8s %9s  %-16s %8s %8s\n' run wall cpu "peak RSS" hits "x wall" "x cpu"
  [ -n "$f2b_secs" ] && echo "$f2b_row"
  for mode in builtin sshd.conf; do
    spec=sshd
    [ "$mode" = sshd.conf ] && spec=$conf
    for json in "" --json; do
      # shellcheck disable=SC2086 # $json is empty or one flag
      run "$mode" "$bin" filter test "$spec" "$log" $json
      if [ -n "$json" ]; then
        hits=$(wc -l < "$out")
      else
        hits=$(grep -m1 -oE '^Hits: +[0-9]+' "$out" | grep -oE '[0-9]+')
      fi
      ratio=- cratio=-
      if [ -n "$f2b_secs" ]; then
        ratio=$(printf '%.1fx' "$(echo "$f2b_secs / $secs" | bc -l)")
        cratio=$(printf '%.1fx' "$(echo "$f2b_cpu / $cpu_s" | bc -l)")
      fi
      printf '%-28s %7.3fs %7.2fs %6.1f MB  %-16s %8s %8s\n' "rampart $mode${json:+ --json}" "$secs" "$cpu_s" "$rss" "$hits hits" "$ratio" "$cratio"
    done
  done
done
