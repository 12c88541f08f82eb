package policy_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"net/netip"

	"github.com/rampart-ids/rampart/internal/netns"
	"github.com/rampart-ids/rampart/internal/policy"
)

// rampartBin builds cmd/rampart once for the tests that run the CLI.
var rampartBin = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "rampart-policy-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "rampart")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/rampart-ids/rampart/cmd/rampart").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v: %s", err, out)
	}
	return bin, nil
})

// lab is a server namespace (where the baseline goes) and a client
// namespace linked to it, with socat listeners on the server.
type lab struct {
	srv, cli *netns.NS
	dir      string
	bin      string
}

var (
	srv4 = netip.MustParseAddr("192.0.2.1")
	srv6 = netip.MustParseAddr("2001:db8::1")
)

func newLab(t *testing.T) *lab {
	t.Helper()
	netns.SkipUnlessRoot(t)
	for _, b := range []string{"socat", "nft"} {
		if _, err := exec.LookPath(b); err != nil {
			t.Skipf("skipping: %s is not installed (run scripts/deps.sh)", b)
		}
	}
	bin, err := rampartBin()
	if err != nil {
		t.Fatal(err)
	}
	l := &lab{srv: netns.New(t, "bsrv"), cli: netns.New(t, "bcli"), dir: t.TempDir(), bin: bin}
	netns.Link(t, l.srv, l.cli,
		[]netip.Prefix{netip.MustParsePrefix("192.0.2.1/24"), netip.MustParsePrefix("2001:db8::1/64")},
		[]netip.Prefix{netip.MustParsePrefix("192.0.2.2/24"), netip.MustParsePrefix("2001:db8::2/64")})
	for _, port := range []int{8080, 8081, 9100} {
		l.listen(t, fmt.Sprintf("TCP6-LISTEN:%d,fork,reuseaddr,ipv6only=0", port))
	}
	l.listen(t, "UDP6-RECVFROM:5353,fork,reuseaddr,ipv6only=0")
	l.listen(t, "UDP6-RECVFROM:5354,fork,reuseaddr,ipv6only=0")
	waitFor(t, "socat listeners", func() bool { return l.reachTCP(srv4, 8080) && l.reachTCP(srv4, 9100) })
	return l
}

func (l *lab) listen(t *testing.T, addr string) {
	answer := "SYSTEM:echo pong"
	if strings.HasPrefix(addr, "UDP") {
		// A datagram is handed to the child: answer after reading it, or
		// the child may exit first and socat die of EPIPE unanswered.
		answer = "SYSTEM:read x; echo pong"
	}
	cmd := l.srv.Command(context.Background(), "socat", addr, answer)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
}

// reachTCP reports whether the client gets "pong" from a:port within 1 s.
func (l *lab) reachTCP(a netip.Addr, port int) bool {
	ok := false
	_ = l.cli.Do(func() error {
		c, err := net.DialTimeout("tcp", netip.AddrPortFrom(a, uint16(port)).String(), time.Second)
		if err != nil {
			return nil
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(time.Second))
		s, _ := bufio.NewReader(c).ReadString('\n')
		ok = s == "pong\n"
		return nil
	})
	return ok
}

// reachUDP reports whether a datagram to a:port is answered within 1 s.
func (l *lab) reachUDP(a netip.Addr, port int) bool {
	ok := false
	_ = l.cli.Do(func() error {
		c, err := net.Dial("udp", netip.AddrPortFrom(a, uint16(port)).String())
		if err != nil {
			return nil
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(time.Second))
		_, _ = c.Write([]byte("ping\n"))
		buf := make([]byte, 16)
		n, _ := c.Read(buf)
		ok = string(buf[:n]) == "pong\n"
		return nil
	})
	return ok
}

