// Package ban is the decision flow: a jail's decision becomes a committed
// ban in the store, then an element in the kernel firewall. Bans are applied
// in batches (a flood of decisions costs one transaction and a few netlink
// messages), remembered in memory for status, expired, and reconciled with
// the kernel at start.
package ban

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sort"
	"sync"
	"time"

	"github.com/rampart-ids/rampart/internal/event"
	"github.com/rampart-ids/rampart/internal/firewall"
	"github.com/rampart-ids/rampart/internal/origin"
	"github.com/rampart-ids/rampart/internal/store"
)

// Store is what the manager needs of persistence (*store.Store has it).
type Store interface {
	AddBans(ctx context.Context, bans []store.Ban) error
	RemoveBans(ctx context.Context, bans []store.Ban) ([]store.Ban, error)
	ActiveBans(ctx context.Context, now time.Time) ([]store.Ban, error)
	ExpireBefore(ctx context.Context, now time.Time) ([]store.Ban, error)
}

// Publisher takes the manager's events (*event.Bus has it): a ban added,
// lifted or expired, and each firewall batch. The manager publishes after
// it releases its lock, and Publish must not wait (the bus never does).
type Publisher interface {
	Publish(e event.Event)
}

// queueLen bounds the decisions waiting for the flusher. A channel's
// buffer is allocated whole (a ban is ~120 bytes), and the flusher drains
// thousands per batch, so a modest queue costs nothing under a flood.
const queueLen = 8192

// maxBatch bounds one flush: one SQLite transaction and a few netlink batches.
const maxBatch = 20000

// retryEvery is how often bans the firewall refused are tried again.
const retryEvery = 5 * time.Second

// DefaultCheckEvery is how often the kernel's bans are compared with the
// manager's, to restore what something outside removed.
const DefaultCheckEvery = 30 * time.Second

// enqueueGrace is how long a stopping reader waits for room in a full ban
// queue; finalFlushTimeout bounds Run's last commit of the queue.
const (
	enqueueGrace      = 5 * time.Second
	finalFlushTimeout = 30 * time.Second
)

type key struct {
	jail   string
	prefix netip.Prefix
}

// Manager owns the active bans.
type Manager struct {
	store      Store
	fw         firewall.Backend
	log        *slog.Logger
	now        func() time.Time
	events     Publisher
	fallback   string // the set of bans whose jail is not configured
	checkEvery time.Duration

	queue chan store.Ban
	check chan struct{} // a watcher's request to compare the kernel now

	// opMu serialises operations that touch the store, memory and the
	// firewall (Start, Reconfigure, Add, Remove, expire, retry), so the
	// three never disagree; mu guards the maps for quick readers. Events
	// of an operation wait in outbox (guarded by opMu) until unlock
	// publishes them.
	opMu   sync.Mutex
	outbox []event.Event
	specs  []firewall.JailSpec // what Setup was last given, for resyncs

	mu     sync.Mutex
	jails  map[string]bool      // jails of specs: the sets bans can go in
	unbans map[key]firewall.Ban // removals the firewall refused, to retry
	resync bool                 // a whole batch failed: set the firewall up again and re-add every ban
	active map[key]store.Ban
	// nextEnd is no later than the earliest end of an active ban (zero:
	// none ends), so that expire skips its work until then.
	nextEnd time.Time
	pending map[key]store.Ban // committed, refused by the firewall, to retry
	total   map[string]int64  // bans since start, per jail
	// unstored are bans in force (in memory and the kernel) that the store
	// refused (disk full, read-only state directory): retried with the
	// firewall's refusals until the store takes them. storeErr is the last
	// refusal, cleared by a successful retry.
	unstored map[key]store.Ban
	storeErr error
}

// Config configures a Manager.
type Config struct {
	Store    Store
	Firewall firewall.Backend
	Log      *slog.Logger
	Now      func() time.Time
	// Events, optional, receives the manager's events.
	Events Publisher
	// CheckEvery is how often the kernel is compared with the active bans
	// (0: DefaultCheckEvery); a firewall.Watcher makes it sooner.
	CheckEvery time.Duration
	// Fallback names the jail spec whose sets (all ports, drop) enforce
	// bans of jails no longer configured: such bans are kept and shown
	// until they end, not dropped. It must be among every Setup's specs.
	Fallback string
}

