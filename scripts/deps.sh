#!/usr/bin/env bash
# Install what rampart's tests need on Debian 12. Idempotent; needs root.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then
  echo "deps.sh: not root, skipping package installation (system tests will skip)" >&2
  exit 0
fi
pkgs=(
  nftables ipset iptables iproute2          # firewall backends, network namespaces
  openssh-server openssh-client rsyslog     # the real sshd + syslog of the end-to-end tests
  logrotate python3 ca-certificates         # rotation tests, flood generator
  prometheus                                # promtool checks dist/monitoring's alerting rules
  nginx-light curl                          # the web-attack end-to-end test: a real nginx, real requests
  libcap2-bin aide                          # fim: setcap in tests, AIDE beside rampart in bench-fim.sh
  chromium fonts-dejavu-core                # the dashboard's browser test (internal/daemon/web_test.go)
  lintian mmdebstrap man-db bash-completion systemd  # packaging tests (internal/pkgbuild)
  nmap socat hping3 conntrack               # the kernel layer's tests: scans, listeners, floods
  auditd                                    # the audit-log source's end-to-end test
  iputils-ping                              # the baseline test: echo is answered when icmp = true
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # policy-rc.d keeps package scripts from starting services on the host.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if ! command -v go >/dev/null 2>&1; then
  # Debian 12's own Go is too old; bookworm-backports' is new enough to fetch
  # the toolchain go.mod names (GOTOOLCHAIN=auto).
  echo "deps.sh: installing Go from bookworm-backports"
  echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/backports.list
  apt-get update -qq
  apt-get install -y -qq -t bookworm-backports golang-go
fi
# Suricata (the eve.json source's end-to-end test) is in bookworm-backports
# only. Packages from backports are installed only when asked for by -t.
if ! command -v suricata >/dev/null 2>&1 && grep -q bookworm /etc/os-release; then
  echo "deps.sh: installing suricata from bookworm-backports"
  export DEBIAN_FRONTEND=noninteractive
  [ -f /etc/apt/sources.list.d/backports.list ] || echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/backports.list
  apt-get update -qq
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  apt-get install -y -qq --no-install-recommends -t bookworm-backports suricata
fi
scripts/fail2ban-corpus.sh >/dev/null
