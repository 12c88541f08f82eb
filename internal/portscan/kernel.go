package portscan

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/rampart-ids/rampart/internal/blocklist"
	"github.com/rampart-ids/rampart/internal/netlinkbuf"
	"github.com/rampart-ids/rampart/internal/policy/portspec"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"
)

// Kernel writes the port-scan chain in one network namespace.
type Kernel struct {
	// NetNS, when non-zero, is a descriptor of the network namespace to
	// manage instead of the process's own (tests).
	NetNS int
}

// bulkBuffer bounds the netlink socket's buffers (a few hundred open
// ports make a few hundred rules, each acknowledged).
const bulkBuffer = 4 << 20

var table = &nftables.Table{Name: TableName, Family: nftables.TableFamilyINet}

func (k Kernel) conn() (*nftables.Conn, error) {
	opts := []nftables.ConnOption{nftables.WithSockOptions(netlinkbuf.Bulk(bulkBuffer))}
	if k.NetNS != 0 {
		opts = append(opts, nftables.WithNetNSFd(k.NetNS))
	}
	c, err := nftables.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("portscan: netlink: %w", err)
	}
	return c, nil
}

// Apply makes the kernel enforce r in one netlink transaction: the table,
// the chain and the ignore sets are created when missing, the sets refilled
// and the chain's rules replaced, so that no packet sees half a chain.
func (k Kernel) Apply(r Rules) error {
	r = r.Normal()
	if r.Group == 0 || r.Rate <= 0 {
		return fmt.Errorf("portscan: group %d and rate %d: both must be positive", r.Group, r.Rate)
	}
	c, err := k.conn()
	if err != nil {
		return err
	}
	c.AddTable(table)
	accept := nftables.ChainPolicyAccept
	ch := c.AddChain(&nftables.Chain{Name: ChainName, Table: table, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookInput, Priority: nftables.ChainPriorityRef(Priority), Policy: &accept})
	sets := map[bool]*nftables.Set{}
	ranges := blocklist.Ranges(r.Ignore, nil)
	for _, v6 := range []bool{false, true} {
		s := &nftables.Set{Table: table, Name: SetV4, KeyType: nftables.TypeIPAddr, Interval: true,
			KeyByteOrder: binaryutil.BigEndian, Comment: Marker}
		if v6 {
			s.Name, s.KeyType = SetV6, nftables.TypeIP6Addr
		}
		if err := c.AddSet(s, nil); err != nil {
			return fmt.Errorf("portscan: set %s: %w", s.Name, err)
		}
		c.FlushSet(s)
		if el := elements(ranges, v6); len(el) > 0 {
			if err := c.SetAddElements(s, el); err != nil {
				return fmt.Errorf("portscan: set %s: %w", s.Name, err)
			}
		}
		sets[v6] = s
	}
	rates := map[bool]*nftables.Set{}
	if r.PerSource > 0 {
		for _, v6 := range []bool{false, true} {
			s := &nftables.Set{Table: table, Name: RateV4, KeyType: nftables.TypeIPAddr, Dynamic: true,
				HasTimeout: true, Timeout: RateTimeout, Size: RateSize, KeyByteOrder: binaryutil.BigEndian, Comment: Marker}
			if v6 {
				s.Name, s.KeyType = RateV6, nftables.TypeIP6Addr
			}
			if err := c.AddSet(s, nil); err != nil {
				return fmt.Errorf("portscan: set %s: %w", s.Name, err)
			}
			rates[v6] = s
		}
	}
	c.FlushChain(ch)
	for _, e := range ruleExprs(r, sets, rates) {
		c.AddRule(&nftables.Rule{Table: table, Chain: ch, Exprs: e.exprs, UserData: comment(e.name)})
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("portscan: apply chain %s: %w", ChainName, err)
	}
	return nil
}

// Remove deletes the chain and its sets (port scans disabled). Missing
// ones are not an error.
func (k Kernel) Remove() error {
	c, err := k.conn()
	if err != nil {
		return err
	}
	st, err := read(c)
	if err != nil {
		return err
	}
	if !st.Chain && len(st.sets) == 0 && len(st.rates) == 0 {
		return nil
	}
	if st.Chain {
		c.DelChain(&nftables.Chain{Name: ChainName, Table: table})
	}
	for _, s := range st.sets {
		c.DelSet(s)
	}
	for _, s := range st.rates {
		c.DelSet(s)
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("portscan: remove chain %s: %w", ChainName, err)
	}
	return nil
}

