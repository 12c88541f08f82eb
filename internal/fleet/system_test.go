package fleet

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/control"
	"github.com/rampart-ids/rampart/internal/netns"
)

// The system test: three `rampart fleet hub` processes form a NATS cluster
// in one namespace; three `rampart run` daemons, each in its own namespace
// with its own nftables table, share their bans through it.

var (
	buildOnce sync.Once
	binPath   string
	binErr    error
)

// rampartBinary builds cmd/rampart once per test binary.
func rampartBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "rampart-fleet-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "rampart")
		goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
		if _, err := os.Stat(goTool); err != nil {
			goTool = "go"
		}
		cmd := exec.Command(goTool, "build", "-o", binPath, "./cmd/rampart")
		cmd.Dir = filepath.Join("..", "..")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build ./cmd/rampart: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

func skipUnlessSystem(t *testing.T) {
	t.Helper()
	netns.SkipUnlessRoot(t)
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skip("skipping: the nft tool is not installed; run scripts/deps.sh")
	}
	if testing.Short() {
		t.Skip("skipping the fleet system test in -short mode")
	}
}

// proc is a process the test started; it is killed at cleanup.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan struct{}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func startProc(t *testing.T, name string, cmd *exec.Cmd) *proc {
	t.Helper()
	p := &proc{name: name, cmd: cmd, out: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.kill(syscall.SIGTERM)
		if t.Failed() {
			t.Logf("%s output (warnings, errors and fleet lines):\n%s", name, tail(interesting(p.out.String()), 40))
		}
	})
	return p
}

// kill signals the process and waits for it (SIGKILL after 10 s).
func (p *proc) kill(sig syscall.Signal) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// interesting keeps the lines of a daemon's log worth reading after a
// failure (not the per-ban lines).
func interesting(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, "WARN") || strings.Contains(l, "ERROR") || strings.Contains(l, "fleet:") || strings.Contains(l, "fleet hub") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "    " + strings.Join(lines, "\n    ")
}

// sysNode is one rampart daemon in its namespace.
type sysNode struct {
	name   string
	ns     *netns.NS
	socket string
	log    string
	p      *proc
}

// kernel returns the prefixes in the node's set (ban-sshd-v4, ban-manual-v4net, …).
func (n *sysNode) kernel(t *testing.T, set string) map[netip.Prefix]bool {
	t.Helper()
	got, err := n.ns.NftSet("rampart", set)
	if err != nil && strings.HasPrefix(err.Error(), "nft -j list set") {
		t.Fatalf("%s: %v", n.name, err) // nft answered something unreadable
	}
	if err != nil {
		return map[netip.Prefix]bool{} // no such set (yet)
	}
	return got
}

// holds reports how many of want are in the node's ban-sshd-v4 set.
func (n *sysNode) holds(t *testing.T, want []netip.Prefix) int {
	got := n.kernel(t, "ban-sshd-v4")
	c := 0
	for _, p := range want {
		if got[p] {
			c++
		}
	}
	return c
}

