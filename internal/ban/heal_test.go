package ban

import (
	"context"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/event"
	"github.com/rampart-ids/rampart/internal/firewall"
	"github.com/rampart-ids/rampart/internal/firewall/nft"
	"github.com/rampart-ids/rampart/internal/netns"
	"github.com/rampart-ids/rampart/internal/origin"
	"github.com/rampart-ids/rampart/internal/store"
)

// The kernel's state removed from outside comes back from memory (the
// store's bans): `nft flush ruleset` and `nft delete table` are seen
// through nftables events, a flushed set by the periodic comparison (every
// 2 s here, 30 s by default); every one of 10,000 bans is restored. The
// time each took is logged (a benchmark figure, not asserted: this machine
// is shared).
func TestHealAfterFlush(t *testing.T) {
	netns.SkipUnlessRoot(t)
	ns := netns.New(t, "heal")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := store.Open(filepath.Join(t.TempDir(), "rampart.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	fw := nft.New(nft.Options{NetNS: ns.Fd()})
	bus := event.New()
	m := New(Config{Store: st, Firewall: fw, Log: quiet(), Events: bus, CheckEvery: 2 * time.Second, Fallback: "manual"})
	specs := []firewall.JailSpec{{Name: "manual"}, {Name: "sshd", Ports: []firewall.PortRange{firewall.Port(22)}, Protocols: []string{"tcp"}}}
	if err := m.Start(ctx, specs); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	var bans []store.Ban
	for i := range 10000 {
		a := netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)})
		if i%5 == 0 {
			a = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte(i >> 8), 15: byte(i)})
		}
		bans = append(bans, store.Ban{Jail: "sshd", Prefix: netip.PrefixFrom(a, a.BitLen()), Since: now, Until: now.Add(time.Hour), Count: 1, Origin: origin.OfJail("sshd")})
	}
	if err := m.Add(ctx, bans); err != nil {
		t.Fatal(err)
	}
	sub := bus.Subscribe("test", 1000) // after the bans' own events
	go m.Run(ctx)
	count := func() int {
		l, err := fw.List(ctx)
		if err != nil {
			return 0
		}
		return len(l)
	}
	if n := count(); n != 10000 {
		t.Fatalf("kernel holds %d bans, want 10000", n)
	}
	for _, c := range []struct {
		name string
		argv []string
	}{
		{"nft flush ruleset", []string{"nft", "flush", "ruleset"}},
		{"nft delete table", []string{"nft", "delete", "table", "inet", "rampart"}},
		{"nft flush set", []string{"nft", "flush", "set", "inet", "rampart", "ban-sshd-v4"}},
	} {
		ns.MustExec(t, c.argv...)
		start := time.Now()
		for count() != 10000 && time.Since(start) < 10*time.Second {
			time.Sleep(5 * time.Millisecond)
		}
		took := time.Since(start)
		if n := count(); n != 10000 {
			t.Fatalf("%s: %d of 10000 bans back after %v", c.name, n, took)
		}
		t.Logf("%s: all 10000 bans back in the kernel after %v", c.name, took.Round(time.Millisecond))
	}
	restored := 0
	for deadline := time.Now().Add(5 * time.Second); restored < 3 && time.Now().Before(deadline); {
		nctx, ncancel := context.WithTimeout(ctx, time.Second)
		evs, _ := sub.Next(nctx)
		ncancel()
		for _, e := range evs {
			if e.Kind == event.FirewallRestored && e.Count == 10000 {
				restored++
			}
		}
	}
	if restored < 3 {
		t.Errorf("%d firewall-restored events of 10000 bans, want 3", restored)
	}
}