// config writes a configuration with the [baseline] body given.
func (l *lab) config(t *testing.T, body string) string {
	t.Helper()
	f := filepath.Join(l.dir, "rampart.toml")
	src := fmt.Sprintf("[daemon]\nstate_dir = %q\n\n[baseline]\nenabled = true\ndhcp = \"no\"\n%s", filepath.Join(l.dir, "state"), body)
	if err := os.WriteFile(f, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// run runs the CLI in the server namespace, as if over SSH from
// 192.0.2.99 to port 22 (so the session guard has a defined input,
// whatever the environment of the test).
func (l *lab) run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := l.srv.Command(context.Background(), append([]string{l.bin}, args...)...)
	cmd.Env = append(os.Environ(), "SSH_CONNECTION=192.0.2.99 50000 192.0.2.1 22")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func waitFor(t *testing.T, what string, f func() bool) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if f() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

const sessionOK = "allow_from = { \"22/tcp\" = [\"192.0.2.99\"] }\n"

func TestBaselineTraffic(t *testing.T) {
	l := newLab(t)
	cfg := l.config(t, "allow = [\"8080/tcp\", \"5353/udp\"]\nallow_from = { \"9100/tcp\" = [\"192.0.2.2/32\"], \"22/tcp\" = [\"192.0.2.99\"] }\n")
	if out, err := l.run(t, "firewall", "apply", "--config", cfg); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	for _, c := range []struct {
		a    netip.Addr
		port int
		udp  bool
		want bool
	}{
		{srv4, 8080, false, true}, {srv6, 8080, false, true},
		{srv4, 8081, false, false}, {srv6, 8081, false, false},
		{srv4, 5353, true, true}, {srv6, 5353, true, true},
		{srv4, 5354, true, false}, {srv6, 5354, true, false},
		// allow_from: the client's IPv4 address is listed, its IPv6 is not.
		{srv4, 9100, false, true}, {srv6, 9100, false, false},
	} {
		got := false
		if c.udp {
			got = l.reachUDP(c.a, c.port)
		} else {
			got = l.reachTCP(c.a, c.port)
		}
		if got != c.want {
			t.Errorf("%s port %d (udp %v): reachable %v, want %v", c.a, c.port, c.udp, got, c.want)
		}
	}
	// ping answers (icmp = true by default), v4 and v6.
	pings := []string{"192.0.2.1", "2001:db8::1"}
	if _, err := exec.LookPath("ping"); err != nil {
		t.Log("not checking echo: ping is not installed (run scripts/deps.sh: iputils-ping)")
		pings = nil
	}
	for _, a := range pings {
		if out, err := l.cli.Exec(context.Background(), "ping", "-c1", "-W1", a); err != nil {
			t.Errorf("ping %s with the baseline on: %v %s", a, err, out)
		}
	}
	out, err := l.run(t, "firewall", "plan", "--config", cfg)
	if err != nil || !strings.Contains(out, "no change") {
		t.Errorf("plan after apply: %v\n%s", err, out)
	}
	out, _ = l.run(t, "firewall", "show")
	defer func() {
		// icmp = false: echo is no longer answered, the rest stays.
		noEcho := l.config(t, "icmp = false\nallow = [\"8080/tcp\"]\n"+sessionOK)
		if out, err := l.run(t, "firewall", "apply", "--config", noEcho); err != nil {
			t.Fatalf("apply icmp = false: %v\n%s", err, out)
		}
		for _, a := range pings {
			if _, err := l.cli.Exec(context.Background(), "ping", "-c1", "-W1", a); err == nil {
				t.Errorf("ping %s answered with icmp = false", a)
			}
		}
		// Forget the neighbours, so that reaching 8080 over IPv6 needs
		// neighbour discovery through the baseline again.
		l.srv.MustExec(t, "ip", "neigh", "flush", "all")
		l.cli.MustExec(t, "ip", "neigh", "flush", "all")
		if !l.reachTCP(srv6, 8080) {
			t.Error("with icmp = false, IPv6 stopped working (neighbour discovery must stay open)")
		}
	}()
	if !strings.Contains(out, "policy drop") || !strings.Contains(out, "ip saddr 192.0.2.2/32 tcp dport 9100 accept") {
		t.Errorf("show:\n%s", out)
	}
}

func TestGuardSessionRefused(t *testing.T) {
	l := newLab(t)
	cfg := l.config(t, "allow = [\"8080/tcp\"]\n")
	out, err := l.run(t, "firewall", "apply", "--config", cfg)
	if err == nil || !strings.Contains(out, "from 192.0.2.99 to port 22/tcp") || !strings.Contains(out, "allow_from") {
		t.Fatalf("apply without the session's port: err %v, want a refusal naming 192.0.2.99 and port 22:\n%s", err, out)
	}
	if !l.reachTCP(srv4, 8081) {
		t.Errorf("a refused baseline changed the kernel: 8081 is closed")
	}
	out, err = l.run(t, "firewall", "apply", "--force", "--config", cfg)
	if err != nil || !strings.Contains(out, "WARNING: --force overrides the lock-out guard") {
		t.Fatalf("apply --force: %v\n%s", err, out)
	}
	if l.reachTCP(srv4, 8081) {
		t.Errorf("after apply --force: 8081 still open")
	}
}

// TestGuardSSHDPort runs a real sshd on port 2200 in the namespace: a
// baseline that does not allow 2200 is refused, naming the port.
func TestGuardSSHDPort(t *testing.T) {
	l := newLab(t)
	l.sshd(t, 2200)

	cfg := l.config(t, "allow = [\"8080/tcp\"]\n"+sessionOK)
	out, err := l.run(t, "firewall", "apply", "--config", cfg)
	if err == nil || !strings.Contains(out, "sshd listens on port 2200/tcp") || !strings.Contains(out, `add "2200/tcp" to [baseline] allow`) {
		t.Fatalf("apply without sshd's port: err %v, want a refusal naming 2200:\n%s", err, out)
	}
	cfg = l.config(t, "allow = [\"8080/tcp\", \"2200/tcp\"]\n"+sessionOK)
	if out, err := l.run(t, "firewall", "apply", "--config", cfg); err != nil {
		t.Fatalf("apply with sshd's port: %v\n%s", err, out)
	}
	if !l.reachTCPRaw(srv4, 2200) || l.reachTCP(srv4, 8081) {
		t.Errorf("with 2200 allowed: sshd reachable %v, 8081 reachable %v", l.reachTCPRaw(srv4, 2200), l.reachTCP(srv4, 8081))
	}
}

// reachTCPRaw reports whether a TCP connection to a:port opens.
func (l *lab) reachTCPRaw(a netip.Addr, port int) bool {
	ok := false
	_ = l.cli.Do(func() error {
		c, err := net.DialTimeout("tcp", netip.AddrPortFrom(a, uint16(port)).String(), time.Second)
		if err == nil {
			ok = true
			c.Close()
		}
		return nil
	})
	return ok
}

// TestConfirmRollsBack: apply --confirm 4s from a shell whose whole
// process group is SIGKILLed; the detached watcher rolls back after 4 s.
func TestConfirmRollsBack(t *testing.T) {
	l := newLab(t)
	cfg := l.config(t, "allow = [\"8080/tcp\"]\n"+sessionOK)
	state := filepath.Join(l.dir, "state")
	sh := l.srv.Command(context.Background(), "sh", "-c", l.bin+` firewall apply --confirm 4s --config "$1" && sleep 60`, "sh", cfg)
	sh.Env = append(os.Environ(), "SSH_CONNECTION=192.0.2.99 50000 192.0.2.1 22")
	sh.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := sh.Start(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	waitFor(t, "the baseline", func() bool { return !l.reachTCP(srv4, 8081) })
	p, err := policy.ReadPending(state)
	if err != nil || p == nil || p.WatcherPID == 0 {
		t.Fatalf("pending file: %+v, %v", p, err)
	}
	t.Cleanup(func() { _ = syscall.Kill(p.WatcherPID, syscall.SIGKILL) })
	if err := syscall.Kill(-sh.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = sh.Wait()
	time.Sleep(time.Until(start.Add(3 * time.Second)))
	if l.reachTCP(srv4, 8081) {
		t.Fatalf("rolled back before the 4 s deadline (%s)", time.Since(start))
	}
	waitFor(t, "the rollback", func() bool { return l.reachTCP(srv4, 8081) })
	if p, _ := policy.ReadPending(state); p != nil {
		t.Errorf("pending file left after rollback: %+v", p)
	}
	if a, _ := (policy.Kernel{NetNS: l.srv.Fd()}).Read(); a.Present {
		t.Errorf("after rollback the chain is still there: %v", a.Policy().Strings())
	}
}

// TestConfirmKeeps: confirmed in time, the baseline stays past the deadline.
func TestConfirmKeeps(t *testing.T) {
	l := newLab(t)
	cfg := l.config(t, "allow = [\"8080/tcp\"]\n"+sessionOK)
	if out, err := l.run(t, "firewall", "apply", "--confirm", "4s", "--config", cfg); err != nil || !strings.Contains(out, "rolls back at") {
		t.Fatalf("apply --confirm: %v\n%s", err, out)
	}
	if out, err := l.run(t, "firewall", "confirm", "--config", cfg); err != nil {
		t.Fatalf("confirm: %v\n%s", err, out)
	}
	time.Sleep(6 * time.Second)
	if l.reachTCP(srv4, 8081) || !l.reachTCP(srv4, 8080) {
		t.Errorf("confirmed baseline did not stay: 8081 %v 8080 %v", l.reachTCP(srv4, 8081), l.reachTCP(srv4, 8080))
	}
}

// TestDaemonHeals runs the daemon in the namespace: it applies the
// baseline at start, restores it after `nft flush ruleset`, and leaves it
// in place when it stops.
func TestDaemonHeals(t *testing.T) {
	l := newLab(t)
	cfg := l.config(t, "allow = [\"8080/tcp\"]\n"+sessionOK)
	d, logs := l.daemon(t, cfg)
	waitFor(t, "the daemon's baseline", func() bool { return !l.reachTCP(srv4, 8081) && l.reachTCP(srv4, 8080) })
	l.srv.MustExec(t, "nft", "flush", "ruleset")
	if !l.reachTCP(srv4, 8081) {
		t.Fatal("nft flush ruleset did not open 8081")
	}
	waitFor(t, "the baseline restored", func() bool { return !l.reachTCP(srv4, 8081) })
	// A reload (SIGHUP) applies the edited [baseline].
	src, _ := os.ReadFile(cfg)
	if err := os.WriteFile(cfg, []byte(strings.Replace(string(src), `allow = ["8080/tcp"]`, `allow = ["8080/tcp", "8081/tcp"]`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	_ = d.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "the reloaded baseline", func() bool { return l.reachTCP(srv4, 8081) })
	if err := os.WriteFile(cfg, src, 0o600); err != nil {
		t.Fatal(err)
	}
	_ = d.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "the baseline reloaded back", func() bool { return !l.reachTCP(srv4, 8081) })
	d.stop()
	if l.reachTCP(srv4, 8081) || !l.reachTCP(srv4, 8080) {
		t.Errorf("after the daemon stopped the baseline is gone:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "restored") {
		t.Errorf("daemon log does not mention the restore:\n%s", logs.String())
	}
}

// TestForwardingKeepsWorking: the baseline's namespace routes and DNATs
// port 8888 to a server behind it (what Docker does for a published
// port); with the baseline on, the forwarded service still answers while
// the router's own closed ports do not.
func TestForwardingKeepsWorking(t *testing.T) {
	l := newLab(t)
	back := netns.New(t, "bback")
	netns.Link(t, l.srv, back, []netip.Prefix{netip.MustParsePrefix("198.51.100.1/24")}, []netip.Prefix{netip.MustParsePrefix("198.51.100.2/24")})
	back.MustExec(t, "ip", "route", "add", "default", "via", "198.51.100.1")
	l.srv.MustExec(t, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
	nat := filepath.Join(l.dir, "nat.nft")
	if err := os.WriteFile(nat, []byte("table ip dnat-test {\n chain pre {\n  type nat hook prerouting priority dstnat;\n  tcp dport 8888 dnat to 198.51.100.2:8080\n }\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	l.srv.MustExec(t, "nft", "-f", nat)
	cmd := back.Command(context.Background(), "socat", "TCP-LISTEN:8080,fork,reuseaddr", "SYSTEM:echo pong")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	waitFor(t, "the forwarded service", func() bool { return l.reachTCP(srv4, 8888) })
	cfg := l.config(t, sessionOK)
	if out, err := l.run(t, "firewall", "apply", "--config", cfg); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	if l.reachTCP(srv4, 8081) {
		t.Error("the router's own port 8081 is open with the baseline on")
	}
	if !l.reachTCP(srv4, 8888) {
		t.Error("the DNATed, forwarded port 8888 stopped answering with the baseline on")
	}
	out, _ := l.run(t, "firewall", "plan", "--config", cfg)
	if !strings.Contains(out, "no change") {
		t.Errorf("plan:\n%s", out)
	}
}

// TestNeighbours: a Docker-like DNAT chain and another table's dropping
// input chain are named by plan; neither is touched by apply.
func TestNeighbours(t *testing.T) {
	l := newLab(t)
	rules := filepath.Join(l.dir, "others.nft")
	if err := os.WriteFile(rules, []byte("table ip nat {\n chain DOCKER {\n  tcp dport 8443 dnat to 198.51.100.2:443\n  udp dport 5300 dnat to 198.51.100.2:53\n }\n}\n"+
		"table inet other {\n chain input {\n  type filter hook input priority 10; policy drop;\n  tcp dport 8080 accept\n }\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	l.srv.MustExec(t, "nft", "-f", rules)
	cfg := l.config(t, "allow = [\"8080/tcp\"]\n"+sessionOK)
	out, err := l.run(t, "firewall", "plan", "--config", cfg)
	if err != nil {
		t.Fatalf("plan: %v\n%s", err, out)
	}
	for _, want := range []string{"Docker is present (chain DOCKER in table ip nat, published ports 8443/tcp, 5300/udp)", "table inet other chain input (hook input) drops by default"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan does not say %q:\n%s", want, out)
		}
	}
	if out, err := l.run(t, "firewall", "apply", "--config", cfg); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	after := l.srv.MustExec(t, "nft", "list", "ruleset")
	if !strings.Contains(after, "table inet other") || !strings.Contains(after, "dnat to 198.51.100.2:443") {
		t.Errorf("apply touched other tables:\n%s", after)
	}
}

// sshd runs a real sshd on port in the server namespace.
func (l *lab) sshd(t *testing.T, port int) {
	t.Helper()
	for _, b := range []string{"/usr/sbin/sshd", "ssh-keygen", "unshare"} {
		if _, err := exec.LookPath(b); err != nil {
			t.Skipf("skipping: %s is not installed (run scripts/deps.sh: openssh-server)", b)
		}
	}
	dir := t.TempDir()
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(dir, "hostkey")).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v %s", err, out)
	}
	conf := fmt.Sprintf("Port %d\nHostKey %s/hostkey\nPidFile none\nUsePAM no\n", port, dir)
	if err := os.WriteFile(filepath.Join(dir, "sshd_config"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	// A private mount namespace gets /run/sshd (privilege separation)
	// without creating it on the host.
	script := `[ -d /run/sshd ] || { mount -t tmpfs -o mode=0755 rampart-test-run /run && mkdir -m 0755 /run/sshd; }; exec /usr/sbin/sshd -D -e -f "$1/sshd_config"`
	cmd := l.srv.Command(context.Background(), "unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	waitFor(t, "sshd", func() bool { return l.reachTCPRaw(srv4, port) })

}

// syncBuf is a log buffer the daemon's output goroutine and the test share.
type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// daemonProc is a `rampart run` in the server namespace.
type daemonProc struct {
	cmd     *exec.Cmd
	logs    *syncBuf
	stopped bool
}

func (d *daemonProc) stop() {
	if !d.stopped {
		_ = d.cmd.Process.Signal(syscall.SIGTERM)
		_ = d.cmd.Wait()
		d.stopped = true
	}
}

// daemon starts the daemon on cfg (with a socket in the lab's directory and
// the nftables backend).
func (l *lab) daemon(t *testing.T, cfg string) (*daemonProc, *syncBuf) {
	t.Helper()
	src, _ := os.ReadFile(cfg)
	src = []byte(strings.Replace(string(src), "[daemon]\n", fmt.Sprintf("[daemon]\nsocket = %q\nfirewall = \"nftables\"\n", filepath.Join(l.dir, "sock")), 1))
	if err := os.WriteFile(cfg, src, 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuf{}
	d := &daemonProc{cmd: l.srv.Command(context.Background(), l.bin, "run", "--config", cfg), logs: logs}
	d.cmd.Stdout, d.cmd.Stderr = logs, logs
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.stop)
	return d, logs
}

// TestDaemonRefusesLockOut: a baseline closing sshd's port is not applied
// at start; the daemon keeps running and says why.
func TestDaemonRefusesLockOut(t *testing.T) {
	l := newLab(t)
	l.sshd(t, 2200)
	d, logs := l.daemon(t, l.config(t, "allow = [\"8080/tcp\"]\n"))
	waitFor(t, "the refusal in the log", func() bool { return strings.Contains(logs.String(), "BASELINE REFUSED") })
	if !strings.Contains(logs.String(), "2200/tcp") {
		t.Errorf("the refusal does not name port 2200:\n%s", logs.String())
	}
	if a, _ := (policy.Kernel{NetNS: l.srv.Fd()}).Read(); a.Present {
		t.Errorf("a refused baseline is in the kernel: %v", a.Policy().Strings())
	}
	if !l.reachTCPRaw(srv4, 2200) {
		t.Error("sshd is not reachable")
	}
	if out, err := exec.Command(l.bin, "ping", "--socket", filepath.Join(l.dir, "sock")).CombinedOutput(); err != nil {
		t.Errorf("the daemon does not answer after refusing the baseline: %v %s\n%s", err, out, logs.String())
	}
	d.stop()
}

// TestDaemonPending: the daemon keeps what the CLI applies, and rolls back
// an unconfirmed change itself when the watcher was killed.
func TestDaemonPending(t *testing.T) {
	l := newLab(t)
	cfgA := l.config(t, "allow = [\"8080/tcp\"]\n"+sessionOK)
	_, logs := l.daemon(t, cfgA)
	waitFor(t, "the daemon's baseline", func() bool { return !l.reachTCP(srv4, 8081) && l.reachTCP(srv4, 8080) })
	srcA, _ := os.ReadFile(cfgA)
	cfgB := filepath.Join(l.dir, "b.toml")
	if err := os.WriteFile(cfgB, []byte(strings.Replace(string(srcA), `allow = ["8080/tcp"]`, `allow = ["8080/tcp", "8081/tcp"]`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := l.run(t, "firewall", "apply", "--config", cfgB); err != nil {
		t.Fatalf("apply B: %v\n%s", err, out)
	}
	time.Sleep(2500 * time.Millisecond)
	if !l.reachTCP(srv4, 8081) {
		t.Fatalf("the daemon undid the CLI's apply:\n%s", logs.String())
	}
	if out, err := l.run(t, "firewall", "apply", "--confirm", "3s", "--config", cfgA); err != nil {
		t.Fatalf("apply --confirm: %v\n%s", err, out)
	}
	p, err := policy.ReadPending(filepath.Join(l.dir, "state"))
	if err != nil || p == nil {
		t.Fatalf("pending: %v %v", p, err)
	}
	if err := syscall.Kill(p.WatcherPID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if l.reachTCP(srv4, 8081) {
		t.Fatal("apply --confirm did not close 8081")
	}
	for end := time.Now().Add(9 * time.Second); time.Now().Before(end) && !l.reachTCP(srv4, 8081); time.Sleep(200 * time.Millisecond) {
	}
	if !l.reachTCP(srv4, 8081) || !strings.Contains(logs.String(), "rolled back by the daemon") {
		t.Fatalf("the daemon did not roll back the unconfirmed change (watcher killed):\n%s", logs.String())
	}
}