// attack appends one failed-login line per address to the node's log; the
// jail (maxretry 1) bans each.
func (n *sysNode) attack(t *testing.T, addrs []netip.Prefix) {
	t.Helper()
	var b strings.Builder
	now := time.Now()
	for i, p := range addrs {
		fmt.Fprintf(&b, "%s vm sshd[%d]: Failed password for root from %s port %d ssh2\n",
			now.Format("2006-01-02T15:04:05.000000-07:00"), 2000+i, p.Addr(), 40000+i)
	}
	f, err := os.OpenFile(n.log, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(b.String()); err != nil {
		t.Fatal(err)
	}
}

func (n *sysNode) status(t *testing.T) control.FleetStatus {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := control.NewClient(n.socket).FleetStatus(ctx)
	if err != nil {
		return control.FleetStatus{}
	}
	return st
}

func (n *sysNode) cli(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, err := exec.Command(bin, append([]string{"--socket", n.socket}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: rampart %s: %v\n%s", n.name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func rangeOf(a, b, c byte, first, count int) []netip.Prefix {
	out := make([]netip.Prefix, count)
	for i := range count {
		out[i] = netip.PrefixFrom(netip.AddrFrom4([4]byte{a, b, c, byte(first + i)}), 32)
	}
	return out
}

// within polls cond every 25 ms until it holds or d passes; it returns
// how long it took and whether it held.
func within(d time.Duration, cond func() bool) (time.Duration, bool) {
	start := time.Now()
	for {
		if cond() {
			return time.Since(start), true
		}
		if time.Since(start) > d {
			return time.Since(start), false
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func TestFleetSystem(t *testing.T) {
	skipUnlessSystem(t)
	bin := rampartBinary(t)
	dir := t.TempDir()
	hub := netns.New(t, "fhub")
	names := []string{"web-1", "web-2", "web-3"}

	// The NATS cluster: three hubs in the hub namespace, clients on
	// 4221-4223, routes on loopback 6221-6223.
	var users []string
	for _, n := range names {
		users = append(users, nodeUser(n, "pw-"+n))
	}
	conf := filepath.Join(dir, "nats.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(natsAccounts, strings.Join(users, ",\n"))), 0o600); err != nil {
		t.Fatal(err)
	}
	routes := "nats://127.0.0.1:6221,nats://127.0.0.1:6222,nats://127.0.0.1:6223"
	var hubs []*proc
	for i := range 3 {
		name := fmt.Sprintf("hub-%d", i+1)
		hubs = append(hubs, startProc(t, name, hub.Command(context.Background(), bin, "fleet", "hub",
			"--config", conf, "--name", name, "--listen", fmt.Sprintf("0.0.0.0:%d", 4221+i),
			"--store", filepath.Join(dir, name), "--cluster", "rampart",
			"--cluster-listen", fmt.Sprintf("127.0.0.1:%d", 6221+i), "--routes", routes)))
	}

	// The nodes, each linked to the hub namespace on 198.18.N.0/24.
	nodes := make([]*sysNode, 3)
	var hubIf [3]string
	for i, name := range names {
		ns := netns.New(t, fmt.Sprintf("f%d", i+1))
		hubIf[i], _ = netns.Link(t, hub, ns,
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
		extraJail, extraFleet := "", ""
		switch name {
		case "web-2":
			extraFleet = "min_prefix_v4 = 25\n" // refuses the /24 web-1 bans
		case "web-3":
			extraJail = "ignoreip = [\"127.0.0.1/8\", \"::1\", \"198.19.1.0/24\"]\n"
			extraFleet = "max_per_minute = 450\n"
		}
		cfg := nodeConfig(filepath.Join(nd, "state"), n.socket, n.log, h, name, pw, "1h", extraJail, extraFleet)
		cfgPath := filepath.Join(nd, "rampart.toml")
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		n.p = startProc(t, name, ns.Command(context.Background(), bin, "run", "--config", cfgPath))
		nodes[i] = n
	}
	n1, n2, n3 := nodes[0], nodes[1], nodes[2]
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
	// The stream exists once a node created it; wait for every reader.
	time.Sleep(500 * time.Millisecond)

	// 1. 200 attackers banned on web-1 reach web-2 and web-3 within 2 s;
	// 20 more in web-3's ignoreip reach web-2 only.
	batch1 := rangeOf(192, 0, 2, 1, 200)
	ignored := rangeOf(198, 19, 1, 1, 20)
	n1.attack(t, append(append([]netip.Prefix{}, batch1...), ignored...))
	if _, ok := within(10*time.Second, func() bool { return n1.holds(t, batch1) == 200 && n1.holds(t, ignored) == 20 }); !ok {
		t.Fatalf("web-1 banned %d of its 220 attackers", n1.holds(t, batch1)+n1.holds(t, ignored))
	}
	took, ok := within(2*time.Second, func() bool {
		return n2.holds(t, batch1) == 200 && n2.holds(t, ignored) == 20 && n3.holds(t, batch1) == 200
	})
	if !ok {
		t.Fatalf("after 2 s: web-2 holds %d+%d, web-3 %d of web-1's bans", n2.holds(t, batch1), n2.holds(t, ignored), n3.holds(t, batch1))
	}
	t.Logf("200 bans from web-1 in web-2's and web-3's kernel sets %s after web-1's", took.Round(time.Millisecond))
	if c := n3.holds(t, ignored); c != 0 {
		t.Errorf("web-3 enforces %d addresses of its ignoreip", c)
	}

	// A /24 from web-1: web-2 (min_prefix_v4 = 25) refuses it, web-3 takes it.
	n1.cli(t, bin, "ban", "198.19.5.0/24")
	net24 := netip.MustParsePrefix("198.19.5.0/24")
	if _, ok := within(5*time.Second, func() bool { return n3.kernel(t, "ban-manual-v4net")[net24] }); !ok {
		t.Error("web-3 did not enforce web-1's /24")
	}
	if _, ok := within(5*time.Second, func() bool { return rejected(n2.status(t), "web-1", RejectPrefix) == 1 }); !ok {
		t.Errorf("web-2 did not count web-1's /24 as rejected by prefix: %+v", n2.status(t).Nodes)
	}
	if n2.kernel(t, "ban-manual-v4net")[net24] {
		t.Error("web-2 enforces a /24 although min_prefix_v4 = 25")
	}
	if r := rejected(n3.status(t), "web-1", RejectIgnored); r != 20 {
		t.Errorf("web-3 counted %d ignoreip rejections, want 20", r)
	}

	// 2. web-3 cut off while web-2 bans 200 more: all there within 10 s of
	// the link coming back.
	hub.MustExec(t, "ip", "link", "set", hubIf[2], "down")
	batch2 := rangeOf(198, 51, 100, 1, 200)
	n2.attack(t, batch2)
	if _, ok := within(10*time.Second, func() bool { return n1.holds(t, batch2) == 200 }); !ok {
		t.Fatalf("web-1 got %d of web-2's 200 bans", n1.holds(t, batch2))
	}
	time.Sleep(2 * time.Second)
	if c := n3.holds(t, batch2); c != 0 {
		t.Fatalf("web-3 got %d bans through a link that is down", c)
	}
	hub.MustExec(t, "ip", "link", "set", hubIf[2], "up")
	took, ok = within(10*time.Second, func() bool { return n3.holds(t, batch2) == 200 })
	if !ok {
		t.Fatalf("10 s after reconnecting web-3 holds %d of web-2's 200 bans", n3.holds(t, batch2))
	}
	t.Logf("web-3 caught up on 200 bans %s after its link came back", took.Round(time.Millisecond))

	// 3. One NATS server killed: 200 more from web-1 still reach everyone
	// within 5 s.
	hubs[0].kill(syscall.SIGKILL)
	batch3 := rangeOf(203, 0, 113, 1, 200)
	n1.attack(t, batch3)
	took, ok = within(5*time.Second, func() bool {
		return n1.holds(t, batch3) == 200 && n2.holds(t, batch3) == 200 && n3.holds(t, batch3) == 200
	})
	if !ok {
		t.Fatalf("5 s after web-1's bans with hub-1 killed: web-1 %d, web-2 %d, web-3 %d of 200",
			n1.holds(t, batch3), n2.holds(t, batch3), n3.holds(t, batch3))
	}
	t.Logf("with hub-1 killed, 200 bans everywhere in %s", took.Round(time.Millisecond))

	// 4. web-1 lifts its bans: they leave web-2 and web-3 within 5 s;
	// web-2's bans stay on web-3 (web-1 cannot lift them).
	n1.cli(t, bin, "unban", "--all", "--jail", "sshd")
	took, ok = within(5*time.Second, func() bool {
		return n2.holds(t, batch1) == 0 && n3.holds(t, batch1) == 0 && n2.holds(t, batch3) == 0 && n3.holds(t, batch3) == 0
	})
	if !ok {
		t.Fatalf("5 s after web-1's unban: web-2 holds %d, web-3 %d of its bans", n2.holds(t, batch1)+n2.holds(t, batch3), n3.holds(t, batch1)+n3.holds(t, batch3))
	}
	t.Logf("web-1's unbans left web-2 and web-3 in %s", took.Round(time.Millisecond))
	if c := n3.holds(t, batch2); c != 200 {
		t.Errorf("web-3 holds %d of web-2's bans after web-1's unban, want 200", c)
	}

	// 5. The rate cap: web-3 takes at most 450 bans a minute from web-1.
	burst := append(rangeOf(198, 19, 10, 1, 250), rangeOf(198, 19, 11, 1, 250)...)
	n1.attack(t, burst)
	if _, ok := within(10*time.Second, func() bool { return n2.holds(t, burst) == 500 }); !ok {
		t.Fatalf("web-2 got %d of web-1's 500", n2.holds(t, burst))
	}
	if _, ok := within(5*time.Second, func() bool { return rejected(n3.status(t), "web-1", RejectRate) >= 50 }); !ok {
		t.Errorf("web-3 counted %d rate rejections from web-1, want at least 50", rejected(n3.status(t), "web-1", RejectRate))
	}
	if c := n3.holds(t, burst); c > 450 {
		t.Errorf("web-3 enforces %d of the 500-ban burst, over max_per_minute 450", c)
	}
	// The stream reader catches up with everything, rejected bans too.
	var st control.FleetStatus
	if _, ok := within(15*time.Second, func() bool { st = n3.status(t); return st.Lag == 0 && st.LastSeq > 0 }); !ok {
		t.Errorf("web-3's stream reader is behind: last_seq %d, stream %d", st.LastSeq, st.StreamSeq)
	}
	out := n3.cli(t, bin, "fleet", "status")
	for _, want := range []string{"web-1", "web-2", "connected to", "rate="} {
		if !strings.Contains(out, want) {
			t.Errorf("fleet status lacks %q:\n%s", want, out)
		}
	}
}

func rejected(st control.FleetStatus, node, reason string) uint64 {
	for _, n := range st.Nodes {
		if n.Node == node {
			return n.Rejected[reason]
		}
	}
	return 0
}

// nodeConfig is a fleet node's rampart.toml: an sshd jail on logpath
// (maxretry 1) and [fleet] on the three hubs at host, with extra lines for
// the jail and for [fleet].
func nodeConfig(state, socket, logpath, host, node, passwordFile, bantime, extraJail, extraFleet string) string {
	return fmt.Sprintf(`[daemon]
state_dir = %q
socket = %q
firewall = "nftables"
on_stop = "flush"

[jails.sshd]
enabled = true
filter = "sshd"
backend = "file"
logpath = [%q]
port = "ssh"
maxretry = 1
findtime = "10m"
bantime = %q
%s
[fleet]
enabled = true
servers = ["nats://%s:4221", "nats://%s:4222", "nats://%s:4223"]
user = %q
password_file = %q
node = %q
%s`, state, socket, logpath, bantime, extraJail, host, host, host, node, passwordFile, node, extraFleet)
}
