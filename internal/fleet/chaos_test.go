package fleet

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rampart-ids/rampart/internal/control"
	"github.com/rampart-ids/rampart/internal/event"
	"github.com/rampart-ids/rampart/internal/netns"
	"github.com/rampart-ids/rampart/internal/origin"
)

// The chaos run: three `rampart fleet hub` processes form a NATS cluster,
// four `rampart run` daemons in namespaces of their own ban and unban all
// along, while 10 random faults (a node's link cut, a hub killed with
// SIGKILL and restarted later) strike. At the end, with every fault
// healed, every node's kernel set and ban store must hold exactly the bans
// made and not lifted (none lost, none left over), each fleet ban applied
// once (one ban-added event per address), and the stream must agree.
//
// RAMPART_CHAOS sets the run's length (default 60s; the run is
// RAMPART_CHAOS=5m); RAMPART_CHAOS_SEED replays a run (the seed is
// printed).

const chaosFaults = 10

type chaosHub struct {
	name string
	args []string
	p    *proc
	down bool
}

func chaosDuration(t *testing.T) time.Duration {
	t.Helper()
	d := 60 * time.Second
	if v := os.Getenv("RAMPART_CHAOS"); v != "" {
		var err error
		if d, err = time.ParseDuration(v); err != nil || d < 20*time.Second {
			t.Fatalf("RAMPART_CHAOS=%q: want a duration of at least 20s (for example 5m)", v)
		}
	}
	return d
}

func chaosSeed(t *testing.T) uint64 {
	t.Helper()
	if v := os.Getenv("RAMPART_CHAOS_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("RAMPART_CHAOS_SEED=%q: want an unsigned integer", v)
		}
		return s
	}
	return uint64(time.Now().UnixNano())
}

// chaosAddr is node n's k-th attacker: 198.19.(n*40 + k/250).(1 + k%250).
func chaosAddr(n, k int) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 19, byte(n*40 + k/250), byte(1 + k%250)}), 32)
}

