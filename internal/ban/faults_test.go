package ban

import (
	"context"
	"errors"
	"io"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rampart-ids/rampart/internal/firewall"
	"github.com/rampart-ids/rampart/internal/firewall/dryrun"
	"github.com/rampart-ids/rampart/internal/store"
)

// refusingStore refuses writes while full is set, as SQLite does on a full
// disk or a read-only state directory.
type refusingStore struct {
	*memStore
	mu      sync.Mutex
	full    bool
	removes int
}

var errFull = errors.New("database or disk is full")

func (s *refusingStore) AddBans(ctx context.Context, bans []store.Ban) error {
	s.mu.Lock()
	full := s.full
	s.mu.Unlock()
	if full {
		return errFull
	}
	return s.memStore.AddBans(ctx, bans)
}

func (s *refusingStore) RemoveBans(ctx context.Context, bans []store.Ban) ([]store.Ban, error) {
	s.mu.Lock()
	s.removes++
	s.mu.Unlock()
	return s.memStore.RemoveBans(ctx, bans)
}

func (s *refusingStore) setFull(v bool) {
	s.mu.Lock()
	s.full = v
	s.mu.Unlock()
}

// A store that refuses a batch does not free the addresses: the bans are
// enforced, reported, and stored once the store takes writes again.
func TestStoreRefusalKeepsBans(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	st := &refusingStore{memStore: newMemStore()}
	fw := dryrun.New(io.Discard, clock)
	m := New(Config{Store: st, Firewall: fw, Log: quiet(), Now: clock})
	if err := m.Start(ctx, jails); err != nil {
		t.Fatal(err)
	}
	st.setFull(true)
	a, b := netip.MustParsePrefix("192.0.2.1/32"), netip.MustParsePrefix("192.0.2.2/32")
	err := m.Add(ctx, []store.Ban{
		{Jail: "sshd", Prefix: a, Since: now, Until: now.Add(time.Hour)},
		{Jail: "sshd", Prefix: b, Since: now, Until: now.Add(time.Hour)},
	})
	if !errors.Is(err, errFull) {
		t.Fatalf("Add with the store full: %v, want the store's error", err)
	}
	if diff := cmp.Diff(strs(a, b), kernel(t, fw)); diff != "" {
		t.Errorf("kernel with the store full (-want +got):\n%s", diff)
	}
	if !m.IsBanned("sshd", a) || !m.IsBanned("sshd", b) {
		t.Errorf("bans refused by the store are not active")
	}
	if msg, n := m.StoreState(); n != 2 || msg == "" {
		t.Errorf("StoreState = %q, %d; want the error and 2 bans waiting", msg, n)
	}
	m.retry(ctx) // still full: nothing lost
	if _, n := m.StoreState(); n != 2 {
		t.Errorf("after a retry on a full store: %d bans waiting, want 2", n)
	}
	st.setFull(false)
	m.retry(ctx)
	if msg, n := m.StoreState(); n != 0 || msg != "" {
		t.Errorf("after space returned: StoreState = %q, %d; want nothing waiting", msg, n)
	}
	got, _ := st.ActiveBans(ctx, now)
	var ps []netip.Prefix
	for _, x := range got {
		ps = append(ps, x.Prefix)
	}
	if diff := cmp.Diff(strs(a, b), strs(ps...)); diff != "" {
		t.Errorf("store after space returned (-want +got):\n%s", diff)
	}
	// A restart enforces them from the store.
	fw2 := dryrun.New(io.Discard, clock)
	m2 := New(Config{Store: st, Firewall: fw2, Log: quiet(), Now: clock})
	if err := m2.Start(ctx, jails); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(strs(a, b), kernel(t, fw2)); diff != "" {
		t.Errorf("kernel after restart (-want +got):\n%s", diff)
	}
}

// applyCounter counts firewall batches.
type applyCounter struct {
	firewall.Backend
	mu      sync.Mutex
	batches int
	removes int
}

func (c *applyCounter) Apply(ctx context.Context, ch firewall.Change) error {
	c.mu.Lock()
	c.batches++
	c.removes += len(ch.Remove)
	c.mu.Unlock()
	return c.Backend.Apply(ctx, ch)
}

