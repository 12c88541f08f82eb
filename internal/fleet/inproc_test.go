package fleet

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/rampart-ids/rampart/internal/event"
	"github.com/rampart-ids/rampart/internal/origin"
	"github.com/rampart-ids/rampart/internal/store"
)

// memBans is an in-memory ban manager for tests of the fleet link alone;
// the system test uses real daemons.
type memBans struct {
	mu     sync.Mutex
	active map[banKey]store.Ban
	adds   int // Add calls with at least one ban
}

func newMemBans() *memBans { return &memBans{active: map[banKey]store.Ban{}} }

func (m *memBans) Add(_ context.Context, bans []store.Ban) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(bans) > 0 {
		m.adds++
	}
	for _, b := range bans {
		m.active[banKey{b.Jail, b.Prefix}] = b
	}
	return nil
}

func (m *memBans) Remove(_ context.Context, jail string, p netip.Prefix, _ bool, _ string) ([]store.Ban, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.active[banKey{jail, p}]
	if !ok {
		return nil, nil
	}
	delete(m.active, banKey{jail, p})
	return []store.Ban{b}, nil
}

func (m *memBans) RemoveMany(ctx context.Context, sel []store.Ban, by string) ([]store.Ban, error) {
	var out []store.Ban
	for _, b := range sel {
		r, _ := m.Remove(ctx, b.Jail, b.Prefix, false, by)
		out = append(out, r...)
	}
	return out, nil
}

func (m *memBans) Active() []store.Ban {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.Ban
	for _, b := range m.active {
		out = append(out, b)
	}
	return out
}

func (m *memBans) has(jail string, p netip.Prefix) (store.Ban, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.active[banKey{jail, p}]
	return b, ok
}

func (m *memBans) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.active)
}

// memCursor is an in-memory Cursor.
type memCursor struct {
	mu  sync.Mutex
	seq uint64
	pub time.Time
}

func (c *memCursor) FleetCursor(context.Context, string) (uint64, time.Time, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seq, c.pub, nil
}
func (c *memCursor) SetFleetCursor(_ context.Context, _ string, seq uint64) error {
	c.mu.Lock()
	c.seq = seq
	c.mu.Unlock()
	return nil
}
func (c *memCursor) SetFleetPublished(_ context.Context, _ string, t time.Time) error {
	c.mu.Lock()
	c.pub = t
	c.mu.Unlock()
	return nil
}

// natsAccounts is a server configuration with one user per node, each
// allowed to publish bans on its own subject only.
const natsAccounts = `
accounts {
  FLEET {
    jetstream: enabled
    users: [
%s
    ]
  }
}
`

func nodeUser(node, password string) string {
	return fmt.Sprintf(`      { user: %q, password: %q, permissions: {
          publish: { allow: ["rampart.bans.%s.>", "$JS.API.>"],
                     deny: ["$JS.API.STREAM.UPDATE.>", "$JS.API.STREAM.DELETE.>", "$JS.API.STREAM.PURGE.>", "$JS.API.STREAM.MSG.DELETE.>"] }
          subscribe: { allow: ["rampart.bans.>", "_INBOX.>"] } } }`, node, password, node)
}

// startServer runs an in-process NATS server with JetStream in dir and
// the fleet accounts for nodes, on a random loopback port.
func startServer(t testing.TB, dir string, nodes ...string) *server.Server {
	t.Helper()
	var users string
	for i, n := range nodes {
		if i > 0 {
			users += ",\n"
		}
		users += nodeUser(n, "pw-"+n)
	}
	conf := filepath.Join(dir, "nats.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(natsAccounts, users)), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := server.ProcessConfigFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	opts.Host, opts.Port, opts.JetStream, opts.StoreDir, opts.NoSigs = "127.0.0.1", -1, true, filepath.Join(dir, "js"), true
	opts.ServerName = "test"
	s, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server did not start")
	}
	t.Cleanup(s.Shutdown)
	return s
}

type testNode struct {
	f      *Fleet
	bans   *memBans
	cursor *memCursor
	stop   context.CancelFunc
	done   chan struct{}
}

