// Package e2e holds rampart's end-to-end system tests: the built binary runs
// as a daemon in a throw-away network namespace, a real OpenSSH server logs
// through a real rsyslog to the file it watches, attackers and a legitimate
// client connect from namespaces of their own, and the tests check what the
// kernel enforces and what the control socket reports.
//
// Run them as root (network namespaces, nftables, private mounts); as any
// other user they skip with a message:
//
//	sudo go test ./internal/e2e -v
//
// TestSSHD is issue 3's acceptance scenario (bans over IPv4 and IPv6 at
// exactly maxretry, the legitimate client still logging in, restart, kill -9,
// unban, rename and copytruncate rotation, --fail2ban); the other tests feed
// the daemon hostile configurations, floods and missing or unreadable logs,
// delete its nftables table and knock on its socket as another user.
//
// The tests touch only namespaces they create and documentation addresses
// (192.0.2.0/24, 198.51.100.0/24, 2001:db8::/32). They need the Debian
// packages scripts/deps.sh installs (openssh-server, rsyslog, nftables,
// iproute2) and util-linux's unshare, mount and setpriv.
//
// The benchtool command below this package is the measuring half of
// scripts/bench-daemon.sh.
package e2e