// New returns a Manager; call Start before Run.
func New(cfg Config) *Manager {
	m := &Manager{
		store: cfg.Store, fw: cfg.Firewall, log: cfg.Log, now: cfg.Now, events: cfg.Events, fallback: cfg.Fallback,
		queue:   make(chan store.Ban, queueLen),
		check:   make(chan struct{}, 1),
		active:  map[key]store.Ban{},
		pending: map[key]store.Ban{},
		jails:   map[string]bool{},
		unbans:  map[key]firewall.Ban{},
		total:   map[string]int64{},

		unstored: map[key]store.Ban{},
	}
	if m.log == nil {
		m.log = slog.Default()
	}
	if m.now == nil {
		m.now = time.Now
	}
	m.checkEvery = cfg.CheckEvery
	if m.checkEvery <= 0 {
		m.checkEvery = DefaultCheckEvery
	}
	return m
}

// Start sets up the firewall for jails and reconciles it with the store.
// Stored active bans are applied first (adding a ban the kernel holds
// already only refreshes it), so they are enforced as soon as possible;
// then the kernel is listed — slow for big sets — and elements without a
// stored ban are removed.
func (m *Manager) Start(ctx context.Context, jails []firewall.JailSpec) error {
	m.opMu.Lock()
	defer m.unlock()
	if err := m.fw.Setup(ctx, jails); err != nil {
		return fmt.Errorf("firewall setup: %w", err)
	}
	m.setSpecs(jails)
	now := m.now()
	if _, err := m.store.ExpireBefore(ctx, now); err != nil {
		return fmt.Errorf("expiring old bans: %w", err)
	}
	stored, err := m.store.ActiveBans(ctx, now)
	if err != nil {
		return fmt.Errorf("reading stored bans: %w", err)
	}
	var add firewall.Change
	m.mu.Lock()
	m.active = map[key]store.Ban{}
	// The first expire runs whole: rows that ended while rampart was
	// stopped leave the store then.
	m.nextEnd = m.now()
	orphans := 0
	for _, b := range stored {
		// A ban whose jail left the configuration stays in force (in the
		// fallback set) until it ends.
		if !m.jails[b.Jail] {
			orphans++
		}
		m.active[key{b.Jail, b.Prefix}] = b
		m.noteEnd(b.Until)
		add.Add = append(add.Add, m.fwBan(b, now))
	}
	m.mu.Unlock()
	if orphans > 0 {
		m.log.Warn("bans of jails no longer configured stay in force until they end", "bans", orphans, "set", m.fallback)
	}
	if len(add.Add) > 0 {
		start := time.Now()
		if err := m.apply(ctx, add); err != nil {
			m.log.Error("firewall refused part of the stored bans; will retry", "err", err)
		}
		m.log.Info("stored bans enforced", "bans", len(add.Add), "took", time.Since(start).Round(time.Millisecond))
	}
	kernel, err := m.fw.List(ctx)
	if err != nil {
		return fmt.Errorf("listing firewall bans: %w", err)
	}
	var stale firewall.Change
	m.mu.Lock()
	inKernel := m.enforced()
	for _, b := range kernel {
		if !inKernel[key{b.Jail, b.Prefix}] {
			stale.Remove = append(stale.Remove, firewall.Ban{Jail: b.Jail, Prefix: b.Prefix})
		}
	}
	m.mu.Unlock()
	if len(stale.Remove) > 0 {
		m.log.Info("removing firewall bans the store does not hold", "bans", len(stale.Remove))
		if err := m.apply(ctx, stale); err != nil {
			m.log.Error("removing stale firewall bans", "err", err)
		}
	}
	return nil
}

