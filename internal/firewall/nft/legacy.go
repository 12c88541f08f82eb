package nft

import (
	"fmt"
	"slices"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/rampart-ids/rampart/internal/firewall"
)

// Before the ban layer had names of its own, rampart filled table inet
// rampart with a base chain "prerouting", a chain "reject", per jail a chain
// "jail-NAME" and the sets "NAME-v4", "NAME-v4net", "NAME-v6" and
// "NAME-v6net". Setup removes that layout once, in the same transaction that
// creates the new one (the daemon re-adds every stored ban right after), so
// that an upgraded host does not keep dropping through rules nothing
// manages any more.
//
// It is recognised strictly: only chains "jail-NAME" whose rules are all
// uncommented source lookups, the sets those rules name, a base chain
// "prerouting" whose rules all jump to such a chain, and a chain "reject"
// whose rules all reject. Anything else in the table is another owner's.
const (
	legacyBase   = "prerouting"
	legacyReject = "reject"
	legacyPrefix = "jail-"
)

// legacyLayout is the pre-split layout found in the table.
type legacyLayout struct {
	chains map[string][]*nftables.Rule
	sets   []*nftables.Set
}

// hasSet reports whether name is one of the legacy sets.
func (l legacyLayout) hasSet(name string) bool {
	for _, s := range l.sets {
		if s.Name == name {
			return true
		}
	}
	return false
}

// readLegacy finds the pre-split layout among the table's chains and sets.
func (b *Backend) readLegacy(c *nftables.Conn, chains []*nftables.Chain, sets []*nftables.Set) (legacyLayout, error) {
	l := legacyLayout{chains: map[string][]*nftables.Rule{}}
	rulesOf := func(name string) ([]*nftables.Rule, error) {
		rules, err := c.GetRules(b.table, &nftables.Chain{Name: name, Table: b.table})
		if err != nil {
			return nil, fmt.Errorf("nft: list rules of chain %s: %w", name, err)
		}
		return rules, nil
	}
	setNames := map[string]bool{}
	var base, reject *nftables.Chain
	for _, ch := range chains {
		switch jail, ok := strings.CutPrefix(ch.Name, legacyPrefix); {
		case ok && firewall.ValidateJailName(jail) == nil:
			rules, err := rulesOf(ch.Name)
			if err != nil {
				return l, err
			}
			names, ok := legacyLookups(rules)
			if !ok {
				continue
			}
			l.chains[ch.Name] = rules
			for _, n := range names {
				setNames[n] = true
			}
		case ch.Name == legacyBase && ch.Hooknum != nil && *ch.Hooknum == *nftables.ChainHookPrerouting:
			base = ch
		case ch.Name == legacyReject && ch.Hooknum == nil:
			reject = ch
		}
	}
	if len(l.chains) == 0 {
		return l, nil
	}
	if base != nil {
		rules, err := rulesOf(base.Name)
		if err != nil {
			return l, err
		}
		if legacyDispatch(rules, l.chains) {
			l.chains[base.Name] = rules
		}
	}
	if reject != nil {
		rules, err := rulesOf(reject.Name)
		if err != nil {
			return l, err
		}
		if legacyRejects(rules) {
			l.chains[reject.Name] = rules
		}
	}
	for _, s := range sets {
		if setNames[s.Name] {
			l.sets = append(l.sets, s)
		}
	}
	return l, nil
}

// legacyLookups returns the sets a legacy jail chain's rules look up, or
// false when a rule is not one old rampart wrote.
func legacyLookups(rules []*nftables.Rule) ([]string, bool) {
	var names []string
	for _, r := range rules {
		if len(r.UserData) != 0 {
			return nil, false
		}
		var set string
		for _, e := range r.Exprs {
			if lk, ok := e.(*expr.Lookup); ok {
				set = lk.SetName
			}
		}
		if set == "" {
			return nil, false
		}
		names = append(names, set)
	}
	return names, true
}

// legacyDispatch reports whether every rule of the legacy base chain jumps
// to a legacy jail chain.
func legacyDispatch(rules []*nftables.Rule, jails map[string][]*nftables.Rule) bool {
	for _, r := range rules {
		if len(r.UserData) != 0 || len(r.Exprs) == 0 {
			return false
		}
		v, ok := r.Exprs[len(r.Exprs)-1].(*expr.Verdict)
		if !ok || v.Kind != expr.VerdictJump {
			return false
		}
		if _, ok := jails[v.Chain]; !ok {
			return false
		}
	}
	return true
}

// legacyRejects reports whether every rule of the legacy reject chain ends
// in a reject.
func legacyRejects(rules []*nftables.Rule) bool {
	for _, r := range rules {
		if len(r.UserData) != 0 || len(r.Exprs) == 0 {
			return false
		}
		if _, ok := r.Exprs[len(r.Exprs)-1].(*expr.Reject); !ok {
			return false
		}
	}
	return true
}

// remove queues the deletion of the legacy layout: rules by handle, then
// chains (dispatch first, then the jail chains and reject they lead to),
// then sets.
func (l legacyLayout) remove(c *nftables.Conn, t *nftables.Table) error {
	order := []string{legacyBase}
	for name := range l.chains {
		if strings.HasPrefix(name, legacyPrefix) {
			order = append(order, name)
		}
	}
	slices.Sort(order[1:])
	order = append(order, legacyReject)
	var present []string
	for _, name := range order {
		rules, ok := l.chains[name]
		if !ok {
			continue
		}
		present = append(present, name)
		for _, r := range rules {
			if err := c.DelRule(&nftables.Rule{Table: t, Chain: &nftables.Chain{Name: name, Table: t}, Handle: r.Handle}); err != nil {
				return fmt.Errorf("nft: delete rule %d of chain %s: %w", r.Handle, name, err)
			}
		}
	}
	for _, name := range present {
		c.DelChain(&nftables.Chain{Name: name, Table: t})
	}
	for _, s := range l.sets {
		c.DelSet(s)
	}
	return nil
}
