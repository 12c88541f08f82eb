// Package nft is rampart's nftables backend. It talks to the kernel over
// netlink (github.com/google/nftables), never through the nft command.
//
// Everything lives in one table, "inet rampart", which rampart's layers
// share. The ban layer (this backend) owns only objects named as OwnsName
// says, and marks every rule it creates with the comment Marker:
//
//   - a base chain "bans" (hook prerouting, priority raw, -300) that sends
//     packets to a jail's chain when they match the jail's ports; it runs
//     before conntrack and before DNAT, so it sees traffic for local
//     services and for containers' published ports alike, with the port the
//     client asked for;
//   - per jail a chain "ban-NAME" and four sets: "ban-NAME-v4" and
//     "ban-NAME-v6" (hash sets of single addresses) and "ban-NAME-v4net" and
//     "ban-NAME-v6net" (interval sets of networks), all with per-element
//     timeouts so the kernel lifts bans on time even if rampart is not
//     running;
//   - a chain "bans-reject" that answers TCP with a reset and the rest with
//     ICMP administratively prohibited.
//
// Setup and Teardown never flush a chain and never delete a chain, set or
// rule they did not create, so another owner (the baseline policy) can keep
// its own chains and sets in the same table. See docs/FIREWALL.md.
package nft

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/rampart-ids/rampart/internal/netlinkbuf"

	"github.com/google/nftables"
	"github.com/mdlayher/netlink/nltest"
	"github.com/rampart-ids/rampart/internal/firewall"
	"golang.org/x/sys/unix"
)

var _ firewall.Backend = (*Backend)(nil)

// TableName is the name of rampart's table in the inet family.
const TableName = "rampart"

// DefaultBatchSize is how many bans go into one netlink batch (one kernel
// transaction) unless Options say otherwise.
const DefaultBatchSize = 2048

// Options configure a Backend; the zero value is ready for use.
type Options struct {
	// NetNS, when non-zero, is a file descriptor of the network namespace
	// to manage instead of the process's own (tests use it).
	NetNS int
	// BatchSize bounds the bans sent per netlink batch; 0 means
	// DefaultBatchSize. A failed batch is retried by halves until the
	// failing elements are isolated.
	BatchSize int
}

// Backend manages the ban layer's objects in the inet rampart table.
type Backend struct {
	opts  Options
	table *nftables.Table
	// dial, when set, replaces the kernel (unit tests).
	dial nltest.Func

	mu    sync.Mutex
	jails map[string]firewall.JailSpec
}

// New returns a backend; it touches nothing until Setup.
func New(opts Options) *Backend {
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultBatchSize
	}
	return &Backend{
		opts:  opts,
		table: &nftables.Table{Name: TableName, Family: nftables.TableFamilyINet},
		jails: map[string]firewall.JailSpec{},
	}
}

// bulkBuffer bounds the socket buffers of Setup's and Teardown's
// transactions. The kernel queues its answer to every message of a batch
// (an acknowledgement and, for each new rule, an echo of it) before rampart
// reads any, and charges each answer's whole buffer, several KiB, to the
// receive buffer: with the default 208 KiB, Setup of 20 jails failed with
// ENOBUFS, and a batch larger than the send buffer is refused outright.
// The limit reserves no memory; raising it past net.core.rmem_max needs
// CAP_NET_ADMIN, which managing nftables needs anyway.
const bulkBuffer = 32 << 20

// bulkConn is conn for transactions of many messages.
func (b *Backend) bulkConn() (*nftables.Conn, error) { return b.newConn(true) }

func (b *Backend) conn() (*nftables.Conn, error) { return b.newConn(false) }

func (b *Backend) newConn(bulk bool) (*nftables.Conn, error) {
	var opts []nftables.ConnOption
	if b.dial != nil {
		opts = append(opts, nftables.WithTestDial(b.dial))
	} else if bulk {
		opts = append(opts, nftables.WithSockOptions(netlinkbuf.Bulk(bulkBuffer)))
	}
	if b.opts.NetNS != 0 {
		opts = append(opts, nftables.WithNetNSFd(b.opts.NetNS))
	}
	c, err := nftables.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("nft: netlink: %w", err)
	}
	return c, nil
}

