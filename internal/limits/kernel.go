package limits

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/google/nftables"
	"golang.org/x/sys/unix"

	"github.com/rampart-ids/rampart/internal/netlinkbuf"
)

// Kernel writes and reads the limits in one network namespace.
type Kernel struct {
	// NetNS, when non-zero, is a descriptor of the network namespace to
	// manage instead of the process's own (tests).
	NetNS int
}

// bulkBuffer bounds the netlink socket buffers (the kernel queues an
// acknowledgement per message of a batch before rampart reads any).
const bulkBuffer = 8 << 20

var table = &nftables.Table{Name: TableName, Family: nftables.TableFamilyINet}

func (k Kernel) conn() (*nftables.Conn, error) {
	opts := []nftables.ConnOption{nftables.WithSockOptions(netlinkbuf.Bulk(bulkBuffer))}
	if k.NetNS != 0 {
		opts = append(opts, nftables.WithNetNSFd(k.NetNS))
	}
	c, err := nftables.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("limits: netlink: %w", err)
	}
	return c, nil
}

// ownSets lists the layer's sets in the kernel (none without the table).
func ownSets(c *nftables.Conn) (map[string]*nftables.Set, error) {
	// GetSets does not wrap ENOENT in v0.3.0: look for the table first.
	ts, err := c.ListTablesOfFamily(nftables.TableFamilyINet)
	if err != nil && !errors.Is(err, unix.ENOENT) {
		return nil, fmt.Errorf("limits: list tables: %w", err)
	}
	if !slices.ContainsFunc(ts, func(t *nftables.Table) bool { return t.Name == TableName }) {
		return map[string]*nftables.Set{}, nil
	}
	sets, err := c.GetSets(table)
	if err != nil {
		return nil, fmt.Errorf("limits: list sets: %w", err)
	}
	out := map[string]*nftables.Set{}
	for _, s := range sets {
		if _, _, _, ok := ownSet(s.Name); ok {
			out[s.Name] = s
		}
	}
	return out, nil
}

// hasChain reports whether chain limits-input exists.
func hasChain(c *nftables.Conn) (bool, error) {
	all, err := c.ListChainsOfTableFamily(nftables.TableFamilyINet)
	if err != nil && !errors.Is(err, unix.ENOENT) {
		return false, fmt.Errorf("limits: list chains: %w", err)
	}
	for _, ch := range all {
		if ch.Table != nil && ch.Table.Name == TableName && ch.Name == ChainName {
			return true, nil
		}
	}
	return false, nil
}

// Apply makes the kernel enforce exactly ls, in one netlink batch (one
// transaction): the chain's rules are replaced, sets of limits that are
// gone are deleted, a set whose timeout changed is created again (its
// bans are lost in the kernel; rampart's own record of them stays in
// force in the ban layer), and the other sets keep their elements. An
// empty ls removes the layer.
func (k Kernel) Apply(ls []Limit) error {
	c, err := k.conn()
	if err != nil {
		return err
	}
	queued, err := Stage(c, ls)
	if err != nil || !queued {
		return err
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("limits: apply: %w", err)
	}
	return nil
}

