package fleet

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/ban"
	"github.com/rampart-ids/rampart/internal/event"
	"github.com/rampart-ids/rampart/internal/firewall"
	"github.com/rampart-ids/rampart/internal/firewall/nft"
	"github.com/rampart-ids/rampart/internal/netns"
	"github.com/rampart-ids/rampart/internal/store"
)

// timedBans records when each ban's Add returned: the ban is then in the
// store and in the kernel set.
type timedBans struct {
	*ban.Manager
	mu   sync.Mutex
	when map[netip.Prefix]time.Time
}

func (t *timedBans) Add(ctx context.Context, bans []store.Ban) error {
	err := t.Manager.Add(ctx, bans)
	now := time.Now()
	t.mu.Lock()
	for _, b := range bans {
		if _, ok := t.when[b.Prefix]; !ok {
			t.when[b.Prefix] = now
		}
	}
	t.mu.Unlock()
	return err
}

func (t *timedBans) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.when)
}

// benchNode is a fleet link over a real ban manager, SQLite store and
// nftables table in a namespace of its own.
func benchNode(b *testing.B, url, dir, node string) (*Fleet, *timedBans) {
	b.Helper()
	ns := netns.New(b, "fb"+node)
	fw := nft.New(nft.Options{NetNS: ns.Fd()})
	st, err := store.Open(filepath.Join(dir, node+".db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	m := ban.New(ban.Config{Store: st, Firewall: fw, Log: slog.New(slog.DiscardHandler), Fallback: "manual"})
	ctx := context.Background()
	if err := m.Start(ctx, []firewall.JailSpec{{Name: "manual"}, {Name: "sshd", Ports: []firewall.PortRange{{First: 22, Last: 22}}}}); err != nil {
		b.Fatal(err)
	}
	tb := &timedBans{Manager: m, when: map[netip.Prefix]time.Time{}}
	pw := filepath.Join(dir, node+".pw")
	if err := os.WriteFile(pw, []byte("pw-"+node), 0o600); err != nil {
		b.Fatal(err)
	}
	f := New(Options{Config: Config{Enabled: true, Servers: []string{url}, User: node, PasswordFile: pw, Node: node},
		Bans: tb, Cursor: st, Log: slog.New(slog.DiscardHandler)})
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = f.Run(rctx) }()
	b.Cleanup(func() { cancel(); <-done })
	return f, tb
}

func benchAddr(round, i int) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, byte(round*64 + i>>8), byte(i)}), 32)
}

// benchmarkFleet publishes n bans from one node (as its event bus would
// hand them over, in one burst) and waits until two other nodes hold them
// in their kernel sets. It reports the time until all are everywhere and
// the p50/p99 of each ban's propagation (event to receiver's kernel).
func benchmarkFleet(b *testing.B, n int) {
	netns.SkipUnlessRoot(b)
	dir := b.TempDir()
	s := startServer(b, dir, "a", "b", "c")
	a, _ := benchNode(b, s.ClientURL(), dir, "a")
	_, rb := benchNode(b, s.ClientURL(), dir, "b")
	_, rc := benchNode(b, s.ClientURL(), dir, "c")
	deadline := time.Now().Add(15 * time.Second)
	for !a.Snapshot().Connected || a.Snapshot().CatchingUp {
		if time.Now().After(deadline) {
			b.Fatal("not connected")
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	var lat []time.Duration
	var all []time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for round := range b.N {
		if round >= 4 {
			b.Fatal("run with -benchtime=Nx, N at most 4 (the address plan)")
		}
		sent := make(map[netip.Prefix]time.Time, n)
		evs := make([]event.Event, n)
		until := time.Now().Add(time.Hour)
		start := time.Now()
		for i := range n {
			p := benchAddr(round, i)
			evs[i] = event.Event{Kind: event.BanAdded, Time: time.Now(), Jail: "sshd", Prefix: p, Origin: "jail sshd", Until: until, Count: 1}
			sent[p] = evs[i].Time
		}
		a.Handle(context.Background(), evs)
		want := (round + 1) * n
		for rb.count() < want || rc.count() < want {
			if time.Since(start) > 60*time.Second {
				b.Fatalf("after 60 s: b %d, c %d of %d", rb.count(), rc.count(), want)
			}
			time.Sleep(2 * time.Millisecond)
		}
		all = append(all, time.Since(start))
		for _, r := range []*timedBans{rb, rc} {
			r.mu.Lock()
			for p, t0 := range sent {
				lat = append(lat, r.when[p].Sub(t0))
			}
			r.mu.Unlock()
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(slices.Max(all).Milliseconds()), "everywhere-ms")
	fmt.Fprintf(os.Stderr, "fleet bench: %d bans, rounds %d, everywhere in %v\n", n, b.N, all)
}

// BenchmarkPropagation1k: 1,000 bans from one node; per-ban propagation
// to two other nodes' kernel sets.
func BenchmarkPropagation1k(b *testing.B) { benchmarkFleet(b, 1000) }

// BenchmarkFlood10k: 10,000 bans from one node until both others hold
// them all in their kernel sets.
func BenchmarkFlood10k(b *testing.B) { benchmarkFleet(b, 10000) }
