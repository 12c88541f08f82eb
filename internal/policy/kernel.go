package policy

import (
	"errors"
	"fmt"
	"slices"

	"github.com/rampart-ids/rampart/internal/netlinkbuf"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// Kernel reads and writes the baseline in one network namespace.
type Kernel struct {
	// NetNS, when non-zero, is a descriptor of the network namespace to
	// manage instead of the process's own (tests).
	NetNS int
	// Also, when set, queues another layer's changes on the connection
	// Apply uses, so that they and the baseline are one transaction (the
	// daemon sends its limits this way). It may read the kernel through c.
	Also func(c *nftables.Conn) error
}

// Active is the baseline as the kernel holds it.
type Active struct {
	// Present: chain policy-input exists.
	Present bool `json:"present"`
	// Drop: its policy is drop (the baseline is enforced).
	Drop  bool   `json:"drop"`
	Rules []Rule `json:"rules"`
	// Packets counts, per rule, the packets it let in (or dropped).
	Packets []uint64 `json:"packets"`
	// Foreign counts rules in the chain the baseline did not create (or
	// whose comment it cannot read); they are left alone.
	Foreign int `json:"foreign"`
	handles []uint64
}

// Policy returns what the kernel enforces as a Policy (for rollback).
func (a *Active) Policy() *Policy {
	return &Policy{Enabled: a.Present && a.Drop, Rules: slices.Clone(a.Rules)}
}

func (k Kernel) conn() (*nftables.Conn, error) {
	opts := []nftables.ConnOption{nftables.WithSockOptions(netlinkbuf.Bulk(bulkBuffer))}
	if k.NetNS != 0 {
		opts = append(opts, nftables.WithNetNSFd(k.NetNS))
	}
	c, err := nftables.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("policy: netlink: %w", err)
	}
	return c, nil
}

// bulkBuffer bounds the netlink socket buffers: the kernel queues an
// answer (several KiB each) to every message of a batch before rampart
// reads any, so a baseline of a few hundred rules overruns the default
// receive buffer (ENOBUFS). The limit reserves no memory.
const bulkBuffer = 16 << 20

var table = &nftables.Table{Name: TableName, Family: nftables.TableFamilyINet}

// Read returns the kernel's baseline.
func (k Kernel) Read() (*Active, error) {
	c, err := k.conn()
	if err != nil {
		return nil, err
	}
	return read(c)
}

func read(c *nftables.Conn) (*Active, error) {
	a := &Active{}
	// ListChain does not wrap ENOENT in v0.3.0: list the family's chains.
	all, err := c.ListChainsOfTableFamily(nftables.TableFamilyINet)
	if err != nil && !errors.Is(err, unix.ENOENT) {
		return nil, fmt.Errorf("policy: list chains: %w", err)
	}
	var ch *nftables.Chain
	for _, x := range all {
		if x.Table != nil && x.Table.Name == TableName && x.Name == ChainName {
			ch = x
		}
	}
	if ch == nil {
		return a, nil
	}
	a.Present = true
	a.Drop = ch.Policy != nil && *ch.Policy == nftables.ChainPolicyDrop
	rules, err := c.GetRules(table, ch)
	if err != nil {
		return nil, fmt.Errorf("policy: list rules of %s: %w", ChainName, err)
	}
	for _, r := range rules {
		s, ok := ruleComment(r)
		if !ok {
			a.Foreign++
			continue
		}
		pr, err := ParseRule(s)
		if err != nil {
			a.Foreign++
			continue
		}
		var n uint64
		for _, e := range r.Exprs {
			if ctr, ok := e.(*expr.Counter); ok {
				n = ctr.Packets
			}
		}
		a.Rules = append(a.Rules, pr)
		a.Packets = append(a.Packets, n)
		a.handles = append(a.handles, r.Handle)
	}
	return a, nil
}

// Apply makes the kernel enforce p in one netlink batch (one transaction:
// the old rules and the new ones are never both missing). A disabled p
// removes chain policy-input. Nothing but the baseline's own chain and its
// rules is touched; a rule another owner put into the chain stays (and
// keeps the chain from being deleted).
func (k Kernel) Apply(p *Policy) error {
	c, err := k.conn()
	if err != nil {
		return err
	}
	cur, err := read(c)
	if err != nil {
		return err
	}
	ch := &nftables.Chain{Name: ChainName, Table: table}
	if !p.Enabled {
		if !cur.Present {
			if k.Also == nil {
				return nil
			}
			if err := k.Also(c); err != nil {
				return err
			}
			if err := c.Flush(); err != nil {
				return fmt.Errorf("policy: apply: %w", err)
			}
			return nil
		}
		for _, h := range cur.handles {
			if err := c.DelRule(&nftables.Rule{Table: table, Chain: ch, Handle: h}); err != nil {
				return fmt.Errorf("policy: delete rule: %w", err)
			}
		}
		if cur.Foreign == 0 {
			c.DelChain(ch)
		} else {
			accept := nftables.ChainPolicyAccept
			c.AddChain(&nftables.Chain{Name: ChainName, Table: table, Type: nftables.ChainTypeFilter,
				Hooknum: nftables.ChainHookInput, Priority: nftables.ChainPriorityFilter, Policy: &accept})
		}
		if k.Also != nil {
			if err := k.Also(c); err != nil {
				return err
			}
		}
		if err := c.Flush(); err != nil {
			return fmt.Errorf("policy: remove chain %s: %w", ChainName, err)
		}
		return nil
	}
	drop := nftables.ChainPolicyDrop
	c.AddTable(table)
	ch = c.AddChain(&nftables.Chain{Name: ChainName, Table: table, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookInput, Priority: nftables.ChainPriorityFilter, Policy: &drop})
	for _, h := range cur.handles {
		if err := c.DelRule(&nftables.Rule{Table: table, Chain: ch, Handle: h}); err != nil {
			return fmt.Errorf("policy: delete rule: %w", err)
		}
	}
	for _, r := range p.Rules {
		c.AddRule(r.nftRule(table, ch))
	}
	if k.Also != nil {
		if err := k.Also(c); err != nil {
			return err
		}
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("policy: apply chain %s: %w", ChainName, err)
	}
	return nil
}