func startNode(t testing.TB, url, dir, node string, tweak func(*Config)) *testNode {
	t.Helper()
	pw := filepath.Join(dir, node+".pw")
	if err := os.WriteFile(pw, []byte("pw-"+node+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Enabled: true, Servers: []string{url}, User: node, PasswordFile: pw, Node: node}
	if tweak != nil {
		tweak(&cfg)
	}
	n := &testNode{bans: newMemBans(), cursor: &memCursor{}, done: make(chan struct{})}
	n.f = New(Options{Config: cfg, Bans: n.bans, Cursor: n.cursor, Log: testLog()})
	if err := n.f.cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n.stop = cancel
	go func() {
		defer close(n.done)
		if err := n.f.Run(ctx); err != nil {
			t.Error(err)
		}
	}()
	t.Cleanup(n.close)
	return n
}

func (n *testNode) close() {
	n.stop()
	<-n.done
}

// ban feeds n's publisher a local ban, as the event bus would.
func (n *testNode) ban(jail string, p netip.Prefix, until time.Time) {
	n.bans.Add(context.Background(), []store.Ban{{Jail: jail, Prefix: p, Since: time.Now(), Until: until, Origin: origin.OfJail(jail)}})
	n.f.Handle(context.Background(), []event.Event{{Kind: event.BanAdded, Time: time.Now(), Jail: jail, Prefix: p, Origin: "jail " + jail, Until: until, Count: 1}})
}

func waitUntil(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func addr(i int) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}), 32)
}

// TestLink runs two nodes against one real NATS server: bans and unbans
// travel, fleet bans are not echoed, caps and ignore lists hold, a node
// that was away catches up in one Add.
func TestLink(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir, "a", "b", "c")
	url := s.ClientURL()
	a := startNode(t, url, dir, "a", nil)
	b := startNode(t, url, dir, "b", func(c *Config) {
		c.MaxPerMinute = 150
		c.IgnoreIP = []netip.Prefix{netip.MustParsePrefix("198.18.0.5/32")}
	})
	waitUntil(t, 10*time.Second, "both connected and reading", func() bool {
		return a.f.Status(context.Background()).Connected && b.f.Status(context.Background()).Connected
	})
	until := time.Now().Add(time.Hour)
	for i := 1; i <= 100; i++ {
		a.ban("sshd", addr(i), until)
	}
	waitUntil(t, 5*time.Second, "100 bans on b", func() bool { return b.bans.count() == 99 })
	got, _ := b.bans.has("sshd", addr(1))
	if got.Origin != (origin.Origin{Kind: origin.Fleet, Name: "a"}) || !got.Until.Equal(until.Round(0)) && got.Until.Sub(until).Abs() > time.Millisecond {
		t.Errorf("received ban = %+v, want origin fleet a, until %s", got, until)
	}
	if _, ok := b.bans.has("sshd", addr(5)); ok {
		t.Error("b enforced 198.18.0.5, which its fleet ignoreip lists")
	}
	// b's fleet bans are never published again: a still holds only its own.
	time.Sleep(300 * time.Millisecond)
	if n := a.bans.count(); n != 100 {
		t.Errorf("a holds %d bans, want its own 100 (an echo came back?)", n)
	}
	// A network wider than /16 is refused; the rate cap stops the rest.
	a.ban("sshd", netip.MustParsePrefix("198.18.0.0/15"), until)
	for i := 101; i <= 200; i++ {
		a.ban("sshd", addr(i), until)
	}
	waitUntil(t, 5*time.Second, "rate and prefix rejections counted on b", func() bool {
		st := b.f.Snapshot()
		for _, n := range st.Nodes {
			if n.Node == "a" {
				return n.Rejected[RejectPrefix] == 1 && n.Rejected[RejectRate] == 49 && n.Rejected[RejectIgnored] == 1
			}
		}
		return false
	})
	// The ignored address does not count against the rate: 99 + 51.
	if n := b.bans.count(); n != 150 {
		t.Errorf("b holds %d bans, want 150 (max_per_minute)", n)
	}
	// An unban lifts a's ban on b.
	a.f.Handle(context.Background(), []event.Event{{Kind: event.BanRemoved, Time: time.Now(), Jail: "sshd", Prefix: addr(1), Origin: "jail sshd", Until: until}})
	waitUntil(t, 5*time.Second, "unban reached b", func() bool { _, ok := b.bans.has("sshd", addr(1)); return !ok })

	// A third node, started later, catches up on what is still active, in
	// one Add.
	c := startNode(t, url, dir, "c", nil)
	waitUntil(t, 10*time.Second, "c caught up", func() bool { return c.bans.count() == 199 })
	c.bans.mu.Lock()
	adds := c.bans.adds
	c.bans.mu.Unlock()
	if adds != 1 {
		t.Errorf("c applied its catch-up in %d Add calls, want 1", adds)
	}
	if st := c.f.Snapshot(); st.LastSeq == 0 || st.Lag != 0 {
		t.Errorf("c status after catch-up: last_seq %d lag %d", st.LastSeq, st.Lag)
	}
	if jsp := c.f.js.Load(); jsp != nil {
		if s, err := (*jsp).Stream(context.Background(), DefaultStream); err == nil {
			st := s.CachedInfo().State
			t.Logf("stream: %d messages, %d bytes (%d per message), %d subjects", st.Msgs, st.Bytes, st.Bytes/max(st.Msgs, 1), st.NumSubjects)
		}
	}
}