// State is what the kernel holds of the layer.
type State struct {
	// Chain: chain portscan exists.
	Chain bool
	// Fingerprint is the one its log rule carries ("" without one).
	Fingerprint string
	// Sets: both ignore sets exist.
	Sets bool
	// Logged counts the packets the log rule logged.
	Logged uint64
	sets   []*nftables.Set
	rates  []*nftables.Set
}

// Holds reports whether the kernel enforces r.
func (s State) Holds(r Rules) bool {
	return s.Chain && s.Sets && s.Fingerprint == r.Fingerprint()
}

// Read returns what the kernel holds of the layer.
func (k Kernel) Read() (State, error) {
	c, err := k.conn()
	if err != nil {
		return State{}, err
	}
	return read(c)
}

func read(c *nftables.Conn) (State, error) {
	var st State
	// ListChain does not wrap ENOENT in v0.3.0: list the family's chains.
	all, err := c.ListChainsOfTableFamily(nftables.TableFamilyINet)
	if err != nil && !errors.Is(err, unix.ENOENT) {
		return st, fmt.Errorf("portscan: list chains: %w", err)
	}
	for _, x := range all {
		st.Chain = st.Chain || (x.Table != nil && x.Table.Name == TableName && x.Name == ChainName)
	}
	if sets, err := c.GetSets(table); err == nil {
		for _, s := range sets {
			switch s.Name {
			case SetV4, SetV6:
				st.sets = append(st.sets, s)
			case RateV4, RateV6:
				st.rates = append(st.rates, s)
			}
		}
	}
	st.Sets = len(st.sets) == 2
	if !st.Chain {
		return st, nil
	}
	rules, err := c.GetRules(table, &nftables.Chain{Name: ChainName, Table: table})
	if err != nil {
		return st, fmt.Errorf("portscan: list rules of %s: %w", ChainName, err)
	}
	for _, r := range rules {
		s, _ := userdata.GetString(r.UserData, userdata.TypeComment)
		if fp, ok := strings.CutPrefix(s, Marker+" log "); ok {
			st.Fingerprint = fp
			for _, e := range r.Exprs {
				if ctr, ok := e.(*expr.Counter); ok {
					st.Logged = ctr.Packets
				}
			}
		}
	}
	return st, nil
}

func comment(name string) []byte {
	return userdata.AppendString(nil, userdata.TypeComment, Marker+" "+name)
}

// namedRule is one rule's expressions and the name its comment carries.
type namedRule struct {
	name  string
	exprs []expr.Any
}

