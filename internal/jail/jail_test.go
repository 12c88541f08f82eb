package jail

import (
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// addrs lets go-cmp compare netip values.
func addrs() cmp.Option { return cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{}) }

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func mustJail(t testing.TB, cfg Config) *Jail {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = "test"
	}
	j, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// event is one failure fed to a jail in a table test.
type event struct {
	addr string
	at   time.Duration // after t0
}

// feed passes the events to j and returns the decisions, keyed by event index.
func feed(j *Jail, events []event) map[int]Decision {
	got := map[int]Decision{}
	for i, e := range events {
		if d, ok := j.Fail(netip.MustParseAddr(e.addr), t0.Add(e.at)); ok {
			got[i] = d
		}
	}
	return got
}

func TestFail(t *testing.T) {
	base := Config{MaxRetry: 3, FindTime: 10 * time.Minute, BanTime: time.Hour}
	dec := func(prefix, addr string, failures int, first, last time.Duration) Decision {
		return Decision{
			Prefix: netip.MustParsePrefix(prefix), Addr: netip.MustParseAddr(addr), Failures: failures,
			First: t0.Add(first), Last: t0.Add(last), Duration: time.Hour,
		}
	}
	tests := []struct {
		name   string
		cfg    func(c *Config)
		events []event
		want   map[int]Decision
	}{
		{
			name:   "ban at maxretry",
			events: []event{{"192.0.2.1", 0}, {"192.0.2.1", time.Minute}, {"192.0.2.1", 2 * time.Minute}},
			want:   map[int]Decision{2: dec("192.0.2.1/32", "192.0.2.1", 3, 0, 2*time.Minute)},
		},
		{
			name:   "below maxretry",
			events: []event{{"192.0.2.1", 0}, {"192.0.2.1", time.Minute}, {"192.0.2.2", 2 * time.Minute}},
			want:   map[int]Decision{},
		},
		{
			name: "window slides",
			events: []event{
				{"192.0.2.1", 0}, {"192.0.2.1", 6 * time.Minute},
				{"192.0.2.1", 11 * time.Minute}, // the first failure has left the window
				{"192.0.2.1", 15 * time.Minute},
			},
			want: map[int]Decision{3: dec("192.0.2.1/32", "192.0.2.1", 3, 6*time.Minute, 15*time.Minute)},
		},
		{
			name:   "window is inclusive",
			events: []event{{"192.0.2.1", 0}, {"192.0.2.1", 5 * time.Minute}, {"192.0.2.1", 10 * time.Minute}},
			want:   map[int]Decision{2: dec("192.0.2.1/32", "192.0.2.1", 3, 0, 10*time.Minute)},
		},
		{
			name: "counter cleared after ban",
			events: []event{
				{"192.0.2.1", 0}, {"192.0.2.1", 1}, {"192.0.2.1", 2},
				{"192.0.2.1", 3 * time.Second}, {"192.0.2.1", 4 * time.Second}, {"192.0.2.1", 5 * time.Second},
			},
			want: map[int]Decision{
				2: dec("192.0.2.1/32", "192.0.2.1", 3, 0, 0),
				5: dec("192.0.2.1/32", "192.0.2.1", 3, 3*time.Second, 5*time.Second),
			},
		},
		{
			name:   "out of order times",
			events: []event{{"192.0.2.1", 5 * time.Minute}, {"192.0.2.1", 0}, {"192.0.2.1", 3 * time.Minute}},
			want:   map[int]Decision{2: dec("192.0.2.1/32", "192.0.2.1", 3, 0, 3*time.Minute)},
		},
		{
			name:   "ipv4-mapped counts as ipv4",
			events: []event{{"192.0.2.1", 0}, {"::ffff:192.0.2.1", 1 * time.Second}, {"192.0.2.1", 2 * time.Second}},
			want:   map[int]Decision{2: dec("192.0.2.1/32", "192.0.2.1", 3, 0, 2*time.Second)},
		},
		{
			name:   "ipv6 single addresses by default",
			events: []event{{"2001:db8::1", 0}, {"2001:db8::2", time.Second}, {"2001:db8::3", 2 * time.Second}},
			want:   map[int]Decision{},
		},
		{
			name:   "ipv6 prefix",
			cfg:    func(c *Config) { c.IPv6Prefix = 64 },
			events: []event{{"2001:db8::1", 0}, {"2001:db8::2", time.Second}, {"2001:db8:0:1::3", time.Second}, {"2001:db8::ffff:3", 2 * time.Second}},
			want:   map[int]Decision{3: dec("2001:db8::/64", "2001:db8::ffff:3", 3, 0, 2*time.Second)},
		},
		{
			name:   "ipv4 prefix",
			cfg:    func(c *Config) { c.IPv4Prefix = 24 },
			events: []event{{"198.51.100.1", 0}, {"198.51.100.2", time.Second}, {"198.51.100.200", 2 * time.Second}},
			want:   map[int]Decision{2: dec("198.51.100.0/24", "198.51.100.200", 3, 0, 2*time.Second)},
		},
		{
			name:   "zone dropped",
			events: []event{{"fe80::1%eth0", 0}, {"fe80::1%eth1", time.Second}, {"fe80::1", 2 * time.Second}},
			want:   map[int]Decision{2: dec("fe80::1/128", "fe80::1", 3, 0, 2*time.Second)},
		},
		{
			name:   "maxretry 1",
			cfg:    func(c *Config) { c.MaxRetry = 1 },
			events: []event{{"203.0.113.9", 0}},
			want:   map[int]Decision{0: dec("203.0.113.9/32", "203.0.113.9", 1, 0, 0)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			got := feed(mustJail(t, cfg), tt.events)
			if diff := cmp.Diff(tt.want, got, addrs()); diff != "" {
				t.Errorf("decisions (-want +got):\n%s", diff)
			}
		})
	}
}