// Enqueue hands a ban to the flusher. It never blocks the log reader for
// long: the queue holds queueLen bans, and a full queue waits for the
// flusher's current batch.
func (m *Manager) Enqueue(ctx context.Context, b store.Ban) {
	select {
	case m.queue <- b:
		return
	default:
	}
	select {
	case m.queue <- b:
		return
	case <-ctx.Done():
	}
	// The reader is stopping with the queue full: Run keeps flushing until
	// it is stopped itself, so wait a little more before giving up.
	t := time.NewTimer(enqueueGrace)
	defer t.Stop()
	select {
	case m.queue <- b:
	case <-t.C:
		m.log.Error("ban lost: the ban queue stayed full while stopping", "jail", b.Jail, "ip", prefixString(b.Prefix))
	}
}

// IsBanned reports whether prefix is banned in jail now.
func (m *Manager) IsBanned(jail string, p netip.Prefix) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.active[key{jail, p}]
	return ok && (b.Until.IsZero() || b.Until.After(m.now()))
}

// Run flushes queued bans in batches, expires bans and retries refused ones
// until ctx is done; then it commits what is still queued and returns. Stop
// it after the log readers that enqueue, so that no ban is left behind.
func (m *Manager) Run(ctx context.Context) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	// Periods are measured on the monotonic clock (time.Now), ban ends on
	// the wall clock (m.now): a wall clock set back an hour must not stop
	// the retries and comparisons for an hour.
	lastRetry, lastCheck := time.Now(), time.Now()
	if w, ok := m.fw.(firewall.Watcher); ok {
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			if err := w.Watch(wctx, m.CheckSoon); err != nil {
				m.log.Warn("watching the firewall for changes from outside; comparing every 30 s instead", "err", err)
			}
		}()
	}
	batch := make([]store.Ban, 0, 1024)
	// flush commits b and whatever else is already queued: a flood becomes
	// few batches.
	flush := func(ctx context.Context, b store.Ban) {
		batch = append(batch[:0], b)
	drain:
		for len(batch) < maxBatch {
			select {
			case b := <-m.queue:
				batch = append(batch, b)
			default:
				break drain
			}
		}
		if err := m.Add(ctx, batch); err != nil && ctx.Err() == nil {
			m.log.Error("ban batch failed", "bans", len(batch), "err", err)
		}
	}
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), finalFlushTimeout)
			defer cancel()
			for {
				select {
				case b := <-m.queue:
					flush(fctx, b)
				default:
					return nil
				}
			}
		case b := <-m.queue:
			flush(ctx, b)
		case <-m.check:
			lastCheck = time.Now()
			m.heal(ctx)
		case <-tick.C:
			m.expire(ctx, m.now())
			mono := time.Now()
			if mono.Sub(lastRetry) >= retryEvery {
				lastRetry = mono
				m.retry(ctx)
			}
			if mono.Sub(lastCheck) >= m.checkEvery {
				lastCheck = mono
				m.heal(ctx)
			}
		}
	}
}

