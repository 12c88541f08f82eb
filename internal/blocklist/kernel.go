package blocklist

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"
)

// The blocklist layer's objects in table inet rampart. Neither the ban
// layer (ban, bans) nor the baseline (policy-) claims these names, and
// this layer touches nothing else.
const (
	tableName = "rampart"
	// ChainName is hooked at prerouting, priority raw, like the ban
	// layer: a listed address is dropped before connection tracking.
	ChainName = "lists"
	// setPrefix starts every list's sets: "list-NAME-v4", "list-NAME-v6".
	setPrefix = "list-"
	// Marker is the comment on the layer's rules.
	Marker = "rampart-lists"
)

var markerData = userdata.AppendString(nil, userdata.TypeComment, Marker)

// Kernel enforces lists as nftables interval sets. NetNS, when set, is a
// network namespace's file descriptor (tests).
type Kernel struct {
	NetNS int
}

func (k Kernel) conn() (*nftables.Conn, error) {
	var opts []nftables.ConnOption
	if k.NetNS != 0 {
		opts = append(opts, nftables.WithNetNSFd(k.NetNS))
	}
	c, err := nftables.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("blocklist: netlink: %w", err)
	}
	return c, nil
}

// SetName is the kernel set of a list's IPv4 or IPv6 ranges.
func SetName(list string, v6 bool) string {
	if v6 {
		return setPrefix + list + "-v6"
	}
	return setPrefix + list + "-v4"
}

// Replace makes the kernel drop exactly the addresses of ranges for the
// list, in one netlink transaction: the sets are created or emptied and
// refilled in the same batch, so there is no moment when the list's old
// entries are gone and its new ones not yet in force, and a refused batch
// leaves the old list as it was.
func (k Kernel) Replace(list string, ranges []Range) error {
	c, err := k.conn()
	if err != nil {
		return err
	}
	t := &nftables.Table{Name: tableName, Family: nftables.TableFamilyINet}
	c.AddTable(t)
	prio := nftables.ChainPriorityRaw
	accept := nftables.ChainPolicyAccept
	ch := c.AddChain(&nftables.Chain{Name: ChainName, Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookPrerouting, Priority: prio, Policy: &accept})
	have := map[string]bool{}
	if sets, err := c.GetSets(t); err == nil {
		for _, s := range sets {
			have[s.Name] = true
		}
	}
	rules := map[string]bool{}
	if rs, err := c.GetRules(t, ch); err == nil {
		for _, r := range rs {
			for _, e := range r.Exprs {
				if l, ok := e.(*expr.Lookup); ok {
					rules[l.SetName] = true
				}
			}
		}
	}
	for _, v6 := range []bool{false, true} {
		s := &nftables.Set{Table: t, Name: SetName(list, v6), KeyType: nftables.TypeIPAddr, Interval: true,
			KeyByteOrder: binaryutil.BigEndian, Comment: Marker}
		if v6 {
			s.KeyType = nftables.TypeIP6Addr
		}
		elems := elements(ranges, v6)
		if have[s.Name] {
			c.FlushSet(s)
			if len(elems) > 0 {
				if err := c.SetAddElements(s, elems); err != nil {
					return fmt.Errorf("blocklist %s: %w", list, err)
				}
			}
		} else if err := c.AddSet(s, elems); err != nil {
			return fmt.Errorf("blocklist %s: %w", list, err)
		}
		if !rules[s.Name] {
			c.AddRule(dropRule(t, ch, s, v6))
		}
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("blocklist %s: the kernel refused the list (the previous one stays): %w", list, err)
	}
	return nil
}

// elements encodes the ranges of one family as interval-set elements: a
// start key, and the first address after the range as an interval end
// (omitted at the top of the address space).
func elements(ranges []Range, v6 bool) []nftables.SetElement {
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

// dropRule is "meta nfproto ipvX ip[6] saddr @set counter drop".
func dropRule(t *nftables.Table, ch *nftables.Chain, s *nftables.Set, v6 bool) *nftables.Rule {
	proto, off, size := byte(unix.NFPROTO_IPV4), uint32(12), uint32(4)
	if v6 {
		proto, off, size = unix.NFPROTO_IPV6, 8, 16
	}
	return &nftables.Rule{Table: t, Chain: ch, UserData: markerData, Exprs: []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: size},
		&expr.Lookup{SourceRegister: 1, SetName: s.Name, SetID: s.ID},
		&expr.Counter{},
		&expr.Verdict{Kind: expr.VerdictDrop},
	}}
}

// Remove deletes a list's rules and sets (a list no longer configured).
func (k Kernel) Remove(list string) error {
	c, err := k.conn()
	if err != nil {
		return err
	}
	t := &nftables.Table{Name: tableName, Family: nftables.TableFamilyINet}
	ch := &nftables.Chain{Name: ChainName, Table: t}
	names := map[string]bool{SetName(list, false): true, SetName(list, true): true}
	rs, _ := c.GetRules(t, ch)
	for _, r := range rs {
		for _, e := range r.Exprs {
			if l, ok := e.(*expr.Lookup); ok && names[l.SetName] {
				if err := c.DelRule(r); err != nil {
					return fmt.Errorf("blocklist %s: %w", list, err)
				}
			}
		}
	}
	sets, _ := c.GetSets(t)
	for _, s := range sets {
		if names[s.Name] {
			c.DelSet(s)
		}
	}
	if err := c.Flush(); err != nil && !strings.Contains(err.Error(), "no such file") {
		return fmt.Errorf("blocklist %s: remove: %w", list, err)
	}
	return nil
}

// Present reports whether both of the list's sets and their rules are in
// the kernel (a flushed ruleset has none), for the periodic repair.
func (k Kernel) Present(list string) (bool, error) {
	c, err := k.conn()
	if err != nil {
		return false, err
	}
	t := &nftables.Table{Name: tableName, Family: nftables.TableFamilyINet}
	rs, err := c.GetRules(t, &nftables.Chain{Name: ChainName, Table: t})
	if err != nil {
		return false, nil // no table or chain
	}
	n := 0
	for _, r := range rs {
		for _, e := range r.Exprs {
			if l, ok := e.(*expr.Lookup); ok && (l.SetName == SetName(list, false) || l.SetName == SetName(list, true)) {
				n++
			}
		}
	}
	return n == 2, nil
}

// lookup reports whether a falls in one of the sorted ranges.
func lookup(ranges []Range, a netip.Addr) bool {
	a = a.Unmap()
	lo, hi := 0, len(ranges)
	for lo < hi {
		m := (lo + hi) / 2
		r := ranges[m]
		switch {
		case r.First.Is4() != a.Is4():
			if r.First.Is4() { // IPv4 sorts first
				lo = m + 1
			} else {
				hi = m
			}
		case a.Compare(r.First) < 0:
			hi = m
		case a.Compare(r.Last) > 0:
			lo = m + 1
		default:
			return true
		}
	}
	return false
}
