#!/usr/bin/env bash
# Issue 11's anchor: rampart's web-attack detection beside Coraza v3.8.1
# with the OWASP CRS v4.25.0 (paranoia level 1, anomaly threshold 5; the
# separate module bench/coraza), in one run, on the same lines:
#   speed.  a LINES-line access log with 10 % attacks (genlog, as
#           scripts/bench-webattack.sh): `rampart filter test web-attacks`
#           and bench/coraza, each pinned to one core (taskset -c $CPU),
#           CPU time from /usr/bin/time; the ratio of lines per CPU second;
#   CORPUS. (optional) a held-out corpus directory written as an access log
#           (each attack from its own address, each benign client from its
#           own): per category the attacks each engine flags, and the benign
#           clients a single request of which rampart bans / CRS blocks.
# usage: scripts/bench-coraza.sh   LINES=20000 CPU=1 CORPUS=internal/webattack/corpus/heldout4
set -euo pipefail
cd "$(dirname "$0")/.."
lines=${LINES:-20000}
cpu=${CPU:-1}
tmp=$(mktemp -d /tmp/rampart-bench-coraza.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$tmp/rampart" ./cmd/rampart
(cd bench/coraza && CGO_ENABLED=0 go build -trimpath -o "$tmp/coraza" .)
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  host: $(nproc) cores  commit: $(git rev-parse --short HEAD)  load: $(cut -d' ' -f1-3 /proc/loadavg)"

go run ./internal/webattack/corpus/genlog -benign $((lines * 9 / 10)) -attacks $((lines / 10)) > "$tmp/web.log"
cpus() { awk '{ printf "%.2f", $2 + $3 }' "$1"; }
/usr/bin/time -f "%e %U %S %M" -o "$tmp/t.r" taskset -c "$cpu" "$tmp/rampart" filter test web-attacks "$tmp/web.log" --json > "$tmp/r.json"
/usr/bin/time -f "%e %U %S %M" -o "$tmp/t.c" taskset -c "$cpu" "$tmp/coraza" "$tmp/web.log" > "$tmp/c.json" 2> "$tmp/c.err"
cr=$(cpus "$tmp/t.r"); cc=$(cpus "$tmp/t.c")
awk -v n="$lines" -v cr="$cr" -v cc="$cc" -v rr="$(wc -l < "$tmp/r.json")" -v rc="$(wc -l < "$tmp/c.json")" \
  -v mr="$(cut -d' ' -f4 "$tmp/t.r")" -v mc="$(cut -d' ' -f4 "$tmp/t.c")" 'BEGIN {
  printf "speed, %d lines (10 %% attacks), one core:\n", n
  printf "  rampart: CPU %.2f s, %d lines/s, %d flagged, max RSS %d MB\n", cr, n / cr, rr, mr / 1024
  printf "  coraza:  CPU %.2f s, %d lines/s, %d blocked, max RSS %d MB\n", cc, n / cc, rc, mc / 1024
  printf "  ratio: rampart %.0fx the lines per CPU second\n", cc / cr }'
cat "$tmp/c.err"

if [ -n "${CORPUS:-}" ]; then
  "$tmp/coraza" -tolog "$CORPUS" "$tmp/h.log" "$tmp/h.cat"
  "$tmp/rampart" filter test web-attacks "$tmp/h.log" --json > "$tmp/hr.json"
  "$tmp/coraza" "$tmp/h.log" > "$tmp/hc.json" 2> /dev/null
  python3 - "$tmp/h.cat" "$tmp/hr.json" "$tmp/hc.json" "$CORPUS" <<'PY'
import json, sys, collections
cat = {}
for l in open(sys.argv[1]):
    n, c, ip = l.rstrip("\n").split("\t")
    cat[int(n)] = (c, ip)
r = [json.loads(l) for l in open(sys.argv[2])]
c = [json.loads(l) for l in open(sys.argv[3])]
total = collections.Counter(v[0] for v in cat.values() if v[0] != "benign")
def per(hits):
    got = collections.Counter(cat[h["line"]][0] for h in hits if cat[h["line"]][0] != "benign")
    ben = {cat[h["line"]][1] for h in hits if cat[h["line"]][0] == "benign"}
    return got, ben
rf, rfb = per(r)
rs, rsb = per([h for h in r if h.get("single_hit")])
cb, cbb = per(c)
clients = len({v[1] for v in cat.values() if v[0] == "benign"})
print(f"detection on {sys.argv[4]} ({sum(total.values())} attacks, {clients} benign clients):")
print(f"  {'category':10} {'attacks':>7} {'rampart flagged':>16} {'rampart 1-hit ban':>18} {'coraza blocked':>15}")
for k in sorted(total):
    print(f"  {k:10} {total[k]:7} {rf[k]:9} {100*rf[k]/total[k]:5.1f} % {rs[k]:10} {100*rs[k]/total[k]:5.1f} % {cb[k]:8} {100*cb[k]/total[k]:5.1f} %")
T = sum(total.values())
print(f"  {'overall':10} {T:7} {sum(rf.values()):9} {100*sum(rf.values())/T:5.1f} % {sum(rs.values()):10} {100*sum(rs.values())/T:5.1f} % {sum(cb.values()):8} {100*sum(cb.values())/T:5.1f} %")
print(f"  benign clients: rampart bans {len(rsb)} (a finding for {len(rfb)}), coraza blocks {len(cbb)}, of {clients}")
PY
fi