// fakeHistory is a History over a map of earlier bans.
type fakeHistory struct {
	mu    sync.Mutex
	jail  map[netip.Prefix]int
	all   map[netip.Prefix]int
	last  map[netip.Prefix]time.Time
	calls int
}

func (h *fakeHistory) lookup(p netip.Prefix, allJails bool) (int, time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls++
	if allJails {
		return h.all[p], h.last[p]
	}
	return h.jail[p], h.last[p]
}

func TestFailWithHistory(t *testing.T) {
	p := netip.MustParsePrefix("192.0.2.7/32")
	addr := p.Addr()
	h := &fakeHistory{
		jail: map[netip.Prefix]int{p: 1},
		all:  map[netip.Prefix]int{p: 3},
		last: map[netip.Prefix]time.Time{p: t0.Add(-time.Hour)},
	}
	cfg := Config{MaxRetry: 5, FindTime: 10 * time.Minute, BanTime: 10 * time.Minute, History: h.lookup}

	t.Run("no increment: failures count once, count reported", func(t *testing.T) {
		j := mustJail(t, cfg)
		for i := range 4 {
			if d, ok := j.Fail(addr, t0.Add(time.Duration(i)*time.Second)); ok {
				t.Fatalf("Fail #%d banned early: %+v", i+1, d)
			}
		}
		d, ok := j.Fail(addr, t0.Add(4*time.Second))
		if !ok || d.Count != 1 || d.Duration != 10*time.Minute {
			t.Errorf("Fail #5 = %+v, %v, want a ban with Count 1 and Duration 10m", d, ok)
		}
	})

	t.Run("increment: banned once counts twice, duration grows", func(t *testing.T) {
		c := cfg
		c.Increment = &Increment{}
		j := mustJail(t, c)
		for i := range 2 {
			if d, ok := j.Fail(addr, t0.Add(time.Duration(i)*time.Second)); ok {
				t.Fatalf("Fail #%d banned early: %+v", i+1, d)
			}
		}
		d, ok := j.Fail(addr, t0.Add(2*time.Second))
		want := Decision{Prefix: p, Addr: addr, Failures: 5, First: t0, Last: t0.Add(2 * time.Second), Count: 1, Duration: 20 * time.Minute}
		if !ok {
			t.Fatal("Fail #3 did not ban")
		}
		if diff := cmp.Diff(want, d, addrs()); diff != "" {
			t.Errorf("decision (-want +got):\n%s", diff)
		}
	})

	t.Run("overalljails uses the count across jails", func(t *testing.T) {
		c := cfg
		c.Increment = &Increment{OverallJails: true}
		j := mustJail(t, c)
		var d Decision
		var ok bool
		for i := 0; !ok && i < 5; i++ {
			d, ok = j.Fail(addr, t0.Add(time.Duration(i)*time.Second))
		}
		if !ok || d.Count != 3 || d.Duration != 80*time.Minute {
			t.Errorf("decision = %+v, %v; want Count 3, Duration 80m", d, ok)
		}
	})

	t.Run("failures before the last ban are replays", func(t *testing.T) {
		j := mustJail(t, cfg)
		for i := range 10 {
			if d, ok := j.Fail(addr, t0.Add(-2*time.Hour+time.Duration(i)*time.Second)); ok {
				t.Fatalf("replayed Fail #%d banned: %+v", i+1, d)
			}
		}
		if s := j.Stats(); s.Ignored != 10 || s.Tracked != 0 {
			t.Errorf("Stats() = %+v, want 10 ignored, 0 tracked", s)
		}
	})

	t.Run("weight capped at maxretry", func(t *testing.T) {
		h := &fakeHistory{jail: map[netip.Prefix]int{p: 30}}
		c := cfg
		c.History = h.lookup
		c.Increment = &Increment{MaxTime: 24 * time.Hour}
		j := mustJail(t, c)
		d, ok := j.Fail(addr, t0)
		if !ok || d.Failures != 5 || d.Duration != 24*time.Hour {
			t.Errorf("Fail = %+v, %v; want immediate ban, 5 failures, 24h", d, ok)
		}
	})
}

