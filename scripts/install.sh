#!/usr/bin/env bash
# Build rampart's Debian package from this checkout and install it with apt.
# Run as root on Debian 12: sudo scripts/install.sh
#
# What it does (docs/INSTALL.md says what the package changes):
#   1. installs a Go toolchain if missing (bookworm-backports), and git;
#   2. builds dist/rampart_<version>_<arch>.deb for this machine's
#      architecture (go run ./cmd/mkdist, what `make deb` runs);
#   3. removes what an earlier scripts/install.sh put in /usr/local/bin and
#      /etc/systemd/system, then `apt-get install ./dist/rampart_…deb`: the
#      package enables the unit and starts it on the built-in configuration
#      (the sshd jail, like Debian's Fail2ban), which cannot lock anyone out.
#   4. on a machine without systemd, runs `rampart run` in the foreground.
# Edit /etc/rampart/rampart.toml (see docs/CONFIG.md), then
# `rampart config check` and `systemctl reload rampart`.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "install.sh: run as root (sudo scripts/install.sh)" >&2
  exit 2
fi
export DEBIAN_FRONTEND=noninteractive
if ! command -v git >/dev/null 2>&1; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends git
fi
if ! command -v go >/dev/null 2>&1; then
  echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/backports.list
  apt-get update -qq
  apt-get install -y -qq -t bookworm-backports golang-go
fi
arch=$(dpkg --print-architecture)
deb=$(go run ./cmd/mkdist -arch "$arch" -out dist deb)
# An install by the earlier script would shadow the package's unit and binary.
if grep -qs /usr/local/bin/rampart /etc/systemd/system/rampart.service; then
  echo "install.sh: replacing the unit and binary of an earlier scripts/install.sh"
  if [ -d /run/systemd/system ]; then systemctl disable --now rampart.service || true; fi
  rm -f /etc/systemd/system/rampart.service /usr/local/bin/rampart
  if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
fi
apt-get update -qq
apt-get install -y "./$deb"
if [ -d /run/systemd/system ]; then
  sleep 1
  rampart status || { journalctl -u rampart -n 30 --no-pager; exit 1; }
  echo "rampart $(rampart version | cut -d' ' -f2) is running: 'rampart status', 'journalctl -u rampart', 'man rampart'"
else
  echo "install.sh: no systemd here; running 'rampart run' in the foreground (Ctrl-C stops it)"
  exec /usr/sbin/rampart run
fi