// RemoveMany lifts N bans in one store transaction and one firewall batch.
func TestRemoveManyBatches(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	st := &refusingStore{memStore: newMemStore()}
	fw := &applyCounter{Backend: dryrun.New(io.Discard, clock)}
	m := New(Config{Store: st, Firewall: fw, Log: quiet(), Now: clock})
	if err := m.Start(ctx, jails); err != nil {
		t.Fatal(err)
	}
	var bans []store.Ban
	var targets []store.Ban
	for i := range 500 {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}), 32)
		bans = append(bans, store.Ban{Jail: "sshd", Prefix: p, Since: now, Until: now.Add(time.Hour)})
		if i < 400 {
			jail := "sshd"
			if i%2 == 1 {
				jail = "" // any jail
			}
			targets = append(targets, store.Ban{Jail: jail, Prefix: p})
		}
	}
	targets = append(targets, store.Ban{Jail: "sshd", Prefix: netip.MustParsePrefix("203.0.113.1/32")}) // not banned
	if err := m.Add(ctx, bans); err != nil {
		t.Fatal(err)
	}
	fw.batches, fw.removes = 0, 0
	removed, err := m.RemoveMany(ctx, targets, "fleet n2")
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 400 || st.removes != 1 || fw.batches != 1 || fw.removes != 400 {
		t.Errorf("RemoveMany of 400: removed %d, %d store transactions, %d firewall batches with %d removals; want 400, 1, 1, 400",
			len(removed), st.removes, fw.batches, fw.removes)
	}
	if got := len(kernel(t, fw)); got != 100 || m.ActiveCount("") != 100 {
		t.Errorf("after RemoveMany: kernel %d, active %d; want 100", got, m.ActiveCount(""))
	}
	if act, _ := st.ActiveBans(ctx, now); len(act) != 100 {
		t.Errorf("store holds %d bans, want 100", len(act))
	}
	if r, err := m.RemoveMany(ctx, nil, ""); r != nil || err != nil {
		t.Errorf("RemoveMany(nil) = %v, %v", r, err)
	}
}

// Ban ends are wall-clock instants (they are stored, and mean the same
// after a restart); the kernel times elements in monotonic time. This test
// drives the two clocks apart as a wall clock set back and then forward an
// hour does, and checks what the manager does with each jump.
func TestClockJumps(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	wall, mono := t0, t0 // the host's clock; the kernel's elapsed time
	st := newMemStore()
	fw := dryrun.New(io.Discard, func() time.Time { return mono })
	m := New(Config{Store: st, Firewall: fw, Log: quiet(), Now: func() time.Time { return wall }})
	if err := m.Start(ctx, jails); err != nil {
		t.Fatal(err)
	}
	p := netip.MustParsePrefix("192.0.2.9/32")
	until := t0.Add(time.Hour)
	if err := m.Add(ctx, []store.Ban{{Jail: "sshd", Prefix: p, Since: t0, Until: until}}); err != nil {
		t.Fatal(err)
	}
	step := func(d time.Duration) { wall, mono = wall.Add(d), mono.Add(d) }

	// Back an hour, 30 minutes in: the ban is not ended early.
	step(30 * time.Minute)
	wall = wall.Add(-time.Hour)
	m.expire(ctx, wall)
	if !m.IsBanned("sshd", p) {
		t.Fatal("after the clock went back an hour: the ban ended")
	}
	// 31 minutes later the kernel's element has timed out (61 minutes of
	// elapsed time) while the ban runs until its wall-clock end: the
	// comparison with the kernel puts it back for the time left.
	step(31 * time.Minute)
	if len(kernel(t, fw)) != 0 {
		t.Fatal("the kernel element outlived its timeout")
	}
	m.heal(ctx)
	k, _ := fw.List(ctx)
	if len(k) != 1 || k[0].Prefix != p || k[0].Timeout != until.Sub(wall) {
		t.Fatalf("after heal: kernel %v, want %s for %v", k, p, until.Sub(wall))
	}
	// Forward two hours: the wall-clock end has passed; the ban ends in
	// memory and in the store at the next expiry.
	wall = wall.Add(2 * time.Hour)
	m.expire(ctx, wall)
	if m.IsBanned("sshd", p) || len(m.Active()) != 0 {
		t.Errorf("after the clock went forward past the end: still banned")
	}
	if act, _ := st.ActiveBans(ctx, t0); len(act) != 0 {
		t.Errorf("store still holds %v after the end", act)
	}
}

// A wall clock set back an hour does not stop Run's retries: periods are
// measured on the monotonic clock.
func TestRunRetriesAfterClockSetBack(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for a retry (5 s)")
	}
	var mu sync.Mutex
	wall := time.Now().Round(0) // wall reading only, like a clock read after a jump
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return wall }
	inner := dryrun.New(io.Discard, nil)
	fw := &flakyFW{Backend: inner}
	m := New(Config{Store: newMemStore(), Firewall: fw, Log: quiet(), Now: clock})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := m.Start(ctx, jails); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	mu.Lock()
	wall = wall.Add(-time.Hour)
	now := wall
	mu.Unlock()
	fw.mu.Lock()
	fw.fail = 1
	fw.mu.Unlock()
	p := netip.MustParsePrefix("198.51.100.4/32")
	m.Enqueue(ctx, store.Ban{Jail: "sshd", Prefix: p, Since: now, Until: now.Add(2 * time.Hour)})
	deadline := time.Now().Add(8 * time.Second)
	for len(kernel(t, inner)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the refused ban was not retried within 8 s of the clock going back an hour")
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	<-done
}