// Stage queues on c what Apply sends — the layer's chain, rules and sets
// for ls — without sending it, so that a caller can put it in the same
// transaction as its own changes (the daemon sends the baseline and the
// limits as one batch). It reads the kernel through c. queued is false
// when there is nothing to send.
func Stage(c *nftables.Conn, ls []Limit) (queued bool, err error) {
	have, err := ownSets(c)
	if err != nil {
		return false, err
	}
	chainThere, err := hasChain(c)
	if err != nil {
		return false, err
	}
	seen := map[string]bool{}
	for _, l := range ls {
		if seen[l.Name] {
			return false, fmt.Errorf("limits: limit %q given twice", l.Name)
		}
		seen[l.Name] = true
	}
	if len(ls) == 0 {
		if !chainThere && len(have) == 0 {
			return false, nil
		}
		if chainThere {
			c.DelChain(&nftables.Chain{Name: ChainName, Table: table})
		}
		for _, s := range have {
			c.DelSet(s)
		}
		return true, nil
	}
	c.AddTable(table)
	accept := nftables.ChainPolicyAccept
	ch := c.AddChain(&nftables.Chain{Name: ChainName, Table: table, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookInput, Priority: nftables.ChainPriorityRef(Priority), Policy: &accept})
	c.FlushChain(ch)
	want := map[string]*nftables.Set{}
	var order []string
	for _, l := range ls {
		for _, s := range l.sets(table) {
			want[s.Name] = s
			order = append(order, s.Name)
		}
	}
	for name, s := range have {
		if w, ok := want[name]; !ok || !sameSet(s, w) {
			c.DelSet(s)
			delete(have, name)
		}
	}
	ids := map[string]uint32{}
	for _, name := range order {
		s := want[name]
		if _, kept := have[name]; kept {
			continue
		}
		if err := c.AddSet(s, nil); err != nil {
			return false, fmt.Errorf("limits: set %s: %w", name, err)
		}
		ids[name] = s.ID
	}
	for _, l := range ls {
		rs, err := l.rules(table, ch, ids)
		if err != nil {
			return false, err
		}
		for _, r := range rs {
			c.AddRule(r)
		}
	}
	return true, nil
}

// Present reports whether the layer's chain is in the kernel (an `nft
// flush ruleset` removes it).
func (k Kernel) Present() (bool, error) {
	c, err := k.conn()
	if err != nil {
		return false, err
	}
	return hasChain(c)
}

// Bans lists the bans the kernel holds in the limits' ban sets (bans made
// while the daemon was stopped are picked up this way). The sets hold
// masked addresses: each is listed as a prefix of its limit in ls (a set
// of a limit not in ls as /32 or /64).
func (k Kernel) Bans(ls []Limit) ([]Ban, error) {
	c, err := k.conn()
	if err != nil {
		return nil, err
	}
	have, err := ownSets(c)
	if err != nil {
		return nil, err
	}
	byName := map[string]Limit{}
	for _, l := range ls {
		byName[l.Name] = l
	}
	var out []Ban
	names := make([]string, 0, len(have))
	for n := range have {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		limit, v6, isBan, _ := ownSet(n)
		if !isBan {
			continue
		}
		l, ok := byName[limit]
		if !ok {
			l = Limit{Name: limit}
		}
		els, err := c.GetSetElements(have[n])
		if err != nil {
			return nil, fmt.Errorf("limits: list %s: %w", n, err)
		}
		for _, e := range els {
			a, ok := netip.AddrFromSlice(e.Key)
			if !ok || a.Is6() != v6 {
				continue
			}
			out = append(out, Ban{Limit: limit, Prefix: l.Prefix(a), Expires: e.Expires})
		}
	}
	return out, nil
}

// Unban deletes p from l's ban set (rampart's unban): the element of l's
// prefix that holds p. A limit or element that is not there is no error.
func (k Kernel) Unban(l Limit, p netip.Prefix) error {
	c, err := k.conn()
	if err != nil {
		return err
	}
	a := p.Masked().Addr().Unmap()
	if lp := l.Prefix(a); lp.Bits() < p.Bits() {
		a = lp.Addr()
	}
	name := BanSet(l.Name, a.Is6())
	have, err := ownSets(c)
	if err != nil {
		return err
	}
	s := have[name]
	if s == nil {
		return nil
	}
	if err := c.SetDeleteElements(s, []nftables.SetElement{{Key: a.AsSlice()}}); err != nil {
		return fmt.Errorf("limits: unban %s from %s: %w", p, name, err)
	}
	if err := c.Flush(); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("limits: unban %s from %s: %w", p, name, err)
	}
	return nil
}