// ruleExprs renders the chain:
//
//	iifname "lo" return
//	meta pkttype != host return
//	ct state established,related return
//	meta nfproto ipv4 ip saddr @portscan-ignore-v4 return
//	meta nfproto ipv6 ip6 saddr @portscan-ignore-v6 return
//	meta l4proto != tcp meta l4proto != udp return
//	tcp flags & (ack | rst) != 0 return
//	meta l4proto tcp th dport 22 return          (one per open port or range)
//	meta nfproto ipv4 update @portscan-rate-v4 { ip saddr limit rate over P/second burst P packets } return
//	meta nfproto ipv6 update @portscan-rate-v6 { ip6 saddr limit rate over P/second burst P packets } return
//	limit rate R/second burst R packets counter log prefix "rampart-portscan" group G snaplen 128
func ruleExprs(r Rules, sets, rates map[bool]*nftables.Set) []namedRule {
	ret := &expr.Verdict{Kind: expr.VerdictReturn}
	lo := make([]byte, unix.IFNAMSIZ)
	copy(lo, "lo")
	out := []namedRule{
		{"loopback", []expr.Any{&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1}, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: lo}, ret}},
		// Broadcast and multicast (mDNS, SSDP, NetBIOS, DHCP) are a LAN's
		// chatter, not probes of this host.
		{"not unicast", []expr.Any{&expr.Meta{Key: expr.MetaKeyPKTTYPE, Register: 1},
			&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: []byte{unix.PACKET_HOST}}, ret}},
		{"established", []expr.Any{
			&expr.Ct{Register: 1, Key: expr.CtKeySTATE},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
				Mask: binary.NativeEndian.AppendUint32(nil, expr.CtStateBitESTABLISHED|expr.CtStateBitRELATED), Xor: make([]byte, 4)},
			&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)},
			ret,
		}},
	}
	for _, v6 := range []bool{false, true} {
		fam, off, n := byte(unix.NFPROTO_IPV4), uint32(12), uint32(4)
		if v6 {
			fam, off, n = unix.NFPROTO_IPV6, 8, 16
		}
		s := sets[v6]
		out = append(out, namedRule{"ignore " + s.Name, []expr.Any{
			&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1}, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{fam}},
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: n},
			&expr.Lookup{SourceRegister: 1, SetName: s.Name, SetID: s.ID},
			ret,
		}})
	}
	out = append(out, namedRule{"not tcp or udp", []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: []byte{unix.IPPROTO_TCP}},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: []byte{unix.IPPROTO_UDP}},
		ret,
	}})
	// A probe has neither ACK nor RST (SYN, FIN, NULL, XMAS); a late
	// packet of a real connection conntrack no longer knows (to one of
	// this host's ephemeral ports, after the entry expired) nearly always
	// has one: not counting those keeps a server this host talks to from
	// looking like a scanner.
	out = append(out, namedRule{"not a probe", []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1}, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_TCP}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 13, Len: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 1, Mask: []byte{0x14}, Xor: []byte{0}},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: []byte{0}},
		ret,
	}})
	for _, p := range r.Open {
		out = append(out, namedRule{"open " + p.String(), openExprs(p)})
	}
	for _, v6 := range []bool{false, true} {
		s := rates[v6]
		if s == nil {
			continue
		}
		fam, off, n := byte(unix.NFPROTO_IPV4), uint32(12), uint32(4)
		if v6 {
			fam, off, n = unix.NFPROTO_IPV6, 8, 16
		}
		out = append(out, namedRule{"per-source budget " + s.Name, []expr.Any{
			&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1}, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{fam}},
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: n},
			&expr.Dynset{SrcRegKey: 1, SetName: s.Name, SetID: s.ID, Operation: unix.NFT_DYNSET_OP_UPDATE,
				Exprs: []expr.Any{&expr.Limit{Type: expr.LimitTypePkts, Rate: uint64(r.PerSource), Over: true, Unit: expr.LimitTimeSecond, Burst: uint32(r.PerSource)}}},
			ret,
		}})
	}
	out = append(out, namedRule{"log " + r.Fingerprint(), []expr.Any{
		&expr.Limit{Type: expr.LimitTypePkts, Rate: uint64(r.Rate), Unit: expr.LimitTimeSecond, Burst: uint32(r.Rate)},
		&expr.Counter{},
		&expr.Log{Key: 1<<unix.NFTA_LOG_GROUP | 1<<unix.NFTA_LOG_PREFIX | 1<<unix.NFTA_LOG_SNAPLEN,
			Group: r.Group, Data: []byte(LogPrefix), Snaplen: Snaplen},
	}})
	return out
}

// openExprs is "meta l4proto P th dport PORT return" (or a range).
func openExprs(p portspec.Spec) []expr.Any {
	proto := byte(unix.IPPROTO_TCP)
	if p.Proto == "udp" {
		proto = unix.IPPROTO_UDP
	}
	e := []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1}, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
	}
	from, to := binary.BigEndian.AppendUint16(nil, p.From), binary.BigEndian.AppendUint16(nil, p.To)
	if p.From == p.To {
		e = append(e, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: from})
	} else {
		e = append(e, &expr.Range{Op: expr.CmpOpEq, Register: 1, FromData: from, ToData: to})
	}
	return append(e, &expr.Verdict{Kind: expr.VerdictReturn})
}

// elements encodes the ranges of one family as interval-set elements: a
// start key and the first address after the range as an interval end
// (omitted at the top of the address space).
func elements(ranges []blocklist.Range, v6 bool) []nftables.SetElement {
	var out []nftables.SetElement
	for _, r := range ranges {
		if r.First.Is6() != v6 {
			continue
		}
		out = append(out, nftables.SetElement{Key: r.First.AsSlice()})
		if end := r.Last.Next(); end.IsValid() {
			out = append(out, nftables.SetElement{Key: end.AsSlice(), IntervalEnd: true})
		}
	}
	return out
}
