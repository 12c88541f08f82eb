// Package e2e holds rampart's end-to-end system tests: the built binary runs
// as a daemon in a throw-away network namespace, a real OpenSSH server logs
// through a real rsyslog to the file it watches, attackers and a legitimate
// client connect from namespaces of their own, and the tests check what the
// kernel enforces and what the control socket reports.
//
// The tests need root (network namespaces, nftables, mounts) and skip with a
// message otherwise; CI runs them as root. They touch only namespaces they
// create and documentation addresses (192.0.2.0/24, 198.51.100.0/24,
// 2001:db8::/32). The package has no code of its own beyond this comment.
package e2e
