package nft

import (
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/rampart-ids/rampart/internal/firewall"
	"golang.org/x/sys/unix"
)

// setKind names one of a jail's four sets.
type setKind struct {
	jail string
	v6   bool // IPv6 rather than IPv4
	net  bool // interval set of networks rather than hash set of addresses
}

func setKinds(jail string) []setKind {
	return []setKind{{jail, false, false}, {jail, false, true}, {jail, true, false}, {jail, true, true}}
}

// kindFor returns the set a normalized prefix belongs in.
func kindFor(b firewall.Ban) setKind {
	a := b.Prefix.Addr()
	return setKind{jail: b.Jail, v6: a.Is6(), net: b.Prefix.Bits() < a.BitLen()}
}

func (k setKind) name() string {
	n := banPrefix + k.jail + "-v4"
	if k.v6 {
		n = banPrefix + k.jail + "-v6"
	}
	if k.net {
		n += "net"
	}
	return n
}

// parseSetName recovers the jail and kind from the name of a ban set.
func parseSetName(name string) (setKind, bool) {
	rest, ok := strings.CutPrefix(name, banPrefix)
	if !ok {
		return setKind{}, false
	}
	for _, suffix := range []string{"-v4", "-v4net", "-v6", "-v6net"} {
		if jail, ok := strings.CutSuffix(rest, suffix); ok && firewall.ValidateJailName(jail) == nil {
			return setKind{jail: jail, v6: strings.HasPrefix(suffix, "-v6"), net: strings.HasSuffix(suffix, "net")}, true
		}
	}
	return setKind{}, false
}

func (k setKind) keyType() nftables.SetDatatype {
	if k.v6 {
		return nftables.TypeIP6Addr
	}
	return nftables.TypeIPAddr
}

// set describes the kernel set for k (for creation and for element
// messages).
func (k setKind) set(t *nftables.Table) *nftables.Set {
	return &nftables.Set{
		Table:        t,
		Name:         k.name(),
		KeyType:      k.keyType(),
		HasTimeout:   true,
		Interval:     k.net,
		KeyByteOrder: binaryutil.BigEndian,
		Comment:      Marker,
	}
}

// matches reports whether an existing set has the shape Setup would give
// it; a set that does not is recreated.
func (k setKind) matches(s *nftables.Set) bool {
	return s.HasTimeout && s.Interval == k.net && s.KeyType.Bytes == k.keyType().Bytes && !s.IsMap
}

// matchRule is "meta nfproto ipvX ip[6] saddr @set counter <verdict>".
func matchRule(t *nftables.Table, c *nftables.Chain, s *nftables.Set, k setKind, a firewall.Action) *nftables.Rule {
	proto, off, size := byte(unix.NFPROTO_IPV4), uint32(12), uint32(4)
	if k.v6 {
		proto, off, size = unix.NFPROTO_IPV6, 8, 16
	}
	verdict := &expr.Verdict{Kind: expr.VerdictDrop}
	if a == firewall.Reject {
		verdict = &expr.Verdict{Kind: expr.VerdictGoto, Chain: rejectChain}
	}
	return &nftables.Rule{Table: t, Chain: c, UserData: markerData, Exprs: []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: size},
		&expr.Lookup{SourceRegister: 1, SetName: s.Name, SetID: s.ID},
		&expr.Counter{},
		verdict,
	}}
}

// dispatchRules send a jail's traffic from the base chain to the jail's
// chain: one rule per protocol and port range, or one rule for all traffic.
func dispatchRules(t *nftables.Table, base *nftables.Chain, j firewall.JailSpec) []*nftables.Rule {
	jump := &expr.Verdict{Kind: expr.VerdictJump, Chain: jailChain(j.Name)}
	if len(j.Ports) == 0 {
		return []*nftables.Rule{{Table: t, Chain: base, UserData: markerData, Exprs: []expr.Any{jump}}}
	}
	protos := j.Protocols
	if len(protos) == 0 {
		protos = firewall.DefaultProtocols()
	}
	var rules []*nftables.Rule
	for _, p := range protos {
		for _, r := range j.Ports {
			ex := []expr.Any{
				&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
				&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{protoNumber(p)}},
				// th dport: the destination port sits at offset 2 in TCP, UDP and SCTP.
				&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
			}
			if r.First == r.Last {
				ex = append(ex, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(r.First)})
			} else {
				ex = append(ex, &expr.Range{Op: expr.CmpOpEq, Register: 1,
					FromData: binaryutil.BigEndian.PutUint16(r.First), ToData: binaryutil.BigEndian.PutUint16(r.Last)})
			}
			rules = append(rules, &nftables.Rule{Table: t, Chain: base, UserData: markerData, Exprs: append(ex, jump)})
		}
	}
	return rules
}

// rejectRules answer TCP with a reset and everything else with ICMP(v6)
// administratively prohibited.
func rejectRules(t *nftables.Table, c *nftables.Chain) []*nftables.Rule {
	return []*nftables.Rule{
		{Table: t, Chain: c, UserData: markerData, Exprs: []expr.Any{
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_TCP}},
			&expr.Reject{Type: unix.NFT_REJECT_TCP_RST},
		}},
		{Table: t, Chain: c, UserData: markerData, Exprs: []expr.Any{
			&expr.Reject{Type: unix.NFT_REJECT_ICMPX_UNREACH, Code: unix.NFT_REJECT_ICMPX_ADMIN_PROHIBITED},
		}},
	}
}

func protoNumber(p string) byte {
	switch p {
	case "udp":
		return unix.IPPROTO_UDP
	case "sctp":
		return unix.IPPROTO_SCTP
	}
	return unix.IPPROTO_TCP
}
