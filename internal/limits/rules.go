package limits

import (
	"fmt"
	"net"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"
)

var markerData = userdata.AppendString(nil, userdata.TypeComment, Marker)

// rules returns l's rules in chain ch, using the sets by name (ids maps a
// set's name to its id in the batch that creates it). Per family:
//
//	<port> saddr/prefix @kban drop
//	<port> ct state new add @lconn { saddr/prefix ct count over MAX } add @kban { saddr/prefix } log group G prefix "rampart-limit NAME conn" drop
//	<port> ct state new update @lrate { saddr/prefix limit rate over RATE burst RATE-1 } add @kban { … } log … "rate" drop
//
// The ban rule comes first, so a banned source's packets stop there and
// only the packet that crossed the limit is logged.
func (l Limit) rules(t *nftables.Table, ch *nftables.Chain, ids map[string]uint32) ([]*nftables.Rule, error) {
	if err := checkName(l.Name); err != nil {
		return nil, err
	}
	var proto byte
	switch l.Protocol {
	case "tcp":
		proto = unix.IPPROTO_TCP
	case "udp":
		proto = unix.IPPROTO_UDP
	default:
		return nil, fmt.Errorf("limit %s: protocol %q is neither tcp nor udp", l.Name, l.Protocol)
	}
	if l.Port == 0 {
		return nil, fmt.Errorf("limit %s: no port", l.Name)
	}
	if l.MaxConn == 0 && l.Rate == 0 {
		return nil, fmt.Errorf("limit %s: neither max_conn nor rate", l.Name)
	}
	unit, ok := limitUnit(l.Per)
	if l.Rate > 0 && !ok {
		return nil, fmt.Errorf("limit %s: rate period %v is not a second, minute, hour or day", l.Name, l.Per)
	}
	var out []*nftables.Rule
	rule := func(e ...expr.Any) {
		out = append(out, &nftables.Rule{Table: t, Chain: ch, Exprs: e, UserData: markerData})
	}
	for _, v6 := range []bool{false, true} {
		match := func(isNew bool) []expr.Any {
			e := []expr.Any{
				&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
				&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{nfproto(v6)}},
				&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
				&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
				&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
				&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(l.Port)},
			}
			if isNew {
				e = append(e,
					&expr.Ct{Register: 1, Key: expr.CtKeySTATE},
					&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
						Mask: binaryutil.NativeEndian.PutUint32(expr.CtStateBitNEW), Xor: make([]byte, 4)},
					&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)},
				)
			}
			return e
		}
		src := l.source(v6)
		ban := BanSet(l.Name, v6)
		lookup := append(append(match(false), src...), &expr.Lookup{SourceRegister: 1, SetName: ban, SetID: ids[ban]},
			&expr.Verdict{Kind: expr.VerdictDrop})
		rule(lookup...)
		over := func(set string, op uint32, stateful expr.Any, reason string) {
			e := append(match(true), src...)
			e = append(e, &expr.Dynset{SrcRegKey: 1, SetName: set, SetID: ids[set], Operation: op, Exprs: []expr.Any{stateful}})
			e = append(e, src...)
			e = append(e,
				&expr.Dynset{SrcRegKey: 1, SetName: ban, SetID: ids[ban], Operation: unix.NFT_DYNSET_OP_ADD},
				&expr.Log{Key: 1<<unix.NFTA_LOG_GROUP | 1<<unix.NFTA_LOG_PREFIX, Group: Group, Data: []byte(LogPrefix(l.Name, reason))},
				&expr.Verdict{Kind: expr.VerdictDrop},
			)
			rule(e...)
		}
		if l.MaxConn > 0 {
			over(SetName(kindConn, l.Name, v6), unix.NFT_DYNSET_OP_ADD,
				&expr.Connlimit{Count: uint32(l.MaxConn), Flags: connlimitOver}, ReasonConn)
		}
		if l.Rate > 0 {
			// The bucket holds Rate connections (one, plus a burst of
			// Rate-1): "30/minute" lets a client open 30 at once, then
			// one every 2 s.
			over(SetName(kindRate, l.Name, v6), unix.NFT_DYNSET_OP_UPDATE,
				&expr.Limit{Type: expr.LimitTypePkts, Rate: uint64(l.Rate), Unit: unit, Burst: uint32(l.Rate - 1), Over: true}, ReasonRate)
		}
	}
	return out, nil
}

// source loads the packet's source address, masked to the limit's
// prefix, into register 1.
func (l Limit) source(v6 bool) []expr.Any {
	off, n := uint32(12), 4
	if v6 {
		off, n = 8, 16
	}
	e := []expr.Any{&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: uint32(n)}}
	if bits := l.bits(v6); bits < n*8 {
		e = append(e, &expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: uint32(n),
			Mask: net.CIDRMask(bits, n*8), Xor: make([]byte, n)})
	}
	return e
}

func nfproto(v6 bool) byte {
	if v6 {
		return unix.NFPROTO_IPV6
	}
	return unix.NFPROTO_IPV4
}

// limitUnit is nft's unit of a rate's period.
func limitUnit(per time.Duration) (expr.LimitTime, bool) {
	switch per {
	case time.Second:
		return expr.LimitTimeSecond, true
	case time.Minute:
		return expr.LimitTimeMinute, true
	case time.Hour:
		return expr.LimitTimeHour, true
	case 24 * time.Hour:
		return expr.LimitTimeDay, true
	}
	return 0, false
}

// connlimitOver is NFT_CONNLIMIT_F_INV: match when the count is over.
const connlimitOver = 1
