package blocklist

import (
	"fmt"
	"net/netip"

	"github.com/rampart-ids/rampart/internal/netlinkbuf"

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
	// setPrefix starts every list's sets: "list-NAME-v4a", "list-NAME-v6b".
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
	opts := []nftables.ConnOption{nftables.WithSockOptions(netlinkbuf.Bulk(bulkBuffer))}
	if k.NetNS != 0 {
		opts = append(opts, nftables.WithNetNSFd(k.NetNS))
	}
	c, err := nftables.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("blocklist: netlink: %w", err)
	}
	return c, nil
}

// SetName is the kernel set of a list's IPv4 or IPv6 ranges in
// generation gen (0 or 1): "list-NAME-v4a", "list-NAME-v6b". A new version
// of a list is loaded into the generation not in use, then swapped in.
func SetName(list string, v6 bool, gen int) string {
	fam := "-v4"
	if v6 {
		fam = "-v6"
	}
	return setPrefix + list + fam + string(rune('a'+gen))
}

// chunkElements is how many set elements one netlink transaction carries
// while a list is loaded (a few MiB per batch).
const chunkElements = 65536

// msgElements is how many elements one netlink message carries (an
// IPv6 interval element is ~40 bytes; the list attribute holds 64 KiB).
const msgElements = 1024

// bulkBuffer bounds the netlink socket's buffers during a load.
const bulkBuffer = 32 << 20

// Replace makes the kernel drop exactly the addresses of ranges for the
// list. The new version is loaded into fresh sets beside the one in force
// (in batches: a list of a million ranges does not fit one netlink
// message), then one transaction points the list's rules at them and
// deletes the old sets: no packet ever sees the list half-loaded or gone,
// and a refused load leaves the old version in force.
func (k Kernel) Replace(list string, ranges []Range) error {
	c, err := k.conn()
	if err != nil {
		return err
	}
	t := &nftables.Table{Name: tableName, Family: nftables.TableFamilyINet}
	c.AddTable(t)
	accept := nftables.ChainPolicyAccept
	ch := c.AddChain(&nftables.Chain{Name: ChainName, Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityRaw, Policy: &accept})
	if err := c.Flush(); err != nil {
		return fmt.Errorf("blocklist %s: table: %w", list, err)
	}
	// The generation in force is the one the chain's rules look up.
	cur := -1
	var old []*nftables.Rule
	rs, err := c.GetRules(t, ch)
	if err != nil {
		return fmt.Errorf("blocklist %s: read rules: %w", list, err)
	}
	for _, r := range rs {
		if gen, ok := ruleGen(r, list); ok {
			cur = gen
			old = append(old, r)
		}
	}
	next := 1 - max(cur, 0)
	if cur < 0 {
		next = 0
	}
	sets, _ := c.GetSets(t)
	have := map[string]*nftables.Set{}
	for _, st := range sets {
		have[st.Name] = st
	}
	// A leftover of an interrupted load in the spare generation goes first.
	for _, v6 := range []bool{false, true} {
		if st := have[SetName(list, v6, next)]; st != nil {
			c.DelSet(st)
		}
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("blocklist %s: clear spare sets: %w", list, err)
	}
	fresh := map[bool]*nftables.Set{}
	for _, v6 := range []bool{false, true} {
		st := &nftables.Set{Table: t, Name: SetName(list, v6, next), KeyType: nftables.TypeIPAddr, Interval: true,
			KeyByteOrder: binaryutil.BigEndian, Comment: Marker}
		if v6 {
			st.KeyType = nftables.TypeIP6Addr
		}
		if err := c.AddSet(st, nil); err != nil {
			return fmt.Errorf("blocklist %s: %w", list, err)
		}
		if err := c.Flush(); err != nil {
			return fmt.Errorf("blocklist %s: create set: %w", list, err)
		}
		// The elements are built one message at a time from the ranges
		// (keys in one reused buffer: SetAddElements copies them into the
		// message), and the batch is sent every chunkElements: the list is
		// never held a second time as elements.
		var (
			elems []nftables.SetElement
			keys  []byte
			inTx  int
		)
		send := func() error {
			if len(elems) == 0 {
				return nil
			}
			if err := c.SetAddElements(st, elems); err != nil {
				return fmt.Errorf("blocklist %s: %w", list, err)
			}
			inTx += len(elems)
			elems, keys = elems[:0], keys[:0]
			return nil
		}
		flush := func() error {
			if err := c.Flush(); err != nil {
				k.dropSpare(list, next)
				return fmt.Errorf("blocklist %s: the kernel refused the list (the previous version stays): %w", list, err)
			}
			inTx = 0
			return nil
		}
		keys = make([]byte, 0, msgElements*16)
		key := func(a netip.Addr) []byte {
			n := len(keys)
			if a.Is4() {
				v := a.As4()
				keys = append(keys, v[:]...)
			} else {
				v := a.As16()
				keys = append(keys, v[:]...)
			}
			return keys[n:len(keys):len(keys)]
		}
		for _, r := range ranges {
			if r.First.Is6() != v6 {
				continue
			}
			// A range's start and end go in the same message.
			if len(elems)+2 > msgElements {
				if err := send(); err != nil {
					return err
				}
				if inTx >= chunkElements {
					if err := flush(); err != nil {
						return err
					}
				}
			}
			elems = append(elems, nftables.SetElement{Key: key(r.First)})
			if end := r.Last.Next(); end.IsValid() {
				elems = append(elems, nftables.SetElement{Key: key(end), IntervalEnd: true})
			}
		}
		if err := send(); err != nil {
			return err
		}
		if inTx > 0 {
			if err := flush(); err != nil {
				return err
			}
		}
		fresh[v6] = st
	}
	// The swap: new rules in, old rules and sets out, in one transaction.
	for _, v6 := range []bool{false, true} {
		c.AddRule(dropRule(t, ch, fresh[v6], v6))
	}
	for _, r := range old {
		if err := c.DelRule(r); err != nil {
			return fmt.Errorf("blocklist %s: %w", list, err)
		}
	}
	if cur >= 0 {
		for _, v6 := range []bool{false, true} {
			if st := have[SetName(list, v6, cur)]; st != nil {
				c.DelSet(st)
			}
		}
	}
	if err := c.Flush(); err != nil {
		k.dropSpare(list, next)
		return fmt.Errorf("blocklist %s: swap in the new version (the previous one stays): %w", list, err)
	}
	return nil
}