func TestEviction(t *testing.T) {
	j := mustJail(t, Config{MaxRetry: 2, FindTime: time.Hour, BanTime: time.Hour, MaxTracked: 3})
	a := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}) }
	for i := 1; i <= 3; i++ {
		j.Fail(a(i), t0)
	}
	j.Fail(a(1), t0.Add(time.Second).Add(-time.Second)) // would ban: 1 is the newest again
	// 1 was banned and removed; 2 and 3 remain. Add 4, 5: 2 is evicted.
	j.Fail(a(4), t0)
	j.Fail(a(5), t0)
	if s := j.Stats(); s.Evictions != 1 || s.Tracked != 3 || s.Bans != 1 {
		t.Errorf("Stats() = %+v, want 1 eviction, 3 tracked, 1 ban", s)
	}
	if _, ok := j.Fail(a(2), t0); ok {
		t.Error("Fail(2) banned: its first failure should have been evicted")
	}
	if _, ok := j.Fail(a(5), t0); !ok {
		t.Error("Fail(5) did not ban")
	}
}

func TestExpireAndSweep(t *testing.T) {
	j := mustJail(t, Config{MaxRetry: 3, FindTime: time.Minute, BanTime: time.Hour})
	for i := range 5000 {
		j.Fail(netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}), t0)
	}
	if got := j.Stats().Tracked; got != 5000 {
		t.Fatalf("Tracked = %d, want 5000", got)
	}
	j.Fail(netip.MustParseAddr("198.51.100.1"), t0.Add(61*time.Second))
	if got := j.Stats().Tracked; got != 1 {
		t.Fatalf("Tracked after the window = %d, want 1", got)
	}
	j.Sweep(t0.Add(62 * time.Second))
	if got, c := j.Stats().Tracked, j.t.capacity(); got != 1 || c > chunkSize {
		t.Errorf("after Sweep: Tracked %d, entries cap %d; want 1 and a compacted table", got, c)
	}
	// The table still works after compaction.
	j.Fail(netip.MustParseAddr("198.51.100.1"), t0.Add(63*time.Second))
	if _, ok := j.Fail(netip.MustParseAddr("198.51.100.1"), t0.Add(64*time.Second)); !ok {
		t.Error("no ban after compaction")
	}
}

func TestCompactKeepsState(t *testing.T) {
	j := mustJail(t, Config{MaxRetry: 3, FindTime: time.Hour, BanTime: time.Hour})
	for i := range 10000 {
		j.Fail(netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}), t0)
	}
	for i := range 9990 { // ban most of them
		a := netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)})
		j.Fail(a, t0)
		if _, ok := j.Fail(a, t0); !ok {
			t.Fatalf("no ban for %v", a)
		}
	}
	j.Sweep(t0)
	if got, c := j.Stats().Tracked, j.t.capacity(); got != 10 || c != chunkSize {
		t.Fatalf("after Sweep: Tracked %d, capacity %d; want 10, %d", got, c, chunkSize)
	}
	for i := 9990; i < 10000; i++ {
		a := netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)})
		j.Fail(a, t0)
		if _, ok := j.Fail(a, t0); !ok {
			t.Errorf("no ban for %v after compaction", a)
		}
	}
	if got := j.Stats().Tracked; got != 0 {
		t.Errorf("Tracked = %d, want 0", got)
	}
}

