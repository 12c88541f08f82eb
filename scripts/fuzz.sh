#!/usr/bin/env bash
# Run every native fuzz target in the module for a short time each.
# usage: scripts/fuzz.sh [FUZZTIME]   (default 10s; run longer by hand, e.g. 10m)
set -euo pipefail
t=${1:-10s}
n=0
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for f in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
    echo "fuzz: $pkg $f ($t)"
    go test -run '^$' -fuzz "^$f\$" -fuzztime "$t" "$pkg" >/tmp/rampart-fuzz.$$ 2>&1 || { cat /tmp/rampart-fuzz.$$; rm -f /tmp/rampart-fuzz.$$; exit 1; }
    n=$((n+1))
  done
done
rm -f /tmp/rampart-fuzz.$$
echo "fuzz: $n targets ran clean for $t each"