func TestFleetChaos(t *testing.T) {
	skipUnlessSystem(t)
	run := chaosDuration(t)
	seed := chaosSeed(t)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	t.Logf("chaos run: %s, %d faults, seed %d (replay: RAMPART_CHAOS_SEED=%d RAMPART_CHAOS=%s)", run, chaosFaults, seed, seed, run)
	bin := rampartBinary(t)
	dir := t.TempDir()
	hubNS := netns.New(t, "chub")
	names := []string{"c-1", "c-2", "c-3", "c-4"}

	users := []string{nodeUser("admin", "pw-admin")}
	for _, n := range names {
		users = append(users, nodeUser(n, "pw-"+n))
	}
	conf := filepath.Join(dir, "nats.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(natsAccounts, strings.Join(users, ",\n"))), 0o600); err != nil {
		t.Fatal(err)
	}
	routes := "nats://127.0.0.1:6221,nats://127.0.0.1:6222,nats://127.0.0.1:6223"
	hubs := make([]*chaosHub, 3)
	for i := range hubs {
		name := fmt.Sprintf("hub-%d", i+1)
		h := &chaosHub{name: name, args: []string{bin, "fleet", "hub",
			"--config", conf, "--name", name, "--listen", fmt.Sprintf("0.0.0.0:%d", 4221+i),
			"--store", filepath.Join(dir, name), "--cluster", "rampart",
			"--cluster-listen", fmt.Sprintf("127.0.0.1:%d", 6221+i), "--routes", routes}}
		h.p = startProc(t, name, hubNS.Command(context.Background(), h.args...))
		hubs[i] = h
	}

	nodes := make([]*sysNode, len(names))
	links := make([]string, len(names))
	for i, name := range names {
		ns := netns.New(t, fmt.Sprintf("c%d", i+1))
		links[i], _ = netns.Link(t, hubNS, ns,
			[]netip.Prefix{netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, byte(i + 1), 1}), 24)},
			[]netip.Prefix{netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, byte(i + 1), 2}), 24)})
		nd := filepath.Join(dir, name)
		if err := os.MkdirAll(nd, 0o700); err != nil {
			t.Fatal(err)
		}
		n := &sysNode{name: name, ns: ns, socket: filepath.Join(nd, "rampart.sock"), log: filepath.Join(nd, "auth.log")}
		if err := os.WriteFile(n.log, nil, 0o640); err != nil {
			t.Fatal(err)
		}
		pw := filepath.Join(nd, "fleet.secret")
		if err := os.WriteFile(pw, []byte("pw-"+name+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		h := fmt.Sprintf("198.18.%d.1", i+1)
		cfg := nodeConfig(filepath.Join(nd, "state"), n.socket, n.log, h, name, pw, "2h", "", "")
		cfgPath := filepath.Join(nd, "rampart.toml")
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		n.p = startProc(t, name, ns.Command(context.Background(), bin, "run", "--config", cfgPath))
		nodes[i] = n
	}
	if _, ok := within(60*time.Second, func() bool {
		for _, n := range nodes {
			st := n.status(t)
			if !st.Connected || st.CatchingUp || st.Stream == "" {
				return false
			}
		}
		return true
	}); !ok {
		t.Fatal("the nodes did not all connect to the cluster within 60 s")
	}
	time.Sleep(500 * time.Millisecond)

	// The faults: half link cuts, half hub kills, at random times in the
	// first 80 % of the run, each healed after 2 s to min(20 s, run/5).
	type fault struct {
		at, lasts time.Duration
		kill      bool
		target    int
	}
	faults := make([]fault, chaosFaults)
	maxLast := min(20*time.Second, run/5)
	for i := range faults {
		faults[i] = fault{
			at:     time.Duration(rng.Int64N(int64(run * 8 / 10))),
			lasts:  2*time.Second + time.Duration(rng.Int64N(int64(maxLast-2*time.Second))),
			kill:   i%2 == 0,
			target: rng.IntN(max(len(hubs), len(nodes))),
		}
	}
	slices.SortFunc(faults, func(a, b fault) int { return int(a.at - b.at) })

	// The test's own book: what each node banned and lifted.
	var mu sync.Mutex
	written := make([]int, len(nodes)) // attackers written to node i's log
	lifted := map[netip.Prefix]bool{}  // unbanned (confirmed by the daemon)
	writtenAt := make([][]time.Time, len(nodes))
	var faultLog []string
	var begin time.Time
	note := func(format string, a ...any) {
		mu.Lock()
		faultLog = append(faultLog, fmt.Sprintf("%6.1fs ", time.Since(begin).Seconds())+fmt.Sprintf(format, a...))
		mu.Unlock()
	}
	begin = time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), run)
	defer cancel()
	var wg sync.WaitGroup

	// Load: every 500 ms each node is attacked by 5 new addresses; every
	// 3 s one node lifts 3 of its bans older than 5 s.
	loadRng := rand.New(rand.NewPCG(seed+1, seed))
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for round := 0; ; round++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			for i, n := range nodes {
				mu.Lock()
				first := written[i]
				mu.Unlock()
				batch := make([]netip.Prefix, 5)
				for k := range batch {
					batch[k] = chaosAddr(i, first+k)
				}
				n.attack(t, batch)
				mu.Lock()
				written[i] += len(batch)
				for range batch {
					writtenAt[i] = append(writtenAt[i], time.Now())
				}
				mu.Unlock()
			}
			if round%6 != 5 {
				continue
			}
			i := loadRng.IntN(len(nodes))
			for range 3 {
				mu.Lock()
				cands := 0
				for k, at := range writtenAt[i] {
					if time.Since(at) > 5*time.Second {
						cands = k + 1
					}
				}
				mu.Unlock()
				if cands == 0 {
					break
				}
				p := chaosAddr(i, loadRng.IntN(cands))
				mu.Lock()
				done := lifted[p]
				mu.Unlock()
				if done {
					continue
				}
				uctx, ucancel := context.WithTimeout(context.Background(), 5*time.Second)
				rep, err := control.NewClient(nodes[i].socket).Unban(uctx, control.UnbanRequest{Prefix: p, Jail: "sshd"})
				ucancel()
				if err == nil && len(rep.Removed) == 1 {
					mu.Lock()
					lifted[p] = true
					mu.Unlock()
				}
			}
		}
	}()

	// Faults.
	var hubMu sync.Mutex
	cuts := 0
	// Nodes cut now: a second fault on a node already cut would heal it
	// twice (the second heal finds the table gone) or cut it in two ways.
	var cutMu sync.Mutex
	isCut := map[int]bool{}
	cut := func(i int, hard, on bool) error {
		bg := context.Background()
		if !hard {
			state := map[bool]string{true: "down", false: "up"}[on]
			_, err := hubNS.Exec(bg, "ip", "link", "set", links[i], state)
			return err
		}
		if !on {
			_, err := nodes[i].ns.Exec(bg, "nft", "delete", "table", "inet", "chaos")
			return err
		}
		rules := fmt.Sprintf("table inet chaos {\n chain out {\n type filter hook output priority 0;\n ip daddr 198.18.%d.1 tcp dport 4221-4223 reject with tcp reset\n }\n}\n", i+1)
		cmd := nodes[i].ns.Command(bg, "nft", "-f", "-")
		cmd.Stdin = strings.NewReader(rules)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		// Established connections: reset them now (ss -K needs the
		// kernel's INET_DIAG_DESTROY; without it the next ping, within
		// 5 s, meets the reset).
		_, _ = nodes[i].ns.Exec(bg, "ss", "-K", "dst", fmt.Sprintf("198.18.%d.1", i+1))
		return nil
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		var heal sync.WaitGroup
		defer heal.Wait()
		for _, f := range faults {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Until(begin.Add(f.at))):
			}
			if f.kill {
				hubMu.Lock()
				h := hubs[f.target%len(hubs)]
				up := 0
				for _, x := range hubs {
					if !x.down {
						up++
					}
				}
				if h.down || up < 2 {
					// Keep one server up: pick another, or cut a link instead.
					h = nil
					for _, x := range hubs {
						if !x.down && up >= 2 {
							h = x
							break
						}
					}
				}
				if h != nil {
					h.down = true
					h.p.kill(syscall.SIGKILL)
				}
				hubMu.Unlock()
				if h != nil {
					note("SIGKILL %s for %s", h.name, f.lasts.Round(100*time.Millisecond))
					heal.Add(1)
					go func() {
						defer heal.Done()
						time.Sleep(f.lasts)
						hubMu.Lock()
						h.p = startProc(t, h.name, hubNS.Command(context.Background(), h.args...))
						h.down = false
						hubMu.Unlock()
						note("restarted %s", h.name)
					}()
					continue
				}
			}
			// A cut: every other one drops the link silently (TCP may
			// ride it out), the others reset the node's connections to the
			// cluster and refuse new ones (a table of the test's own in
			// the node's namespace), so what is published meanwhile
			// reaches it only from the stream.
			i := f.target % len(nodes)
			cutMu.Lock()
			already := isCut[i]
			isCut[i] = true
			cutMu.Unlock()
			if already {
				note("%s is cut already: no second cut", names[i])
				continue
			}
			hard := cuts%2 == 1
			cuts++
			if err := cut(i, hard, true); err != nil {
				t.Errorf("cutting %s: %v", names[i], err)
				continue
			}
			note("%s of %s for %s", map[bool]string{false: "link down", true: "connections reset"}[hard], names[i], f.lasts.Round(100*time.Millisecond))
			heal.Add(1)
			go func() {
				defer heal.Done()
				time.Sleep(f.lasts)
				if err := cut(i, hard, false); err != nil {
					t.Errorf("healing %s: %v", names[i], err)
				}
				cutMu.Lock()
				isCut[i] = false
				cutMu.Unlock()
				note("%s healed", names[i])
			}()
		}
	}()
	wg.Wait()
	for _, l := range faultLog {
		t.Log("fault: " + l)
	}

	// What must be everywhere now: every attacker written, less those lifted.
	want := map[netip.Prefix]int{} // prefix -> the node that banned it
	total := 0
	for i := range nodes {
		for k := range written[i] {
			total++
			if p := chaosAddr(i, k); !lifted[p] {
				want[p] = i
			}
		}
	}
	t.Logf("load: %d bans made on %d nodes, %d lifted, %d must be in force everywhere", total, len(nodes), len(lifted), len(want))
	diff := func(n *sysNode) (missing, extra []netip.Prefix) {
		got := n.kernel(t, "ban-sshd-v4")
		for p := range want {
			if !got[p] {
				missing = append(missing, p)
			}
		}
		for p := range got {
			if _, ok := want[p]; !ok {
				extra = append(extra, p)
			}
		}
		return missing, extra
	}
	took, ok := within(90*time.Second, func() bool {
		for _, n := range nodes {
			if m, e := diff(n); len(m)+len(e) > 0 {
				return false
			}
		}
		return true
	})
	if !ok {
		for _, n := range nodes {
			m, e := diff(n)
			st := n.status(t)
			t.Errorf("%s after 90 s: %d bans missing (lost) %v, %d left over (unban lost) %v; fleet status: connected %v, last_seq %d, stream %d, outbox %d",
				n.name, len(m), head(m), len(e), head(e), st.Connected, st.LastSeq, st.StreamSeq, st.Outbox)
		}
		t.Fatalf("seed %d: the fleet did not converge", seed)
	}
	t.Logf("every node's kernel set matches the book %s after the last fault healed", took.Round(time.Millisecond))

	// The ban stores: each wanted ban once, with the right origin; each
	// fleet ban applied once (one ban-added event per address).
	for _, n := range nodes {
		self := slices.Index(names, n.name)
		bctx, bcancel := context.WithTimeout(context.Background(), 20*time.Second)
		banned, err := control.NewClient(n.socket).Banned(bctx)
		bcancel()
		if err != nil {
			t.Fatalf("%s: banned: %v", n.name, err)
		}
		seen := map[netip.Prefix]int{}
		for _, b := range banned {
			if b.Jail != "sshd" {
				continue
			}
			seen[b.Prefix]++
			from, ok := want[b.Prefix]
			if !ok {
				t.Errorf("%s stores a ban on %s nobody should hold", n.name, b.Prefix)
				continue
			}
			wantOrigin := origin.Origin{Kind: origin.Fleet, Name: names[from]}
			if from == self {
				wantOrigin = origin.OfJail("sshd")
			}
			if b.Origin != wantOrigin {
				t.Errorf("%s: %s has origin %v, want %v", n.name, b.Prefix, b.Origin, wantOrigin)
			}
		}
		if len(seen) != len(want) {
			t.Errorf("%s stores %d sshd bans, want %d", n.name, len(seen), len(want))
		}
		for p, c := range seen {
			if c > 1 {
				t.Errorf("%s stores %s %d times", n.name, p, c)
			}
		}
		ectx, ecancel := context.WithTimeout(context.Background(), 30*time.Second)
		evs, err := control.NewClient(n.socket).Events(ectx, control.EventsRequest{Kinds: []event.Kind{event.BanAdded}, Jail: "sshd", Limit: 100000})
		ecancel()
		if err != nil {
			t.Fatalf("%s: events: %v", n.name, err)
		}
		added := map[netip.Prefix]int{}
		for _, e := range evs {
			added[e.Prefix]++
		}
		twice := 0
		for p, c := range added {
			if c > 1 {
				if twice++; twice <= 5 {
					t.Errorf("%s applied the ban on %s %d times", n.name, p, c)
				}
			}
		}
		if twice > 0 {
			t.Errorf("%s: %d bans applied more than once (seed %d)", n.name, twice, seed)
		}
		// A ban lifted before it reached a node (cut off meanwhile) never
		// arrives there: its subject then holds the unban.
		t.Logf("%s: ban-added events for %d of the %d addresses banned", n.name, len(added), total)
	}

	// The stream agrees: the last message of each subject is a ban for
	// exactly the wanted addresses.
	streamBans, msgs := readStream(t, hubNS, "nats://127.0.0.1:4221,nats://127.0.0.1:4222,nats://127.0.0.1:4223")
	if len(streamBans) != len(want) {
		t.Errorf("the stream holds %d bans, want %d", len(streamBans), len(want))
	}
	for p, node := range streamBans {
		if from, ok := want[p]; !ok || names[from] != node {
			t.Errorf("the stream holds a ban on %s by %s; want %v", p, node, ok)
		}
	}
	if msgs != total {
		t.Errorf("the stream holds %d messages, want one per address banned (%d)", msgs, total)
	}
	t.Logf("stream: %d messages, %d bans in force; %s from start to a converged fleet", msgs, len(streamBans), time.Since(begin).Round(time.Second))
}

