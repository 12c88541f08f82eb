package ban

import (
	"context"
	"time"

	"github.com/rampart-ids/rampart/internal/event"
	"github.com/rampart-ids/rampart/internal/firewall"
)

// healGrace leaves alone bans about to end: the kernel may have timed
// their element out a moment before the manager expires them.
const healGrace = 2 * time.Second

// CheckSoon asks Run to compare the kernel with the active bans now (a
// firewall watcher saw a deletion). It never blocks; requests made while
// one is pending are merged.
func (m *Manager) CheckSoon() {
	select {
	case m.check <- struct{}{}:
	default:
	}
}

// heal compares the kernel's bans with the active ones and restores what
// is missing: the whole firewall (Setup and every ban) when rampart's sets
// are gone, else the missing elements. It publishes a FirewallRestored
// event saying how many bans came back.
func (m *Manager) heal(ctx context.Context) {
	m.opMu.Lock()
	defer m.unlock()
	start := time.Now()
	kernel, err := m.fw.List(ctx)
	m.log.Debug("firewall compared with the active bans", "kernel", len(kernel), "took", time.Since(start))
	if err != nil {
		// The table or a set is gone (or listing failed): set everything
		// up again.
		m.log.Warn("firewall state unreadable; setting it up again", "err", err)
		m.restore(ctx, start, "firewall state lost", true)
		return
	}
	have := make(map[key]bool, len(kernel))
	for _, b := range kernel {
		have[key{b.Jail, b.Prefix}] = true
	}
	now := m.now()
	m.mu.Lock()
	missing := 0
	for k, b := range m.active {
		if !b.Until.IsZero() && b.Until.Sub(now) < healGrace {
			continue
		}
		if _, pending := m.pending[k]; pending {
			continue
		}
		if fb := m.fwBan(b, now); !have[key{fb.Jail, fb.Prefix}] {
			missing++
		}
	}
	m.mu.Unlock()
	if missing == 0 {
		return
	}
	// Setup first: the elements' sets (or the whole table) may be gone
	// too; it is idempotent and keeps what is still there.
	m.log.Warn("firewall bans missing from the kernel", "missing", missing, "kernel", len(kernel))
	m.restore(ctx, start, "firewall state lost", true)
}

// restore sets the firewall up again and re-adds every active ban. Holds
// opMu.
func (m *Manager) restore(ctx context.Context, start time.Time, what string, setup bool) {
	m.mu.Lock()
	specs := m.specs
	m.mu.Unlock()
	if setup {
		if err := m.fw.Setup(ctx, specs); err != nil {
			m.log.Error("firewall setup failed; will retry", "err", err)
			m.mu.Lock()
			m.resync = true // the next retry tries again
			m.mu.Unlock()
			return
		}
	}
	now := m.now()
	var ch firewall.Change
	m.mu.Lock()
	for k, b := range m.active {
		delete(m.pending, k)
		if b.Until.IsZero() || b.Until.After(now) {
			ch.Add = append(ch.Add, m.fwBan(b, now))
		}
	}
	m.mu.Unlock()
	setupDone := time.Now()
	if len(ch.Add) > 0 {
		if err := m.apply(ctx, ch); err != nil {
			m.log.Error("re-adding bans failed; will retry", "err", err)
		}
	}
	m.log.Debug("firewall restored", "setup_done_after", setupDone.Sub(start), "apply", time.Since(setupDone))
	m.restored(start, what, len(ch.Add))
}

// restored logs and publishes a restoration. Holds opMu.
func (m *Manager) restored(start time.Time, what string, n int) {
	took := time.Since(start)
	m.log.Warn(what+": restored bans", "bans", n, "took", took.Round(time.Millisecond))
	m.outbox = append(m.outbox, event.Event{Kind: event.FirewallRestored, Time: m.now(), Count: n, Took: took, Reason: what})
}
