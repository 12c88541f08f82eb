package ban

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/rampart-ids/rampart/internal/event"
	"github.com/rampart-ids/rampart/internal/firewall"
	"github.com/rampart-ids/rampart/internal/store"
)

// Remove lifts bans matching prefix (every jail when jail is empty; every
// ban when all). It returns what was removed.
func (m *Manager) Remove(ctx context.Context, jail string, prefix netip.Prefix, all bool, by string) ([]store.Ban, error) {
	m.opMu.Lock()
	defer m.unlock()
	m.mu.Lock()
	var sel []store.Ban
	for k, b := range m.active {
		if (all || k.prefix == prefix) && (jail == "" || k.jail == jail) {
			sel = append(sel, b)
		}
	}
	m.mu.Unlock()
	return m.lift(ctx, sel, by)
}

// RemoveMany lifts the bans targets select (each one's Prefix in its Jail,
// or in every jail when Jail is empty; other fields are ignored) in one
// store transaction and one firewall batch: a fleet peer's burst of unbans.
// It returns what was removed; targets without a ban are skipped.
func (m *Manager) RemoveMany(ctx context.Context, targets []store.Ban, by string) ([]store.Ban, error) {
	m.opMu.Lock()
	defer m.unlock()
	m.mu.Lock()
	var sel []store.Ban
	seen := map[key]bool{}
	pick := func(k key) {
		if b, ok := m.active[k]; ok && !seen[k] {
			seen[k] = true
			sel = append(sel, b)
		}
	}
	var anyJail map[netip.Prefix]bool
	for _, t := range targets {
		if t.Jail != "" {
			pick(key{t.Jail, t.Prefix})
			continue
		}
		if anyJail == nil {
			anyJail = map[netip.Prefix]bool{}
		}
		anyJail[t.Prefix] = true
	}
	if anyJail != nil {
		for k := range m.active {
			if anyJail[k.prefix] {
				pick(k)
			}
		}
	}
	m.mu.Unlock()
	return m.lift(ctx, sel, by)
}

// lift removes sel from the store, memory and the firewall. Holds opMu.
func (m *Manager) lift(ctx context.Context, sel []store.Ban, by string) ([]store.Ban, error) {
	if len(sel) == 0 {
		return nil, nil
	}
	if _, err := m.store.RemoveBans(ctx, sel); err != nil {
		return nil, fmt.Errorf("removing bans from the store: %w", err)
	}
	ch := firewall.Change{}
	m.mu.Lock()
	for _, b := range sel {
		k := key{b.Jail, b.Prefix}
		delete(m.active, k)
		delete(m.pending, k)
		delete(m.unstored, k)
	}
	inKernel := m.enforced()
	for _, b := range sel {
		// Another ban may hold the same element (a ban of a removed jail
		// and a manual ban share the fallback set).
		if set := m.setOf(b.Jail); !inKernel[key{set, b.Prefix}] {
			ch.Remove = append(ch.Remove, firewall.Ban{Jail: set, Prefix: b.Prefix})
		}
	}
	m.mu.Unlock()
	now := m.now()
	for _, b := range sel {
		e := banEvent(event.BanRemoved, b, now)
		e.Reason = "unban"
		if by != "" {
			e.Reason = "unban by " + by
		}
		m.outbox = append(m.outbox, e)
	}
	return sel, m.apply(ctx, ch)
}
