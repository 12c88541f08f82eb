// Package limits enforces [limits.NAME] in the kernel: connection limits
// for services that write no log. Per limit, nftables counts per source
// (IPv4 per ipv4_prefix, IPv6 per ipv6_prefix network, /64 by default)
// the concurrent connections to the port (`ct count over max_conn`) and
// the new connections (`limit rate over RATE`), each in a dynamic set; a
// source over either is added by the kernel itself to the limit's ban set
// (`kban-NAME-v4|v6`, timeout bantime), its packet is logged once to NFLOG
// group Group and dropped, and its later packets to the port are dropped
// by the ban set's rule. No user-space loop counts anything: the daemon
// reads the logged packets (Listen) and the ban sets (Kernel.Bans) to
// record the kernel's bans as rampart bans.
//
// The layer owns chain limits-input (hook input, priority -10: before the
// baseline's policy-input at 0; it never accepts, it only drops, so every
// other layer still applies) and the sets kban-*, lconn-* and lrate-* in
// table inet rampart, and touches nothing else.
package limits

import (
	"net/netip"
	"time"

	"github.com/rampart-ids/rampart/internal/config"
)

// Group is the NFLOG group of the limits' ban packets (the port-scan
// layer uses 4760).
const Group = 4761

// Names of the layer's objects in table inet rampart.
const (
	TableName = "rampart"
	ChainName = "limits-input"
	// Priority of the chain: before the baseline (0).
	Priority = -10
	// Marker is the comment on the layer's rules.
	Marker = "rampart-limits"
	// SetSize bounds every set (sources counted or banned per limit and
	// family): a flood of spoofed sources fills it and is then no longer
	// counted, instead of taking the kernel's memory.
	SetSize = 65535
)

// Limit is one limit as the kernel enforces it.
type Limit struct {
	Name     string
	Port     uint16
	Protocol string // "tcp" or "udp"
	// MaxConn is concurrent connections per source (0: none).
	MaxConn int
	// Rate new connections per Per per source (0: none).
	Rate int
	Per  time.Duration
	// BanTime is the kernel ban's length.
	BanTime time.Duration
	// IPv4Prefix and IPv6Prefix group sources.
	IPv4Prefix, IPv6Prefix int
}

// FromConfig maps the configuration's limits.
func FromConfig(ls []config.Limit) []Limit {
	out := make([]Limit, 0, len(ls))
	for _, l := range ls {
		out = append(out, Limit{Name: l.Name, Port: l.Port, Protocol: l.Protocol, MaxConn: l.MaxConn, Rate: l.Rate, Per: l.Per,
			BanTime: l.BanTime, IPv4Prefix: l.IPv4Prefix, IPv6Prefix: l.IPv6Prefix})
	}
	return out
}

// JailName is the pseudo-jail of a limit's bans in rampart ("limit-api"):
// their set in the ban layer, status and history.
func JailName(limit string) string { return "limit-" + limit }

// OriginName is the name in a limit's ban origin: "kernel limit api".
func OriginName(limit string) string { return "limit " + limit }

// Ban is a ban the kernel made: an element of a kban set.
type Ban struct {
	Limit  string
	Prefix netip.Prefix
	// Expires is how long the kernel keeps it.
	Expires time.Duration
}

// bits returns the prefix length sources of the family are grouped by.
func (l Limit) bits(v6 bool) int {
	if v6 {
		if l.IPv6Prefix <= 0 || l.IPv6Prefix > 128 {
			return 64
		}
		return l.IPv6Prefix
	}
	if l.IPv4Prefix <= 0 || l.IPv4Prefix > 32 {
		return 32
	}
	return l.IPv4Prefix
}

// Prefix is the network l counts and bans a in: a masked to ipv4_prefix
// or ipv6_prefix.
func (l Limit) Prefix(a netip.Addr) netip.Prefix {
	a = a.Unmap().WithZone("")
	p, _ := a.Prefix(l.bits(a.Is6()))
	return p
}