func TestForget(t *testing.T) {
	tests := []struct {
		name   string
		v6bits int
		forget string
		want   int // tracked after
	}{
		{"exact address", 0, "192.0.2.1/32", 3},
		{"mapped address", 0, "::ffff:192.0.2.1/128", 3},
		{"covering network", 0, "192.0.2.0/24", 2},
		{"ipv6 single in /64 jail", 64, "2001:db8::5/128", 3},
		{"ipv6 /48", 0, "2001:db8::/48", 2},
		{"unrelated", 0, "203.0.113.0/24", 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := mustJail(t, Config{MaxRetry: 5, FindTime: time.Hour, BanTime: time.Hour, IPv6Prefix: tt.v6bits})
			for _, a := range []string{"192.0.2.1", "192.0.2.2", "2001:db8::1", "2001:db8::2"} {
				j.Fail(netip.MustParseAddr(a), t0)
			}
			if tt.v6bits == 0 {
				// four entries already
			} else {
				j.Fail(netip.MustParseAddr("198.51.100.1"), t0) // keep four entries: 2 v4, 1 /64, +1
			}
			j.Forget(netip.MustParsePrefix(tt.forget))
			if got := j.Stats().Tracked; got != tt.want {
				t.Errorf("Forget(%s): Tracked = %d, want %d", tt.forget, got, tt.want)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	ok := Config{Name: "sshd", MaxRetry: 3, FindTime: time.Minute, BanTime: time.Hour}
	tests := []struct {
		name    string
		mod     func(c *Config)
		wantErr string
	}{
		{"maxretry", func(c *Config) { c.MaxRetry = 0 }, `jail "sshd": maxretry 0`},
		{"maxretry big", func(c *Config) { c.MaxRetry = 5000 }, "maxretry 5000"},
		{"findtime", func(c *Config) { c.FindTime = 0 }, "findtime 0s"},
		{"bantime", func(c *Config) { c.BanTime = 0 }, "bantime 0s"},
		{"ipv4_prefix", func(c *Config) { c.IPv4Prefix = 33 }, "ipv4_prefix 33"},
		{"ipv6_prefix", func(c *Config) { c.IPv6Prefix = -1 }, "ipv6_prefix -1"},
		{"max_tracked", func(c *Config) { c.MaxTracked = -1 }, "max_tracked -1"},
		{"formula", func(c *Config) { c.Increment = &Increment{Formula: "x"} }, `jail "sshd": bantime.formula "x": unsupported name "x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.mod(&c)
			_, err := New(c)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("New() error = %v, want containing %q", err, tt.wantErr)
			}
		})
	}
	c := ok
	c.BanTime = Permanent
	if _, err := New(c); err != nil {
		t.Errorf("New(permanent) = %v", err)
	}
}

func TestDecisionUntil(t *testing.T) {
	d := Decision{Last: t0, Duration: time.Hour}
	if u, ok := d.Until(); !ok || !u.Equal(t0.Add(time.Hour)) {
		t.Errorf("Until() = %v, %v", u, ok)
	}
	d.Duration = Permanent
	if u, ok := d.Until(); ok || !u.IsZero() {
		t.Errorf("permanent Until() = %v, %v", u, ok)
	}
}

func TestFailIgnored(t *testing.T) {
	ig, err := NewIgnore(IgnoreConfig{Entries: []string{"192.0.2.0/24"}})
	if err != nil {
		t.Fatal(err)
	}
	j := mustJail(t, Config{MaxRetry: 1, FindTime: time.Minute, BanTime: time.Hour, Ignore: ig})
	if d, ok := j.Fail(netip.MustParseAddr("192.0.2.5"), t0); ok {
		t.Errorf("ignored address banned: %+v", d)
	}
	if _, ok := j.Fail(netip.MustParseAddr("198.51.100.5"), t0); !ok {
		t.Error("other address not banned")
	}
	if _, ok := j.Fail(netip.Addr{}, t0); ok {
		t.Error("invalid address banned")
	}
	want := Stats{Failures: 2, Ignored: 1, Bans: 1}
	if diff := cmp.Diff(want, j.Stats()); diff != "" {
		t.Errorf("Stats (-want +got):\n%s", diff)
	}
}

func TestConcurrentFail(t *testing.T) {
	j := mustJail(t, Config{MaxRetry: 4, FindTime: time.Hour, BanTime: time.Hour, MaxTracked: 1000})
	var wg sync.WaitGroup
	var mu sync.Mutex
	bans := 0
	for g := range 4 {
		wg.Go(func() {
			for i := range 2000 {
				a := netip.AddrFrom4([4]byte{198, 18, byte(g), byte(i % 250)})
				if _, ok := j.Fail(a, t0.Add(time.Duration(i)*time.Millisecond)); ok {
					mu.Lock()
					bans++
					mu.Unlock()
				}
				if i%500 == 0 {
					j.Sweep(t0)
					j.Stats()
				}
			}
		})
	}
	wg.Wait()
	s := j.Stats()
	if uint64(bans) != s.Bans || s.Failures != 8000 || s.Tracked > 1000 {
		t.Errorf("bans %d, Stats() = %+v", bans, s)
	}
	if want := uint64(4 * 250 * 2); s.Bans != want {
		t.Errorf("Bans = %d, want %d", s.Bans, want)
	}
}
