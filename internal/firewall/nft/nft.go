// Package nft is rampart's nftables backend. It talks to the kernel over
// netlink (github.com/google/nftables), never through the nft command.
//
// Everything lives in one table of rampart's own, "inet rampart":
//
//   - a base chain "prerouting" (hook prerouting, priority raw, -300) that
//     sends packets to a jail's chain when they match the jail's ports; it
//     runs before conntrack and before DNAT, so it sees traffic for local
//     services and for containers' published ports alike, with the port the
//     client asked for;
//   - per jail a chain "jail-NAME" and four sets: "NAME-v4" and "NAME-v6"
//     (hash sets of single addresses) and "NAME-v4net" and "NAME-v6net"
//     (interval sets of networks), all with per-element timeouts so the
//     kernel lifts bans on time even if rampart is not running;
//   - a chain "reject" that answers TCP with a reset and the rest with ICMP
//     administratively prohibited.
//
// See docs/FIREWALL.md for the reasoning.
package nft

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/google/nftables"
	"github.com/rampart-ids/rampart/internal/firewall"
	"golang.org/x/sys/unix"
)

var _ firewall.Backend = (*Backend)(nil)

// TableName is the name of rampart's table in the inet family.
const TableName = "rampart"

// Chain names inside the table.
const (
	baseChain   = "prerouting"
	rejectChain = "reject"
	jailPrefix  = "jail-"
)

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

// Backend manages the inet rampart table.
type Backend struct {
	opts  Options
	table *nftables.Table

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

func (b *Backend) conn() (*nftables.Conn, error) {
	var opts []nftables.ConnOption
	if b.opts.NetNS != 0 {
		opts = append(opts, nftables.WithNetNSFd(b.opts.NetNS))
	}
	c, err := nftables.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("nft: netlink: %w", err)
	}
	return c, nil
}

// Setup creates or refreshes the table in one atomic batch: chains are
// flushed and their rules rebuilt, sets of kept jails keep their elements,
// sets and chains of jails no longer listed are deleted.
func (b *Backend) Setup(_ context.Context, jails []firewall.JailSpec) error {
	if err := firewall.ValidateJails(jails); err != nil {
		return fmt.Errorf("nft: %w", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	c, err := b.conn()
	if err != nil {
		return err
	}
	sets, chains, err := b.existing(c)
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
	c.FlushChain(base)
	reject := c.AddChain(&nftables.Chain{Name: rejectChain, Table: b.table})
	c.FlushChain(reject)
	for _, r := range rejectRules(b.table, reject) {
		c.AddRule(r)
	}
	// Empty every jail chain first so that sets and chains can be deleted
	// later in the same transaction.
	for _, name := range chains {
		if strings.HasPrefix(name, jailPrefix) {
			c.FlushChain(&nftables.Chain{Name: name, Table: b.table})
		}
	}
	for _, s := range sets {
		k, ok := parseSetName(s.Name)
		if !ok {
			continue
		}
		if _, keep := want[k.jail]; !keep || !k.matches(s) {
			c.DelSet(s)
		}
	}
	for _, name := range chains {
		if jail, ok := strings.CutPrefix(name, jailPrefix); ok {
			if _, keep := want[jail]; !keep {
				c.DelChain(&nftables.Chain{Name: name, Table: b.table})
			}
		}
	}
	for _, j := range jails {
		chain := c.AddChain(&nftables.Chain{Name: jailPrefix + j.Name, Table: b.table})
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

// existing returns the sets and chain names of the table, or nothing when
// it does not exist yet.
func (b *Backend) existing(c *nftables.Conn) ([]*nftables.Set, []string, error) {
	if ok, err := b.tableExists(c); !ok {
		return nil, nil, err
	}
	sets, err := c.GetSets(b.table)
	if err != nil {
		return nil, nil, fmt.Errorf("nft: list sets: %w", err)
	}
	all, err := c.ListChainsOfTableFamily(nftables.TableFamilyINet)
	if err != nil {
		return nil, nil, fmt.Errorf("nft: list chains: %w", err)
	}
	var chains []string
	for _, ch := range all {
		if ch.Table != nil && ch.Table.Name == TableName {
			chains = append(chains, ch.Name)
		}
	}
	return sets, chains, nil
}

// Teardown deletes the table with all its chains, sets and bans.
func (b *Backend) Teardown(context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	c, err := b.conn()
	if err != nil {
		return err
	}
	c.DelTable(b.table)
	if err := c.Flush(); err != nil && !isNotExist(err) {
		return fmt.Errorf("nft: delete table inet %s: %w", TableName, err)
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

// tableExists asks the kernel for the table; GetSets does not say why it
// failed in a form errors.Is can read.
func (b *Backend) tableExists(c *nftables.Conn) (bool, error) {
	_, err := c.ListTableOfFamily(TableName, nftables.TableFamilyINet)
	switch {
	case err == nil:
		return true, nil
	case isNotExist(err):
		return false, nil
	}
	return false, fmt.Errorf("nft: get table inet %s: %w", TableName, err)
}

func isNotExist(err error) bool {
	return errors.Is(err, unix.ENOENT)
}
