package policy

import (
	"encoding/binary"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"
)

// ChainName is the baseline's chain in table inet rampart.
const ChainName = "policy-input"

// TableName is the table the baseline shares with the ban layer.
const TableName = "rampart"

// markerPrefix starts the comment of every rule the baseline creates;
// the rest is the rule's String.
const markerPrefix = "rampart-policy: "

// exprs returns the expressions of r, ending in its verdict.
func (r Rule) exprs() []expr.Any {
	accept := &expr.Verdict{Kind: expr.VerdictAccept}
	switch r.Kind {
	case KindEstablished, KindInvalid:
		bits, verdict := expr.CtStateBitESTABLISHED|expr.CtStateBitRELATED, expr.Any(accept)
		if r.Kind == KindInvalid {
			bits, verdict = expr.CtStateBitINVALID, &expr.Verdict{Kind: expr.VerdictDrop}
		}
		return []expr.Any{
			&expr.Ct{Register: 1, Key: expr.CtKeySTATE},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: binary.NativeEndian.AppendUint32(nil, bits), Xor: make([]byte, 4)},
			&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)},
			verdict,
		}
	case KindLoopback:
		name := make([]byte, unix.IFNAMSIZ)
		copy(name, "lo")
		return []expr.Any{&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1}, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: name}, accept}
	case KindICMP, KindICMPv6:
		fam, proto := byte(unix.NFPROTO_IPV4), byte(unix.IPPROTO_ICMP)
		if r.Kind == KindICMPv6 {
			fam, proto = unix.NFPROTO_IPV6, unix.IPPROTO_ICMPV6
		}
		return []expr.Any{
			&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1}, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{fam}},
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1}, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{r.Type}},
			accept,
		}
	case KindDHCPv4, KindDHCPv6:
		sport, dport := uint16(67), uint16(68)
		if r.Kind == KindDHCPv6 {
			sport, dport = 547, 546
		}
		return []expr.Any{
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1}, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_UDP}},
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 2},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binary.BigEndian.AppendUint16(nil, sport)},
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binary.BigEndian.AppendUint16(nil, dport)},
			accept,
		}
	case KindPort:
		var out []expr.Any
		if r.Source.IsValid() {
			fam, off, n := byte(unix.NFPROTO_IPV4), uint32(12), uint32(4)
			if r.Source.Addr().Is6() {
				fam, off, n = unix.NFPROTO_IPV6, 8, 16
			}
			addr := r.Source.Addr().AsSlice()
			mask := make([]byte, n)
			for i := range r.Source.Bits() {
				mask[i/8] |= 0x80 >> (i % 8)
			}
			out = append(out,
				&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1}, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{fam}},
				&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: n},
				&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: n, Mask: mask, Xor: make([]byte, n)},
				&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: addr},
			)
		}
		proto := byte(unix.IPPROTO_TCP)
		if r.Port.Proto == "udp" {
			proto = unix.IPPROTO_UDP
		}
		out = append(out,
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1}, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		)
		from, to := binary.BigEndian.AppendUint16(nil, r.Port.From), binary.BigEndian.AppendUint16(nil, r.Port.To)
		if r.Port.From == r.Port.To {
			out = append(out, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: from})
		} else {
			out = append(out, &expr.Range{Op: expr.CmpOpEq, Register: 1, FromData: from, ToData: to})
		}
		return append(out, accept)
	}
	return nil
}

// nftRule is r as a rule of chain, carrying its comment.
func (r Rule) nftRule(t *nftables.Table, ch *nftables.Chain) *nftables.Rule {
	return &nftables.Rule{
		Table:    t,
		Chain:    ch,
		Exprs:    withCounter(r.exprs()),
		UserData: userdata.AppendString(nil, userdata.TypeComment, markerPrefix+r.String()),
	}
}

// ruleComment returns the baseline's text of a rule in the kernel, or false
// when the baseline did not create it.
func ruleComment(r *nftables.Rule) (string, bool) {
	s, ok := userdata.GetString(r.UserData, userdata.TypeComment)
	if !ok || len(s) < len(markerPrefix) || s[:len(markerPrefix)] != markerPrefix {
		return "", false
	}
	return s[len(markerPrefix):], true
}

// withCounter puts a counter before the verdict, so that show can tell how
// many packets each rule let in.
func withCounter(e []expr.Any) []expr.Any {
	n := len(e) - 1
	return append(append(e[:n:n], &expr.Counter{}), e[n])
}
