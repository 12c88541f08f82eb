#!/usr/bin/env bash
# File integrity speed and memory, side by side with AIDE, one core each.
#
# 1. Copies a ~20,800-entry slice of /usr (bin, sbin, include, share/perl,
#    lib/python3, share/doc: ~560 MB) to $BENCH_DIR/tree once, reads it once
#    so both tools start from a warm page cache.
# 2. Three rounds, each pinned with taskset to one CPU:
#      aide --init   /  rampart fim init            (SHA-256 of every file)
#      aide --check  /  rampart fim check           (nothing changed)
#                       rampart fim check --full    (re-hash everything)
#    AIDE's rule is sha256+p+u+g+s+m+c+i+l+xattrs (what rampart records),
#    its database uncompressed in $BENCH_DIR, beside rampart's baseline.
# 3. Peak RSS of rampart fim init and check on 200,000 generated files.
# Prints wall and CPU (user+sys) time ranges over the rounds, and the ratio
# of the medians (AIDE / rampart).
# usage: scripts/bench-fim.sh   (BENCH_DIR, BENCH_CPU, ROUNDS to change)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v aide >/dev/null || { echo "bench-fim: aide is not installed (scripts/deps.sh installs it)" >&2; exit 2; }
go build -o "${TMPDIR:-/tmp}/rampart-bench-fim" ./cmd/rampart
bin=${TMPDIR:-/tmp}/rampart-bench-fim
dir=${BENCH_DIR:-/var/tmp/rampart-fim-bench}
cpu=${BENCH_CPU:-1}
rounds=${ROUNDS:-3}
mkdir -p "$dir"
tree=$dir/tree
if [ ! -e "$dir/tree.done" ]; then
  rm -rf "$tree"
  for d in /usr/bin /usr/sbin /usr/include /usr/share/perl /usr/lib/python3 /usr/share/doc; do
    mkdir -p "$tree$(dirname "$d")"
    cp -a "$d" "$tree$d"
  done
  touch "$dir/tree.done"
fi
big=$dir/big
if [ ! -e "$dir/big.done" ]; then
  rm -rf "$big"
  python3 - "$big" <<'PY'
import os, sys, random
root = sys.argv[1]; rng = random.Random(7); blob = os.urandom(1 << 16)
for i in range(200000):
    d = os.path.join(root, "d%03d" % (i // 2000), "s%02d" % ((i // 100) % 20))
    if i % 100 == 0:
        os.makedirs(d, exist_ok=True)
    n = rng.randrange(0, 2048)
    with open(os.path.join(d, "file-%06d.conf" % i), "wb") as f:
        f.write(blob[:n])
PY
  touch "$dir/big.done"
fi
cat > "$dir/aide.conf" <<CONF
database_in=file:$dir/aide.db
database_out=file:$dir/aide.db.new
gzip_dbout=no
report_url=stdout
FIM = sha256+p+u+g+s+m+c+i+l+xattrs
$tree FIM
CONF
find "$tree" -type f -exec cat {} + > /dev/null
entries=$(find "$tree" | wc -l)
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  host: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg)   pinned to CPU $cpu, $rounds rounds"
echo "tree: $tree ($entries entries, $(du -sh "$tree" | cut -f1)); $(aide --version 2>&1 | head -1); rampart $(git rev-parse --short HEAD)"
tf=$(mktemp); out=$(mktemp); trap 'rm -f "$tf" "$out"' EXIT
declare -A wall cpus
run() { # name, want-exit, command...
  local name=$1 want=$2; shift 2
  local rc=0
  /usr/bin/time -f '%e %U %S %M' -o "$tf" taskset -c "$cpu" "$@" > "$out" 2>&1 || rc=$?
  if [ "$rc" != "$want" ]; then echo "bench-fim: $name exited $rc, want $want:"; tail -20 "$out"; exit 1; fi
  local secs user sys kb
  read -r secs user sys kb < <(tail -1 "$tf")
  wall[$name]="${wall[$name]:-} $secs"
  cpus[$name]="${cpus[$name]:-} $(echo "$user + $sys" | bc -l)"
}
for r in $(seq "$rounds"); do
  rm -f "$dir/aide.db" "$dir/aide.db.new" "$dir/fim.baseline"
  run "aide --init" 0 aide --init -c "$dir/aide.conf"
  mv "$dir/aide.db.new" "$dir/aide.db"
  run "rampart fim init" 0 "$bin" fim init --path "$tree" --baseline "$dir/fim.baseline"
  run "aide --check" 0 aide --check -c "$dir/aide.conf"
  run "rampart fim check" 0 "$bin" fim check --path "$tree" --baseline "$dir/fim.baseline"
  run "rampart fim check --full" 0 "$bin" fim check --full --path "$tree" --baseline "$dir/fim.baseline"
done
stats() { # values -> "min-max median"
  tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{v[NR]=$1} END {printf "%.2f-%.2f %.3f", v[1], v[NR], (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'
}
printf '\n%-26s %-13s %-13s\n' run "wall s" "cpu s"
for name in "aide --init" "rampart fim init" "aide --check" "rampart fim check" "rampart fim check --full"; do
  read -r wr wm <<<"$(stats "${wall[$name]}")"; read -r cr cm <<<"$(stats "${cpus[$name]}")"
  printf '%-26s %-13s %-13s\n' "$name" "$wr" "$cr"
  eval "med_wall_${name//[^a-z]/_}=$wm; med_cpu_${name//[^a-z]/_}=$cm"
done
ratio() { echo "$1 / $2" | bc -l | xargs printf '%.1fx'; }
echo
echo "init:  AIDE / rampart = $(ratio "$med_wall_aide___init" "$med_wall_rampart_fim_init") wall, $(ratio "$med_cpu_aide___init" "$med_cpu_rampart_fim_init") cpu (medians)"
echo "check: AIDE / rampart = $(ratio "$med_wall_aide___check" "$med_wall_rampart_fim_check") wall, $(ratio "$med_cpu_aide___check" "$med_cpu_rampart_fim_check") cpu (medians)"
echo
rm -f "$dir/big.baseline"
/usr/bin/time -f '%e %M' -o "$tf" taskset -c "$cpu" "$bin" fim init --path "$big" --baseline "$dir/big.baseline" > /dev/null
read -r s kb < "$tf"; echo "200,000 files ($(find "$big" | wc -l) entries): fim init  peak RSS $((kb / 1024)) MB ($s s)"
/usr/bin/time -f '%e %M' -o "$tf" taskset -c "$cpu" "$bin" fim check --path "$big" --baseline "$dir/big.baseline" > /dev/null
read -r s kb < "$tf"; echo "200,000 files: fim check peak RSS $((kb / 1024)) MB ($s s); baseline $(du -h "$dir/big.baseline" | cut -f1)"
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
