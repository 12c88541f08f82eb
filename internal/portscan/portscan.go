// Package portscan is the kernel side of rampart's port-scan detection
// ([portscan], docs/FIREWALL.md "Port scans"): a chain of its own in table
// inet rampart logs, rate-limited, the packets that try a port the host
// does not serve to an NFLOG group, and a finding source reads them back,
// one finding per packet, keyed by protocol and port. The daemon counts
// the findings' distinct keys per source in a jail (decide.Jail with
// Distinct) and bans through the ban manager, like any jail.
//
// The chain never accepts and never drops: it only logs. What it leaves
// out, in order: loopback, packets of known connections (ct state
// established or related), sources in the ignore sets, and the open ports
// (the baseline's, or the listening sockets' when there is no baseline).
// Packets conntrack finds invalid (FIN, NULL and XMAS probes) are logged:
// the chain runs at priority -5, before the baseline drops them.
package portscan

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/rampart-ids/rampart/internal/policy/portspec"
)

// The layer's names in table inet rampart. No other layer claims them (the
// ban layer has bans and ban-*, the baseline policy-*, the blocklists
// lists and list-*, the limits limit-*), and this layer touches nothing
// else.
const (
	TableName = "rampart"
	// ChainName is hooked at input, priority -5: after the limits (-10),
	// before the baseline (0).
	ChainName = "portscan"
	// Priority is the chain's hook priority.
	Priority = -5
	// SetV4 and SetV6 hold the sources never logged (interval sets).
	SetV4 = "portscan-ignore-v4"
	SetV6 = "portscan-ignore-v6"
	// RateV4 and RateV6 are the per-source log budgets (dynamic sets the
	// kernel fills: one element per source, gone after RateTimeout idle).
	RateV4 = "portscan-rate-v4"
	RateV6 = "portscan-rate-v6"
	// RateTimeout is how long the kernel remembers a source's budget.
	RateTimeout = time.Minute
	// RateSize bounds the sources the kernel budgets at once; a source
	// beyond it is logged within the global budget only.
	RateSize = 65536
	// LogPrefix is the log rule's prefix: the source keeps only messages
	// that carry it.
	LogPrefix = "rampart-portscan"
	// Marker starts the comment of the layer's rules; the log rule's
	// comment ends in the Rules' fingerprint.
	Marker = "rampart-portscan"
	// DefaultGroup is the NFLOG group the chain logs to ([limits] use 4761).
	DefaultGroup = 4760
	// Snaplen is how much of each packet the kernel copies: the IPv6
	// header, a few extension headers and the TCP header fit.
	Snaplen = 128
)

// Rules is what the chain enforces.
type Rules struct {
	// Group is the NFLOG group.
	Group uint16
	// Rate is the packets logged per second, from all sources together
	// (the burst is as large): a flood costs the daemon at most this.
	Rate int
	// PerSource, when positive, is the packets logged per second for one
	// source address (the burst is as large): one source flooding a
	// closed port cannot spend the global budget alone and hide other
	// scanners. PerSourceFor gives the daemon's value.
	PerSource int
	// Ignore are the sources never logged.
	Ignore []netip.Prefix
	// Open are the ports not logged (served ports).
	Open []portspec.Spec
}

// Normal returns r with its lists sorted and without duplicates, so that
// two Rules that log the same packets compare equal.
func (r Rules) Normal() Rules {
	out := Rules{Group: r.Group, Rate: r.Rate, PerSource: r.PerSource}
	for _, p := range r.Ignore {
		out.Ignore = append(out.Ignore, netip.PrefixFrom(p.Addr().Unmap(), unmappedBits(p)).Masked())
	}
	slices.SortFunc(out.Ignore, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
	out.Ignore = slices.Compact(out.Ignore)
	out.Open = slices.Clone(r.Open)
	slices.SortFunc(out.Open, func(a, b portspec.Spec) int {
		if c := strings.Compare(a.Proto, b.Proto); c != 0 {
			return c
		}
		if a.From != b.From {
			return int(a.From) - int(b.From)
		}
		return int(a.To) - int(b.To)
	})
	out.Open = slices.Compact(out.Open)
	return out
}

func unmappedBits(p netip.Prefix) int {
	if p.Addr().Is4In6() {
		return max(p.Bits()-96, 0)
	}
	return p.Bits()
}

// String describes r for the log and the fingerprint.
func (r Rules) String() string {
	n := r.Normal()
	var open []string
	for _, p := range n.Open {
		open = append(open, p.String())
	}
	var ign []string
	for _, p := range n.Ignore {
		ign = append(ign, p.String())
	}
	return fmt.Sprintf("group %d rate %d/s per source %d/s open [%s] ignore [%s]", n.Group, n.Rate, n.PerSource, strings.Join(open, " "), strings.Join(ign, " "))
}

// PerSourceFor is the per-source budget for a threshold of ports distinct
// ports: twice the threshold a second (at least 20), so that a scanner's
// first burst holds the ports that ban it, and the global budget rate
// takes at least five flooding sources to spend.
func PerSourceFor(ports, rate int) int {
	return min(max(2*ports, 20), max(rate/5, 1))
}

// Fingerprint is a short hash of String: the kernel's log rule carries it,
// so that a changed or partly deleted chain is noticed and rebuilt.
func (r Rules) Fingerprint() string {
	h := sha256.Sum256([]byte(r.String()))
	return hex.EncodeToString(h[:8])
}