// Add commits bans to the store, then to the firewall. A ban already active
// in the same jail is extended only if the new one lasts longer.
func (m *Manager) Add(ctx context.Context, bans []store.Ban) error {
	m.opMu.Lock()
	defer m.unlock()
	now := m.now()
	m.mu.Lock()
	var fresh []store.Ban
	seen := map[key]bool{}
	for _, b := range bans {
		k := key{b.Jail, b.Prefix}
		if seen[k] {
			continue
		}
		if old, ok := m.active[k]; ok && (old.Until.IsZero() || (!b.Until.IsZero() && !b.Until.After(old.Until))) {
			continue
		}
		seen[k] = true
		fresh = append(fresh, b)
	}
	m.mu.Unlock()
	if len(fresh) == 0 {
		return nil
	}
	// A store that refuses the batch (disk full, read-only state
	// directory) does not leave the addresses free: the bans are enforced
	// all the same and kept for the store, retried every retryEvery.
	storeErr := m.store.AddBans(ctx, fresh)
	if storeErr != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("storing %d bans: %w", len(fresh), storeErr)
		}
		m.log.Error("state database refused bans; they are enforced in the kernel and the database is retried every 5 s",
			"bans", len(fresh), "err", storeErr)
		storeErr = fmt.Errorf("%d bans enforced but not stored yet (retrying): %w", len(fresh), storeErr)
	}
	ch := firewall.Change{Add: make([]firewall.Ban, 0, len(fresh))}
	m.mu.Lock()
	if storeErr != nil {
		m.storeErr = storeErr
	}
	for _, b := range fresh {
		k := key{b.Jail, b.Prefix}
		if storeErr != nil {
			m.unstored[k] = b
		} else {
			delete(m.unstored, k)
		}
		m.active[k] = b
		m.noteEnd(b.Until)
		m.total[b.Jail]++
		ch.Add = append(ch.Add, m.fwBan(b, now))
	}
	m.mu.Unlock()
	err := m.apply(ctx, ch)
	done := m.now()
	for _, b := range fresh {
		e := banEvent(event.BanAdded, b, done)
		if b.Origin.Kind == origin.Jail {
			e.Latency = done.Sub(b.Since)
		}
		m.outbox = append(m.outbox, e)
	}
	return errors.Join(storeErr, err)
}

// apply sends a change; elements the firewall refuses are logged by name
// and queued for retry.
func (m *Manager) apply(ctx context.Context, ch firewall.Change) error {
	start := time.Now()
	err := m.fw.Apply(ctx, ch)
	e := event.Event{Kind: event.FirewallBatch, Time: m.now(), Adds: len(ch.Add), Removes: len(ch.Remove), Took: time.Since(start)}
	if err != nil {
		e.Err = err.Error()
	}
	m.outbox = append(m.outbox, e)
	if err == nil {
		return nil
	}
	var be *firewall.BatchError
	if errors.As(err, &be) {
		for _, f := range be.Failed {
			m.log.Error("firewall refused element; will retry", "op", f.Op, "jail", f.Ban.Jail, "ip", prefixString(f.Ban.Prefix), "err", f.Err)
		}
		if len(be.Failed) < be.Total || unknownJailOnly(be) {
			m.mu.Lock()
			for _, f := range be.Failed {
				k := key{f.Ban.Jail, f.Ban.Prefix}
				switch {
				case errors.Is(f.Err, firewall.ErrUnknownJail):
					// The firewall has no such jail (it left the
					// configuration): the ban cannot be enforced.
					delete(m.active, k)
					delete(m.pending, k)
					delete(m.unstored, k)
				case f.Op == firewall.OpAdd:
					if b, ok := m.active[k]; ok {
						m.pending[k] = b
					}
				default:
					m.unbans[k] = f.Ban
				}
			}
			m.mu.Unlock()
			return err
		}
	}
	// The whole batch failed (netlink refused it, or the table was deleted
	// from outside): next tick, set the firewall up again and re-add every
	// active ban.
	m.log.Error("firewall refused a whole batch; setting it up again", "adds", len(ch.Add), "removes", len(ch.Remove), "err", err)
	m.mu.Lock()
	m.resync = true
	m.mu.Unlock()
	return err
}

func (m *Manager) retry(ctx context.Context) {
	m.opMu.Lock()
	defer m.unlock()
	m.retryStore(ctx)
	m.mu.Lock()
	if m.resync {
		m.mu.Unlock()
		m.resyncAll(ctx)
		return
	}
	if len(m.pending) == 0 && len(m.unbans) == 0 {
		m.mu.Unlock()
		return
	}
	now := m.now()
	var ch firewall.Change
	inKernel := m.enforced()
	for k, b := range m.unbans {
		delete(m.unbans, k)
		if !inKernel[k] {
			ch.Remove = append(ch.Remove, b)
		}
	}
	for k, b := range m.pending {
		delete(m.pending, k)
		if _, ok := m.active[k]; ok && (b.Until.IsZero() || b.Until.After(now)) {
			ch.Add = append(ch.Add, m.fwBan(b, now))
		}
	}
	m.mu.Unlock()
	if ch.Len() == 0 {
		return
	}
	m.log.Info("retrying what the firewall refused", "bans", len(ch.Add), "unbans", len(ch.Remove))
	if err := m.apply(ctx, ch); err != nil {
		m.log.Warn("retry failed; will try again", "err", err)
	}
}