// Setup creates or refreshes the ban layer in one atomic batch: its rules
// are deleted by handle and rebuilt, sets of kept jails keep their elements,
// sets and chains of jails no longer listed are deleted. Chains, sets and
// rules of other owners in the table are left as they are; a rule another
// owner put into one of the ban layer's chains stays (ahead of the rebuilt
// rules) and keeps that chain from being deleted.
func (b *Backend) Setup(_ context.Context, jails []firewall.JailSpec) error {
	if err := firewall.ValidateJails(jails); err != nil {
		return fmt.Errorf("nft: %w", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	c, err := b.bulkConn()
	if err != nil {
		return err
	}
	l, err := b.readLayout(c)
	if err != nil {
		return err
	}
	want := make(map[string]firewall.JailSpec, len(jails))
	for _, j := range jails {
		want[j.Name] = j
	}

	c.AddTable(b.table)
	base := c.AddChain(&nftables.Chain{
		Name:     baseChain,
		Table:    b.table,
		Type:     nftables.ChainTypeFilter,
		Hooknum:  nftables.ChainHookPrerouting,
		Priority: nftables.ChainPriorityRaw,
	})
	reject := c.AddChain(&nftables.Chain{Name: rejectChain, Table: b.table})
	keepChain := func(name string) bool {
		jail, ok := jailOfChain(name)
		_, keep := want[jail]
		return !ok || keep
	}
	keepSet := func(name string) bool {
		k, _ := parseSetName(name)
		_, keep := want[k.jail]
		return keep && k.matches(setOf(l.sets, name))
	}
	if err := b.removeOwn(c, l, keepChain, keepSet); err != nil {
		return err
	}
	if err := l.legacy.remove(c, b.table); err != nil {
		return err
	}
	for _, r := range rejectRules(b.table, reject) {
		c.AddRule(r)
	}
	for _, j := range jails {
		chain := c.AddChain(&nftables.Chain{Name: jailChain(j.Name), Table: b.table})
		for _, k := range setKinds(j.Name) {
			s := k.set(b.table)
			if err := c.AddSet(s, nil); err != nil {
				return fmt.Errorf("nft: jail %q: set %s: %w", j.Name, s.Name, err)
			}
			c.AddRule(matchRule(b.table, chain, s, k, j.Action))
		}
		for _, r := range dispatchRules(b.table, base, j) {
			c.AddRule(r)
		}
	}
	if err := c.Flush(); err != nil {
		if errors.Is(err, unix.EOPNOTSUPP) {
			return fmt.Errorf("nft: setup table inet %s: %w (rejecting from the prerouting hook needs Linux 5.11 or later; use the drop action or the iptables backend)", TableName, err)
		}
		return fmt.Errorf("nft: setup table inet %s: %w", TableName, err)
	}
	b.jails = want
	return nil
}

// setOf returns the set called name.
func setOf(sets []*nftables.Set, name string) *nftables.Set {
	for _, s := range sets {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Teardown removes the ban layer: its rules, chains and sets with every ban.
// When they are all the table holds, it deletes the table itself in the
// same transaction; otherwise the table stays with the objects of its other
// owners, untouched.
func (b *Backend) Teardown(context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	c, err := b.bulkConn()
	if err != nil {
		return err
	}
	l, err := b.readLayout(c)
	if err != nil || !l.exists {
		return err
	}
	if l.onlyOwn() {
		c.DelTable(b.table)
	} else {
		none := func(string) bool { return false }
		if err := b.removeOwn(c, l, none, none); err != nil {
			return err
		}
		if err := l.legacy.remove(c, b.table); err != nil {
			return err
		}
	}
	if err := c.Flush(); err != nil && !isNotExist(err) {
		return fmt.Errorf("nft: teardown in table inet %s: %w", TableName, err)
	}
	b.jails = map[string]firewall.JailSpec{}
	return nil
}

// Supported reports whether nftables can be managed here: the kernel
// answers nf_tables netlink requests and the process may make them. The
// daemon uses it to fall back to the iptables backend.
func Supported(opts Options) error {
	b := New(opts)
	c, err := b.conn()
	if err != nil {
		return err
	}
	if _, err := c.ListTablesOfFamily(nftables.TableFamilyINet); err != nil {
		return fmt.Errorf("nft: nf_tables unavailable: %w", err)
	}
	return nil
}

func isNotExist(err error) bool {
	return errors.Is(err, unix.ENOENT)
}
