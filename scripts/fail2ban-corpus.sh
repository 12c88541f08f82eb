#!/usr/bin/env bash
# Unpack Debian's fail2ban package (filters and their annotated sample logs)
# into a cache folder for the compatibility tests, and print that folder.
# Nothing of it is committed: it is fetched from the Debian archive at test time.
set -euo pipefail
dest=${RAMPART_FAIL2BAN_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/rampart/fail2ban}
if [ -f "$dest/etc/fail2ban/filter.d/sshd.conf" ]; then echo "$dest"; exit 0; fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
( cd "$tmp" && apt-get download fail2ban >/dev/null 2>&1 ) || {
  echo "fail2ban-corpus.sh: 'apt-get download fail2ban' failed (no Debian archive reachable?)" >&2; exit 1; }
mkdir -p "$dest"
dpkg-deb -x "$tmp"/fail2ban_*.deb "$dest"
echo "$dest"
