// Package policy is rampart's baseline: the host's default-deny inbound
// policy, kept in chain "policy-input" of table inet rampart (hook input,
// priority filter, policy drop). It builds the rules from [baseline],
// applies them in one netlink batch, refuses a baseline that would lock
// the administrator out (guard.go), and applies commit-confirmed changes
// that roll back on their own (confirm.go). docs/FIREWALL.md describes it.
//
// The package owns only the chains and sets named "policy-…" in the table;
// the ban layer (internal/firewall/nft), the limits and port-scan layer
// ("limit-…", "kban-…", "portscan…") and other tools' tables are never
// touched.
package policy

import (
	"net/netip"
	"slices"

	"github.com/rampart-ids/rampart/internal/config"
	"github.com/rampart-ids/rampart/internal/policy/portspec"
)

// PortProto is a port or port range of tcp or udp.
type PortProto = portspec.Spec

// Policy is the baseline as rules, ready to render.
type Policy struct {
	// Enabled false means no policy-input chain at all: the host accepts
	// everything (rampart's bans still apply).
	Enabled bool   `json:"enabled"`
	Rules   []Rule `json:"rules"`
}

// Env is what Build needs to know about the host.
type Env struct {
	// UsesDHCP reports whether the host is a DHCP client (dhcp = "auto").
	UsesDHCP bool
}

// Build turns [baseline] into a policy.
func Build(b config.Baseline, env Env) *Policy {
	p := &Policy{Enabled: b.Enabled}
	if !b.Enabled {
		return p
	}
	p.Rules = append(p.Rules, Rule{Kind: KindEstablished}, Rule{Kind: KindInvalid}, Rule{Kind: KindLoopback})
	// ICMP errors about known connections are "related" already; these
	// also cover errors for traffic conntrack has not seen and path MTU.
	for _, t := range []uint8{3, 11, 12} {
		p.Rules = append(p.Rules, Rule{Kind: KindICMP, Type: t})
	}
	v6 := []uint8{1, 2, 3, 4, 130, 131, 133, 134, 135, 136, 143}
	if b.ICMP {
		p.Rules = append(p.Rules, Rule{Kind: KindICMP, Type: 8})
		v6 = append(v6, 128)
		slices.Sort(v6)
	}
	for _, t := range v6 {
		p.Rules = append(p.Rules, Rule{Kind: KindICMPv6, Type: t})
	}
	if b.DHCP == "yes" || b.DHCP == "auto" && env.UsesDHCP {
		p.Rules = append(p.Rules, Rule{Kind: KindDHCPv4}, Rule{Kind: KindDHCPv6})
	}
	for _, a := range b.Allow {
		p.Rules = append(p.Rules, Rule{Kind: KindPort, Port: a})
	}
	for _, e := range b.AllowFrom {
		for _, src := range e.Sources {
			p.Rules = append(p.Rules, Rule{Kind: KindPort, Port: e.Port, Source: src})
		}
	}
	return p
}

// OpenPorts returns the ports the baseline lets in: those open to everyone
// and those open to some sources (allow_from), in rule order and without
// duplicates. With the baseline disabled every port is open and OpenPorts
// returns nil. The port-scan layer counts packets to other ports as probes
// of closed ports.
func (p *Policy) OpenPorts() []PortProto {
	if p == nil || !p.Enabled {
		return nil
	}
	var out []PortProto
	for _, r := range p.Rules {
		if r.Kind == KindPort && !slices.Contains(out, r.Port) {
			out = append(out, r.Port)
		}
	}
	return out
}

// Accepts reports whether a new connection from src to port/proto is let
// in (true for everything when the baseline is disabled).
func (p *Policy) Accepts(src netip.Addr, proto string, port uint16) bool {
	if p == nil || !p.Enabled {
		return true
	}
	src = src.Unmap()
	for _, r := range p.Rules {
		if r.Kind == KindPort && r.Port.Contains(proto, port) && (!r.Source.IsValid() || r.Source.Contains(src)) {
			return true
		}
	}
	return false
}

// Strings returns the rules' texts.
func (p *Policy) Strings() []string {
	out := make([]string, 0, len(p.Rules))
	for _, r := range p.Rules {
		out = append(out, r.String())
	}
	return out
}
