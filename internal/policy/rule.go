package policy

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/rampart-ids/rampart/internal/policy/portspec"
)

// Kind is what a rule of the baseline lets in.
type Kind string

// The kinds of rule, in the order Build puts them.
const (
	KindEstablished Kind = "established" // ct state established,related accept
	KindInvalid     Kind = "invalid"     // ct state invalid drop
	KindLoopback    Kind = "loopback"    // iifname lo accept
	KindICMP        Kind = "icmp"        // icmp type N accept
	KindICMPv6      Kind = "icmpv6"      // icmpv6 type N accept
	KindDHCPv4      Kind = "dhcpv4"      // udp sport 67 dport 68 accept
	KindDHCPv6      Kind = "dhcpv6"      // udp sport 547 dport 546 accept
	KindPort        Kind = "port"        // [ip/ip6 saddr NET] tcp/udp dport P accept
)

// Rule is one rule of chain policy-input. Its String is also the comment the
// rule carries in the kernel, which is how plan, show and rollback read the
// kernel's policy back (ParseRule).
type Rule struct {
	Kind Kind          `json:"kind"`
	Type uint8         `json:"type,omitempty"` // ICMP type
	Port portspec.Spec `json:"port,omitzero"`
	// Source, when valid, limits a port rule to one network.
	Source netip.Prefix `json:"source,omitzero"`
}

var icmpNames = map[uint8]string{0: "echo-reply", 3: "destination-unreachable", 8: "echo-request", 11: "time-exceeded", 12: "parameter-problem"}

var icmpv6Names = map[uint8]string{
	1: "destination-unreachable", 2: "packet-too-big", 3: "time-exceeded", 4: "parameter-problem",
	128: "echo-request", 130: "mld-listener-query", 131: "mld-listener-report", 133: "nd-router-solicit",
	134: "nd-router-advert", 135: "nd-neighbor-solicit", 136: "nd-neighbor-advert", 143: "mld2-listener-report",
}

func typeName(names map[uint8]string, t uint8) string {
	if n, ok := names[t]; ok {
		return n
	}
	return strconv.Itoa(int(t))
}

func typeNum(names map[uint8]string, s string) (uint8, bool) {
	for k, v := range names {
		if v == s {
			return k, true
		}
	}
	n, err := strconv.ParseUint(s, 10, 8)
	return uint8(n), err == nil
}

// String writes the rule the way nft lists it.
func (r Rule) String() string {
	switch r.Kind {
	case KindEstablished:
		return "ct state established,related accept"
	case KindInvalid:
		return "ct state invalid drop"
	case KindLoopback:
		return "iifname lo accept"
	case KindICMP:
		return "icmp type " + typeName(icmpNames, r.Type) + " accept"
	case KindICMPv6:
		return "icmpv6 type " + typeName(icmpv6Names, r.Type) + " accept"
	case KindDHCPv4:
		return "udp sport 67 udp dport 68 accept"
	case KindDHCPv6:
		return "udp sport 547 udp dport 546 accept"
	case KindPort:
		dport := strconv.Itoa(int(r.Port.From))
		if r.Port.To != r.Port.From {
			dport += "-" + strconv.Itoa(int(r.Port.To))
		}
		s := r.Port.Proto + " dport " + dport + " accept"
		if r.Source.IsValid() {
			fam := "ip"
			if r.Source.Addr().Is6() {
				fam = "ip6"
			}
			s = fam + " saddr " + r.Source.String() + " " + s
		}
		return s
	}
	return "unknown rule " + string(r.Kind)
}

// ParseRule reads back a rule's String (the comment of a rule in the
// kernel, or a line of the pending file).
func ParseRule(s string) (Rule, error) {
	f := strings.Fields(s)
	bad := fmt.Errorf("policy: %q is not a rule rampart writes", s)
	switch {
	case s == "ct state established,related accept":
		return Rule{Kind: KindEstablished}, nil
	case s == "ct state invalid drop":
		return Rule{Kind: KindInvalid}, nil
	case s == "iifname lo accept":
		return Rule{Kind: KindLoopback}, nil
	case s == "udp sport 67 udp dport 68 accept":
		return Rule{Kind: KindDHCPv4}, nil
	case s == "udp sport 547 udp dport 546 accept":
		return Rule{Kind: KindDHCPv6}, nil
	case len(f) == 4 && f[1] == "type" && f[3] == "accept" && (f[0] == "icmp" || f[0] == "icmpv6"):
		names, kind := icmpNames, KindICMP
		if f[0] == "icmpv6" {
			names, kind = icmpv6Names, KindICMPv6
		}
		t, ok := typeNum(names, f[2])
		r := Rule{Kind: kind, Type: t}
		if !ok || r.String() != s {
			return Rule{}, bad
		}
		return r, nil
	}
	var r Rule
	if len(f) == 7 && (f[0] == "ip" || f[0] == "ip6") && f[1] == "saddr" {
		p, err := netip.ParsePrefix(f[2])
		if err != nil || p != p.Masked() || p.Addr().Is6() != (f[0] == "ip6") || p.Addr().Is4In6() {
			return Rule{}, bad
		}
		r.Source = p
		f = f[3:]
	}
	if len(f) != 4 || f[1] != "dport" || f[3] != "accept" {
		return Rule{}, bad
	}
	p, err := portspec.Parse(f[2] + "/" + f[0])
	if err != nil || p.Proto != f[0] {
		return Rule{}, bad
	}
	r.Kind, r.Port = KindPort, p
	if r.String() != s {
		return Rule{}, bad
	}
	return r, nil
}