// unknownJailOnly reports whether every failure is a jail the backend does
// not know (then setting the firewall up again would not help).
func unknownJailOnly(be *firewall.BatchError) bool {
	for _, f := range be.Failed {
		if !errors.Is(f.Err, firewall.ErrUnknownJail) {
			return false
		}
	}
	return len(be.Failed) > 0
}

// setSpecs records the jails the firewall was set up with.
func (m *Manager) setSpecs(specs []firewall.JailSpec) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.specs = specs
	m.jails = map[string]bool{}
	for _, j := range specs {
		m.jails[j.Name] = true
	}
}

// Reconfigure sets the firewall up for a new set of jails (a reload):
// every ban is kept. Bans of removed jails move to the fallback set (the
// firewall drops the jail's sets), bans of a jail that is back move to its
// own set again. Bans committed meanwhile are not lost: it holds the same
// lock as Add.
func (m *Manager) Reconfigure(ctx context.Context, specs []firewall.JailSpec) error {
	m.opMu.Lock()
	defer m.unlock()
	m.mu.Lock()
	before := map[key]string{}
	for k := range m.active {
		before[k] = m.setOf(k.jail)
	}
	m.mu.Unlock()
	if err := m.fw.Setup(ctx, specs); err != nil {
		return fmt.Errorf("firewall setup: %w", err)
	}
	m.setSpecs(specs)
	now := m.now()
	var ch firewall.Change
	m.mu.Lock()
	inKernel := m.enforced()
	for k, b := range m.active {
		old, set := before[k], m.setOf(k.jail)
		if old == set {
			continue
		}
		ch.Add = append(ch.Add, m.fwBan(b, now))
		if old == m.fallback && !inKernel[key{old, k.prefix}] {
			ch.Remove = append(ch.Remove, firewall.Ban{Jail: old, Prefix: k.prefix})
		}
	}
	m.mu.Unlock()
	if ch.Len() > 0 {
		m.log.Info("bans moved between sets after the jails changed", "adds", len(ch.Add), "removes", len(ch.Remove))
		if err := m.apply(ctx, ch); err != nil {
			m.log.Error("moving bans between sets; will retry", "err", err)
		}
	}
	return nil
}

// resyncAll sets the firewall up again (idempotent: it re-creates a deleted
// table) and re-adds every active ban, after a whole batch failed.
func (m *Manager) resyncAll(ctx context.Context) {
	m.mu.Lock()
	m.resync = false
	m.mu.Unlock()
	m.restore(ctx, time.Now(), "firewall refused a whole batch", true)
}

// expire drops ended bans from the store and memory. The kernel removes
// its elements by itself (per-element timeouts), except bans longer than a
// firewall.TimeoutLimiter's limit, which are removed here.
func (m *Manager) expire(ctx context.Context, now time.Time) {
	m.opMu.Lock()
	defer m.unlock()
	m.mu.Lock()
	idle := m.nextEnd.IsZero() || now.Before(m.nextEnd)
	m.mu.Unlock()
	if idle {
		return
	}
	gone, err := m.store.ExpireBefore(ctx, now)
	if err != nil {
		m.log.Warn("expiring bans", "err", err)
		return
	}
	m.mu.Lock()
	m.nextEnd = time.Time{}
	for k, b := range m.active {
		if !b.Until.IsZero() && !b.Until.After(now) {
			delete(m.active, k)
			delete(m.pending, k)
			delete(m.unstored, k)
			continue
		}
		m.noteEnd(b.Until)
	}
	m.mu.Unlock()
	if tl, ok := m.fw.(firewall.TimeoutLimiter); ok {
		var untimed firewall.Change
		m.mu.Lock()
		inKernel := m.enforced()
		for _, b := range gone {
			if set := m.setOf(b.Jail); b.Until.Sub(b.Since) > tl.MaxTimeout() && !inKernel[key{set, b.Prefix}] {
				untimed.Remove = append(untimed.Remove, firewall.Ban{Jail: set, Prefix: b.Prefix})
			}
		}
		m.mu.Unlock()
		if len(untimed.Remove) > 0 {
			if err := m.apply(ctx, untimed); err != nil {
				m.log.Error("removing ended bans the firewall keeps without a timeout", "err", err)
			}
		}
	}
	for _, b := range gone {
		e := banEvent(event.BanExpired, b, now)
		e.Reason = "expired"
		m.outbox = append(m.outbox, e)
	}
}

