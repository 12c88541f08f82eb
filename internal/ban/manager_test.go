package ban

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rampart-ids/rampart/internal/event"
	"github.com/rampart-ids/rampart/internal/firewall"
	"github.com/rampart-ids/rampart/internal/firewall/dryrun"
	"github.com/rampart-ids/rampart/internal/origin"
	"github.com/rampart-ids/rampart/internal/store"
)

// memStore is an in-memory Store for the manager's logic.
type memStore struct {
	mu   sync.Mutex
	bans map[key]store.Ban
}

func newMemStore() *memStore { return &memStore{bans: map[key]store.Ban{}} }

func (s *memStore) AddBans(_ context.Context, bans []store.Ban) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range bans {
		s.bans[key{b.Jail, b.Prefix}] = b
	}
	return nil
}

func (s *memStore) RemoveBans(_ context.Context, bans []store.Ban) ([]store.Ban, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.Ban
	for _, b := range bans {
		if x, ok := s.bans[key{b.Jail, b.Prefix}]; ok {
			out = append(out, x)
			delete(s.bans, key{b.Jail, b.Prefix})
		}
	}
	return out, nil
}

func (s *memStore) ActiveBans(_ context.Context, now time.Time) ([]store.Ban, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.Ban
	for _, b := range s.bans {
		if b.Until.IsZero() || b.Until.After(now) {
			out = append(out, b)
		}
	}
	return out, nil
}

func (s *memStore) ExpireBefore(_ context.Context, now time.Time) ([]store.Ban, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.Ban
	for k, b := range s.bans {
		if !b.Until.IsZero() && !b.Until.After(now) {
			out = append(out, b)
			delete(s.bans, k)
		}
	}
	return out, nil
}

// flakyFW refuses the next n Apply calls whole, then behaves like inner.
// With lost set it plays a table deleted from outside: every element fails
// (as nftables reports it) until Setup runs again.
type flakyFW struct {
	firewall.Backend
	mu   sync.Mutex
	fail int
	lost bool
}

func (f *flakyFW) Apply(ctx context.Context, c firewall.Change) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail > 0 {
		f.fail--
		return errors.New("netlink: operation not permitted")
	}
	if f.lost {
		be := &firewall.BatchError{Total: c.Len()}
		for _, b := range c.Add {
			be.Failed = append(be.Failed, firewall.ElementError{Op: firewall.OpAdd, Ban: b, Err: errors.New("netlink receive: no such file or directory")})
		}
		return be
	}
	return f.Backend.Apply(ctx, c)
}

func (f *flakyFW) Setup(ctx context.Context, jails []firewall.JailSpec) error {
	f.mu.Lock()
	f.lost = false
	f.mu.Unlock()
	return f.Backend.Setup(ctx, jails)
}

var jails = []firewall.JailSpec{{Name: "sshd", Ports: []firewall.PortRange{firewall.Port(22)}, Protocols: []string{"tcp"}}}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func kernel(t *testing.T, fw firewall.Backend) []string {
	t.Helper()
	l, err := fw.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, b := range l {
		out = append(out, b.Prefix.String())
	}
	sort.Strings(out)
	return out
}

func strs(ps ...netip.Prefix) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.String())
	}
	sort.Strings(out)
	return out
}