// dropSpare deletes a half-loaded generation (best effort).
func (k Kernel) dropSpare(list string, gen int) {
	c, err := k.conn()
	if err != nil {
		return
	}
	t := &nftables.Table{Name: tableName, Family: nftables.TableFamilyINet}
	sets, _ := c.GetSets(t)
	for _, st := range sets {
		if st.Name == SetName(list, false, gen) || st.Name == SetName(list, true, gen) {
			c.DelSet(st)
		}
	}
	c.Flush()
}

// ruleGen reports whether r is one of the list's rules, and which
// generation's set it looks up.
func ruleGen(r *nftables.Rule, list string) (int, bool) {
	for _, e := range r.Exprs {
		if l, ok := e.(*expr.Lookup); ok {
			for gen := 0; gen < 2; gen++ {
				if l.SetName == SetName(list, false, gen) || l.SetName == SetName(list, true, gen) {
					return gen, true
				}
			}
		}
	}
	return 0, false
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
	rs, _ := c.GetRules(t, &nftables.Chain{Name: ChainName, Table: t})
	for _, r := range rs {
		if _, ok := ruleGen(r, list); ok {
			if err := c.DelRule(r); err != nil {
				return fmt.Errorf("blocklist %s: %w", list, err)
			}
		}
	}
	sets, _ := c.GetSets(t)
	for _, st := range sets {
		for gen := 0; gen < 2; gen++ {
			if st.Name == SetName(list, false, gen) || st.Name == SetName(list, true, gen) {
				c.DelSet(st)
			}
		}
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("blocklist %s: remove: %w", list, err)
	}
	return nil
}

// Present reports whether the list's two rules are in the kernel (a
// flushed ruleset has none), for the periodic repair.
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
		if _, ok := ruleGen(r, list); ok {
			n++
		}
	}
	return n == 2, nil
}

// Contains reports whether a falls in one of the sorted ranges Ranges returns.
func Contains(ranges []Range, a netip.Addr) bool {
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
