package nft

import (
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/userdata"
	"github.com/rampart-ids/rampart/internal/firewall"
)

// The ban layer's names inside table inet rampart. Every chain and set it
// creates is named by one of these, so that another owner (the baseline
// policy) can add its own chains and sets to the same table: the ban layer
// touches only what OwnsName claims.
const (
	// baseChain is hooked at prerouting, priority raw, and dispatches to
	// the jails' chains.
	baseChain = "bans"
	// rejectChain answers packets of jails whose action is reject.
	rejectChain = "bans-reject"
	// banPrefix starts every jail chain ("ban-sshd") and ban set
	// ("ban-sshd-v4").
	banPrefix = "ban-"
)

// Marker is the comment the ban layer puts on every rule it creates (rule
// userdata, shown by `nft list` as comment "rampart-bans"). Setup and
// Teardown delete rules by it, never by flushing a chain, so a rule another
// owner added even to one of the ban layer's chains stays.
const Marker = "rampart-bans"

// markerData is Marker encoded as rule userdata the nft tool reads as a
// comment.
var markerData = userdata.AppendString(nil, userdata.TypeComment, Marker)

// OwnsName reports whether the ban layer claims the chain or set name in
// table inet rampart: "bans", "bans-reject", and "ban-" followed by a valid
// jail name (chains) or a jail name and a set suffix (sets). Another owner
// of objects in the table must pick names for which it is false.
func OwnsName(name string) bool {
	if name == baseChain || name == rejectChain {
		return true
	}
	_, ok := jailOfChain(name) // set names have this form too
	return ok
}

// jailChain is the chain holding a jail's set rules.
func jailChain(jail string) string { return banPrefix + jail }

// jailOfChain returns the jail of a jail chain's name.
func jailOfChain(name string) (string, bool) {
	jail, ok := strings.CutPrefix(name, banPrefix)
	return jail, ok && firewall.ValidateJailName(jail) == nil
}

// ownRule reports whether the ban layer created r.
func ownRule(r *nftables.Rule) bool {
	s, ok := userdata.GetString(r.UserData, userdata.TypeComment)
	return ok && s == Marker
}

// layout is what table inet rampart holds now, as far as the ban layer
// cares: its own chains with their rules, its own sets, and how many
// objects the table holds in all.
type layout struct {
	exists bool
	// use is the kernel's count of the table's chains, sets, stateful
	// objects and flowtables, whoever created them.
	use    uint32
	chains map[string][]*nftables.Rule // the ban layer's chains
	sets   []*nftables.Set             // the ban layer's sets
	legacy legacyLayout
	// foreign counts the chains and sets of other owners.
	foreign int
}

// own returns how many of the table's objects are the ban layer's.
func (l layout) own() int { return len(l.chains) + len(l.sets) }

// foreignRules reports whether chain holds a rule the ban layer did not
// create.
func (l layout) foreignRules(chain string) bool {
	for _, r := range l.chains[chain] {
		if !ownRule(r) {
			return true
		}
	}
	return false
}

// readLayout lists the table's chains and sets and the rules of the ban
// layer's chains. Objects of other owners are only counted, to be left
// alone.
func (b *Backend) readLayout(c *nftables.Conn) (layout, error) {
	l := layout{chains: map[string][]*nftables.Rule{}}
	t, err := b.getTable(c)
	if err != nil || t == nil {
		return l, err
	}
	l.exists, l.use = true, tableUse(t)
	sets, err := c.GetSets(b.table)
	if err != nil {
		return l, fmt.Errorf("nft: list sets: %w", err)
	}
	all, err := c.ListChainsOfTableFamily(nftables.TableFamilyINet)
	if err != nil {
		return l, fmt.Errorf("nft: list chains: %w", err)
	}
	var inTable []*nftables.Chain
	for _, ch := range all {
		if ch.Table != nil && ch.Table.Name == TableName {
			inTable = append(inTable, ch)
		}
	}
	if l.legacy, err = b.readLegacy(c, inTable, sets); err != nil {
		return l, err
	}
	for _, s := range sets {
		switch {
		case OwnsName(s.Name):
			l.sets = append(l.sets, s)
		case !l.legacy.hasSet(s.Name):
			l.foreign++
		}
	}
	for _, ch := range inTable {
		if !OwnsName(ch.Name) {
			if _, ok := l.legacy.chains[ch.Name]; !ok {
				l.foreign++
			}
			continue
		}
		rules, err := c.GetRules(b.table, &nftables.Chain{Name: ch.Name, Table: b.table})
		if err != nil {
			return l, fmt.Errorf("nft: list rules of chain %s: %w", ch.Name, err)
		}
		l.chains[ch.Name] = rules
	}
	return l, nil
}

// getTable returns the table as the kernel reports it, or nil when it does
// not exist.
func (b *Backend) getTable(c *nftables.Conn) (*nftables.Table, error) {
	t, err := c.ListTableOfFamily(TableName, nftables.TableFamilyINet)
	switch {
	case isNotExist(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("nft: get table inet %s: %w", TableName, err)
	}
	return t, nil
}

// tableUse returns the table's use count. The kernel sends it in network
// byte order and google/nftables v0.3.0 decodes it in the host's.
func tableUse(t *nftables.Table) uint32 {
	return binary.BigEndian.Uint32(binary.NativeEndian.AppendUint32(nil, t.Use))
}

// onlyOwn reports whether everything in the table is the ban layer's (the
// current or the legacy layout): deleting the table then deletes nothing
// of anyone else's. The kernel's use count covers the stateful objects and
// flowtables that are not listed.
func (l layout) onlyOwn() bool {
	if l.foreign > 0 {
		return false
	}
	for name := range l.chains {
		if l.foreignRules(name) {
			return false
		}
	}
	return int(l.use) == l.own()+len(l.legacy.chains)+len(l.legacy.sets)
}

// removeOwn queues the deletion of the ban layer's rules, and of its
// chains and sets unless keep says otherwise. A chain holding a rule of
// another owner loses only the ban layer's rules.
func (b *Backend) removeOwn(c *nftables.Conn, l layout, keepChain, keepSet func(string) bool) error {
	chains := slices.Sorted(maps.Keys(l.chains))
	for _, name := range chains {
		for _, r := range l.chains[name] {
			if !ownRule(r) {
				continue
			}
			if err := c.DelRule(&nftables.Rule{Table: b.table, Chain: &nftables.Chain{Name: name, Table: b.table}, Handle: r.Handle}); err != nil {
				return fmt.Errorf("nft: delete rule %d of chain %s: %w", r.Handle, name, err)
			}
		}
	}
	for _, s := range l.sets {
		if !keepSet(s.Name) {
			c.DelSet(s)
		}
	}
	for _, name := range chains {
		if !keepChain(name) && !l.foreignRules(name) {
			c.DelChain(&nftables.Chain{Name: name, Table: b.table})
		}
	}
	return nil
}