func TestAddRestartReconcileRemove(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	st := newMemStore()
	fw := dryrun.New(io.Discard, clock)
	m := New(Config{Store: st, Firewall: fw, Log: quiet(), Now: clock})
	if err := m.Start(ctx, jails); err != nil {
		t.Fatal(err)
	}
	a := netip.MustParsePrefix("192.0.2.7/32")
	b := netip.MustParsePrefix("2001:db8::/64")
	if err := m.Add(ctx, []store.Ban{
		{Jail: "sshd", Prefix: a, Since: now, Until: now.Add(time.Hour), Count: 1},
		{Jail: "sshd", Prefix: b, Since: now, Count: 1},                              // permanent
		{Jail: "sshd", Prefix: a, Since: now, Until: now.Add(time.Minute), Count: 1}, // shorter: ignored
	}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(strs(a, b), kernel(t, fw)); diff != "" {
		t.Errorf("kernel after Add (-want +got):\n%s", diff)
	}
	if got := m.Total("sshd"); got != 2 {
		t.Errorf("Total = %d, want 2", got)
	}

	// A restart with an empty kernel (reboot) and a stale kernel element.
	fw2 := dryrun.New(io.Discard, clock)
	stale := netip.MustParsePrefix("198.51.100.1/32")
	_ = fw2.Setup(ctx, jails)
	_ = fw2.Apply(ctx, firewall.Change{Add: []firewall.Ban{{Jail: "sshd", Prefix: stale}}})
	m2 := New(Config{Store: st, Firewall: fw2, Log: quiet(), Now: clock})
	if err := m2.Start(ctx, jails); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(strs(a, b), kernel(t, fw2)); diff != "" {
		t.Errorf("kernel after restart (-want +got):\n%s", diff)
	}
	if !m2.IsBanned("sshd", a) {
		t.Errorf("IsBanned(%s) = false after restart", a)
	}

	// Expiry drops a from memory and store; Remove drops b.
	now = now.Add(2 * time.Hour)
	m2.expire(ctx, now)
	if m2.IsBanned("sshd", a) {
		t.Errorf("%s still banned after its ban ended", a)
	}
	removed, err := m2.Remove(ctx, "", b, false, "")
	if err != nil || len(removed) != 1 {
		t.Fatalf("Remove = %v, %v", removed, err)
	}
	if got := m2.Active(); len(got) != 0 {
		t.Errorf("Active after removal = %v", got)
	}
	if act, _ := st.ActiveBans(ctx, now); len(act) != 0 {
		t.Errorf("store still holds %v", act)
	}
}

// A batch the firewall refuses stays committed and is retried.
func TestRefusedBatchIsRetried(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	st := newMemStore()
	inner := dryrun.New(io.Discard, clock)
	fw := &flakyFW{Backend: inner}
	m := New(Config{Store: st, Firewall: fw, Log: quiet(), Now: clock})
	if err := m.Start(ctx, jails); err != nil {
		t.Fatal(err)
	}
	fw.fail = 1
	p := netip.MustParsePrefix("203.0.113.9/32")
	if err := m.Add(ctx, []store.Ban{{Jail: "sshd", Prefix: p, Since: now, Until: now.Add(time.Hour)}}); err == nil {
		t.Fatal("Add: want the firewall's error")
	}
	if act, _ := st.ActiveBans(ctx, now); len(act) != 1 {
		t.Fatalf("store has %d bans, want the committed one", len(act))
	}
	if len(kernel(t, inner)) != 0 {
		t.Fatal("refused ban reached the kernel")
	}
	m.retry(ctx)
	if diff := cmp.Diff(strs(p), kernel(t, inner)); diff != "" {
		t.Errorf("kernel after retry (-want +got):\n%s", diff)
	}
	// The table deleted from outside: the next failure sets it up again
	// and every active ban returns.
	if err := inner.Teardown(ctx); err != nil {
		t.Fatal(err)
	}
	fw.mu.Lock()
	fw.lost = true
	fw.mu.Unlock()
	q := netip.MustParsePrefix("203.0.113.10/32")
	if err := m.Add(ctx, []store.Ban{{Jail: "sshd", Prefix: q, Since: now, Until: now.Add(time.Hour)}}); err == nil {
		t.Fatal("Add into a deleted table: want an error")
	}
	m.retry(ctx)
	if diff := cmp.Diff(strs(p, q), kernel(t, inner)); diff != "" {
		t.Errorf("kernel after the table came back (-want +got):\n%s", diff)
	}
}

// Run drains a flood of queued bans into few batches.
func TestRunBatchesFlood(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := newMemStore()
	fw := &countingFW{Backend: dryrun.New(io.Discard, time.Now)}
	m := New(Config{Store: st, Firewall: fw, Log: quiet()})
	if err := m.Start(ctx, jails); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5000; i++ {
		a := netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)})
		m.Enqueue(ctx, store.Ban{Jail: "sshd", Prefix: netip.PrefixFrom(a, 32), Since: time.Now(), Until: time.Now().Add(time.Hour)})
	}
	done := make(chan struct{})
	go func() { _ = m.Run(ctx); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for len(m.Active()) < 5000 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if n := len(m.Active()); n != 5000 {
		t.Fatalf("%d bans active, want 5000", n)
	}
	if fw.calls > 10 {
		t.Errorf("5000 queued bans took %d firewall batches, want a few", fw.calls)
	}
}