// noteEnd lowers nextEnd to until (a zero until never ends). Holds mu.
func (m *Manager) noteEnd(until time.Time) {
	if !until.IsZero() && (m.nextEnd.IsZero() || until.Before(m.nextEnd)) {
		m.nextEnd = until
	}
}

// ActiveCount counts the bans in force in jail, or in every jail when jail
// is empty, without copying them.
func (m *Manager) ActiveCount(jail string) int {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for k, b := range m.active {
		if (jail == "" || k.jail == jail) && (b.Until.IsZero() || b.Until.After(now)) {
			n++
		}
	}
	return n
}

// Active returns the active bans, sorted by jail then prefix.
func (m *Manager) Active() []store.Ban {
	now := m.now()
	m.mu.Lock()
	out := make([]store.Ban, 0, len(m.active))
	for _, b := range m.active {
		if b.Until.IsZero() || b.Until.After(now) {
			out = append(out, b)
		}
	}
	m.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Jail != out[j].Jail {
			return out[i].Jail < out[j].Jail
		}
		return out[i].Prefix.Addr().Less(out[j].Prefix.Addr()) || out[i].Prefix.Addr() == out[j].Prefix.Addr() && out[i].Prefix.Bits() < out[j].Prefix.Bits()
	})
	return out
}

// Total returns the number of bans made in jail since start.
func (m *Manager) Total(jail string) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.total[jail]
}

// Teardown removes the bans' chains and sets, and rampart's table when
// nothing else is in it (daemon on_stop = "flush").
func (m *Manager) Teardown(ctx context.Context) error { return m.fw.Teardown(ctx) }

// unlock releases opMu and then publishes the events the operation left
// in outbox, so that no subscriber ever runs under the manager's lock.
func (m *Manager) unlock() {
	evs := m.outbox
	m.outbox = nil
	m.opMu.Unlock()
	if m.events == nil {
		return
	}
	for _, e := range evs {
		m.events.Publish(e)
	}
}

// setOf returns the jail whose sets enforce bans of jail: its own, or the
// fallback when it is not configured. Holds mu.
func (m *Manager) setOf(jail string) string {
	if m.jails[jail] || m.fallback == "" {
		return jail
	}
	return m.fallback
}

// enforced returns the firewall elements the active bans need, by set and
// prefix. Holds mu.
func (m *Manager) enforced() map[key]bool {
	out := make(map[key]bool, len(m.active))
	for k := range m.active {
		out[key{m.setOf(k.jail), k.prefix}] = true
	}
	return out
}

// banEvent describes b for the event bus.
func banEvent(kind event.Kind, b store.Ban, now time.Time) event.Event {
	return event.Event{Kind: kind, Time: now, Jail: b.Jail, Prefix: b.Prefix, Origin: b.Origin.String(), Until: b.Until, Count: b.Count}
}

// fwBan is the firewall element of b, in the set that enforces it. Holds mu.
func (m *Manager) fwBan(b store.Ban, now time.Time) firewall.Ban {
	fb := firewall.Ban{Jail: m.setOf(b.Jail), Prefix: b.Prefix}
	if !b.Until.IsZero() {
		fb.Timeout = b.Until.Sub(now)
		if fb.Timeout < time.Second {
			fb.Timeout = time.Second
		}
	}
	return fb
}

// prefixString prints single addresses without their /32 or /128.
func prefixString(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}