func head(ps []netip.Prefix) []netip.Prefix {
	slices.SortFunc(ps, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
	return ps[:min(len(ps), 5)]
}

// readStream reads the whole stream as the admin user from inside the
// hub namespace and returns, per prefix, the node whose last message
// bans it, and the number of messages.
func readStream(t *testing.T, ns *netns.NS, urls string) (map[netip.Prefix]string, int) {
	t.Helper()
	var nc *nats.Conn
	if err := ns.Do(func() error {
		var err error
		nc, err = nats.Connect(urls, nats.UserInfo("admin", "pw-admin"), nats.NoReconnect())
		return err
	}); err != nil {
		t.Fatalf("connecting to read the stream: %v", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, DefaultStream)
	if err != nil {
		t.Fatalf("stream: %v", err)
	}
	last := s.CachedInfo().State.Msgs
	cons, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[netip.Prefix]string{}
	n := 0
	var lastErr error
	deadline := time.Now().Add(45 * time.Second)
	for n < int(last) {
		if time.Now().After(deadline) {
			t.Fatalf("reading the stream: stuck after %d of %d messages: %v", n, last, lastErr)
		}
		// The cluster may still be settling after the faults (a leader
		// being elected): an error is retried, the ordered consumer
		// resumes after the last message read.
		batch, err := cons.Fetch(1000, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			lastErr = err
			time.Sleep(500 * time.Millisecond)
			continue
		}
		for m := range batch.Messages() {
			n++
			node, err := NodeOf(m.Subject())
			if err != nil {
				t.Errorf("stream subject %q: %v", m.Subject(), err)
				continue
			}
			msg, err := Decode(m.Data())
			if err != nil {
				t.Errorf("stream message on %s: %v", m.Subject(), err)
				continue
			}
			if msg.Op == OpBan {
				out[msg.Prefix] = node
			}
		}
		if err := batch.Error(); err != nil {
			lastErr = err
		}
	}
	return out, n
}