// A ban whose jail is not configured (queued before a reload removed the
// jail, or stored by an earlier configuration) is kept, shown and enforced
// in the fallback set until it ends; when the jail is back, it moves to the
// jail's own set again. A manual ban sharing the fallback element survives
// the orphan's removal.
func TestOrphanBansKept(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	st := newMemStore()
	fw := &countingFW{Backend: dryrun.New(io.Discard, clock)}
	bus := event.New()
	sub := bus.Subscribe("test", 100)
	specs := append([]firewall.JailSpec{{Name: "manual"}}, jails...)
	m := New(Config{Store: st, Firewall: fw, Log: quiet(), Now: clock, Fallback: "manual", Events: bus})
	if err := m.Start(ctx, specs); err != nil {
		t.Fatal(err)
	}
	p := netip.MustParsePrefix("198.51.100.4/32")
	if err := m.Add(ctx, []store.Ban{{Jail: "gone", Prefix: p, Since: now, Until: now.Add(time.Hour), Origin: origin.OfJail("gone")}}); err != nil {
		t.Fatal(err)
	}
	if !m.IsBanned("gone", p) || len(m.Active()) != 1 {
		t.Fatalf("a ban of an unconfigured jail was not kept: %v", m.Active())
	}
	if got := kernelSets(t, fw); len(got) != 1 || got[0] != "manual "+p.String() {
		t.Errorf("kernel = %v, want the ban in the fallback set", got)
	}
	// The sshd jail leaves the configuration: its ban moves to the fallback set.
	q := netip.MustParsePrefix("198.51.100.5/32")
	if err := m.Add(ctx, []store.Ban{{Jail: "sshd", Prefix: q, Since: now, Until: now.Add(time.Hour), Origin: origin.OfJail("sshd")}}); err != nil {
		t.Fatal(err)
	}
	if err := m.Reconfigure(ctx, []firewall.JailSpec{{Name: "manual"}, {Name: "other"}}); err != nil {
		t.Fatal(err)
	}
	if got := kernelSets(t, fw); !equal(got, []string{"manual " + p.String(), "manual " + q.String()}) {
		t.Errorf("after sshd left: kernel = %v, want both bans in the fallback set", got)
	}
	// A manual ban of the same address as the orphan.
	if err := m.Add(ctx, []store.Ban{{Jail: "manual", Prefix: q, Since: now, Origin: origin.OfManual("root")}}); err != nil {
		t.Fatal(err)
	}
	// sshd is back: its ban returns to its set; the manual ban keeps the
	// fallback element.
	if err := m.Reconfigure(ctx, specs); err != nil {
		t.Fatal(err)
	}
	if got := kernelSets(t, fw); !equal(got, []string{"manual " + p.String(), "manual " + q.String(), "sshd " + q.String()}) {
		t.Errorf("after sshd came back: kernel = %v", got)
	}
	if _, err := m.Remove(ctx, "gone", p, false, "root"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Remove(ctx, "sshd", q, false, "root"); err != nil {
		t.Fatal(err)
	}
	if got := kernelSets(t, fw); !equal(got, []string{"manual " + q.String()}) {
		t.Errorf("after the unbans: kernel = %v, want only the manual ban", got)
	}
	evs, _ := sub.Next(ctx)
	var kinds []string
	for _, e := range evs {
		if e.Kind != event.FirewallBatch {
			kinds = append(kinds, e.Kind.String()+" "+e.Origin)
		}
	}
	want := []string{"ban jail gone", "ban jail sshd", "ban manual root", "unban jail gone", "unban jail sshd"}
	if !equal(kinds, want) {
		t.Errorf("events = %v, want %v", kinds, want)
	}
}

// kernelSets lists the kernel's elements as "jail prefix".
func kernelSets(t *testing.T, fw firewall.Backend) []string {
	t.Helper()
	l, err := fw.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, b := range l {
		out = append(out, b.Jail+" "+b.Prefix.String())
	}
	return out
}

func equal(a, b []string) bool {
	sort.Strings(a)
	sort.Strings(b)
	return cmp.Equal(a, b)
}

// The manager publishes its events only after releasing its lock: a
// subscriber may call back into the manager.
func TestEventsAfterUnlock(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	var m *Manager
	calls := 0
	pub := publisherFunc(func(e event.Event) {
		calls++
		m.ActiveCount("")             // takes mu
		m.retry(context.Background()) // takes opMu: deadlocks if still held
	})
	m = New(Config{Store: newMemStore(), Firewall: dryrun.New(io.Discard, clock), Log: quiet(), Now: clock, Events: pub})
	if err := m.Start(ctx, jails); err != nil {
		t.Fatal(err)
	}
	p := netip.MustParsePrefix("198.51.100.4/32")
	if err := m.Add(ctx, []store.Ban{{Jail: "sshd", Prefix: p, Since: now, Until: now.Add(time.Hour), Origin: origin.OfJail("sshd")}}); err != nil {
		t.Fatal(err)
	}
	if calls == 0 {
		t.Error("no event published")
	}
}

type publisherFunc func(event.Event)

func (f publisherFunc) Publish(e event.Event) { f(e) }

type countingFW struct {
	firewall.Backend
	calls int
}

func (c *countingFW) Apply(ctx context.Context, ch firewall.Change) error {
	c.calls++
	return c.Backend.Apply(ctx, ch)
}

// Bans queued by readers that are stopping are committed, not dropped: the
// readers' context is done, and Run, stopped after them, flushes the queue.
func TestStopCommitsQueuedBans(t *testing.T) {
	st := newMemStore()
	fw := dryrun.New(io.Discard, time.Now)
	m := New(Config{Store: st, Firewall: fw, Log: quiet()})
	if err := m.Start(context.Background(), jails); err != nil {
		t.Fatal(err)
	}
	readers, stopReaders := context.WithCancel(context.Background())
	stopReaders()
	const n = 200
	for i := 0; i < n; i++ {
		a := netip.AddrFrom4([4]byte{203, 0, 113, byte(i)})
		m.Enqueue(readers, store.Ban{Jail: "sshd", Prefix: netip.PrefixFrom(a, 32), Since: time.Now(), Until: time.Now().Add(time.Hour)})
	}
	flusher, stopFlusher := context.WithCancel(context.Background())
	stopFlusher()
	if err := m.Run(flusher); err != nil {
		t.Fatal(err)
	}
	stored, _ := st.ActiveBans(context.Background(), time.Now())
	if m.ActiveCount("sshd") != n || m.ActiveCount("") != n || m.ActiveCount("other") != 0 {
		t.Errorf("ActiveCount: sshd %d, all %d, other %d; want %d, %d, 0", m.ActiveCount("sshd"), m.ActiveCount(""), m.ActiveCount("other"), n, n)
	}
	if len(m.Active()) != n || len(stored) != n || len(kernel(t, fw)) != n {
		t.Errorf("after stop: %d active, %d stored, %d in the firewall; want %d each", len(m.Active()), len(stored), len(kernel(t, fw)), n)
	}
}

// limitedFW plays ipset: a ban longer than its limit is stored without a
// timeout.
type limitedFW struct {
	firewall.Backend
	limit time.Duration
}

func (l limitedFW) MaxTimeout() time.Duration { return l.limit }

func (l limitedFW) Apply(ctx context.Context, c firewall.Change) error {
	for i := range c.Add {
		if c.Add[i].Timeout > l.limit {
			c.Add[i].Timeout = 0
		}
	}
	return l.Backend.Apply(ctx, c)
}

// A ban the firewall keeps without a timeout is removed from it when it
// ends; shorter ones are left to the kernel.
func TestExpireLiftsBansPastTheFirewallLimit(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	st := newMemStore()
	fw := limitedFW{Backend: dryrun.New(io.Discard, clock), limit: time.Hour}
	m := New(Config{Store: st, Firewall: fw, Log: quiet(), Now: clock})
	if err := m.Start(ctx, jails); err != nil {
		t.Fatal(err)
	}
	long, short := netip.MustParsePrefix("198.51.100.7/32"), netip.MustParsePrefix("198.51.100.8/32")
	if err := m.Add(ctx, []store.Ban{
		{Jail: "sshd", Prefix: long, Since: now, Until: now.Add(3 * time.Hour)},
		{Jail: "sshd", Prefix: short, Since: now, Until: now.Add(30 * time.Minute)},
	}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(4 * time.Hour)
	m.expire(ctx, now)
	if k := kernel(t, fw); len(k) != 0 || len(m.Active()) != 0 {
		t.Errorf("after both bans ended: firewall holds %v, active %v", k, m.Active())
	}
}

// expire leaves the store alone until the earliest ban ends.
func TestExpireWaitsForTheEarliestEnd(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	st := &countingStore{memStore: newMemStore()}
	m := New(Config{Store: st, Firewall: dryrun.New(nil, clock), Log: quiet(), Now: clock})
	if err := m.Start(ctx, jails); err != nil {
		t.Fatal(err)
	}
	m.expire(ctx, now) // the first one runs whole
	p1, p2 := netip.MustParsePrefix("192.0.2.1/32"), netip.MustParsePrefix("192.0.2.2/32")
	if err := m.Add(ctx, []store.Ban{
		{Jail: "sshd", Prefix: p1, Since: now, Until: now.Add(time.Hour)},
		{Jail: "sshd", Prefix: p2, Since: now, Until: now.Add(2 * time.Hour)},
	}); err != nil {
		t.Fatal(err)
	}
	calls := st.expires
	for i := 0; i < 59; i++ {
		now = now.Add(time.Minute)
		m.expire(ctx, now)
	}
	if st.expires != calls {
		t.Errorf("store asked to expire %d times before any ban ended, want 0", st.expires-calls)
	}
	now = now.Add(time.Minute)
	m.expire(ctx, now)
	if m.IsBanned("sshd", p1) || !m.IsBanned("sshd", p2) || st.expires != calls+1 {
		t.Errorf("at the first end: p1 banned %v, p2 banned %v, %d store expiries; want false, true, 1", m.IsBanned("sshd", p1), m.IsBanned("sshd", p2), st.expires-calls)
	}
	now = now.Add(30 * time.Minute)
	m.expire(ctx, now)
	if st.expires != calls+1 {
		t.Errorf("expire ran again before the second ban ended")
	}
	now = now.Add(30 * time.Minute)
	m.expire(ctx, now)
	if m.IsBanned("sshd", p2) || len(m.Active()) != 0 {
		t.Errorf("after both ended: active %v", m.Active())
	}
}

type countingStore struct {
	*memStore
	expires int
}

func (c *countingStore) ExpireBefore(ctx context.Context, now time.Time) ([]store.Ban, error) {
	c.expires++
	return c.memStore.ExpireBefore(ctx, now)
}
