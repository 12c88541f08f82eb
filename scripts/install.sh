#!/usr/bin/env bash
# Build rampart from this checkout, install it with its systemd unit, and
# start it on the embedded default configuration (the sshd jail, like
# Debian's Fail2ban). Run as root on Debian 12: sudo scripts/install.sh
#
# What it does:
#   1. installs nftables and a Go toolchain if missing (scripts/deps.sh does
#      the same for the tests);
#   2. builds a static binary (CGO_ENABLED=0) and installs it as
#      /usr/local/bin/rampart;
#   3. installs dist/rampart.service and starts it with systemd, or, on a
#      machine without systemd, runs `rampart run` in the foreground.
# The default configuration needs no file; write /etc/rampart/rampart.toml
# (see docs/CONFIG.md) to change it, then `rampart config check`.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "install.sh: run as root (sudo scripts/install.sh)" >&2
  exit 2
fi
export DEBIAN_FRONTEND=noninteractive
need=()
command -v nft >/dev/null 2>&1 || need+=(nftables)
command -v make >/dev/null 2>&1 || need+=(make)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
if ! command -v go >/dev/null 2>&1; then
  echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/backports.list
  apt-get update -qq
  apt-get install -y -qq -t bookworm-backports golang-go
fi
make build
install -m 0755 bin/rampart /usr/local/bin/rampart
install -d -m 0755 /etc/rampart /etc/rampart/rampart.d
install -d -m 0755 /usr/share/bash-completion/completions
/usr/local/bin/rampart completion bash > /usr/share/bash-completion/completions/rampart
if [ -d /run/systemd/system ]; then
  install -m 0644 dist/rampart.service /etc/systemd/system/rampart.service
  systemctl daemon-reload
  systemctl enable --now rampart.service
  sleep 1
  rampart status || { journalctl -u rampart -n 30 --no-pager; exit 1; }
  echo "rampart is running: 'rampart status', 'journalctl -u rampart', 'rampart --help'"
else
  echo "install.sh: no systemd here; running 'rampart run' in the foreground (Ctrl-C stops it)"
  exec /usr/local/bin/rampart run
fi
