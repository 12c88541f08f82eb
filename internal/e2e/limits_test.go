package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/control"
	"github.com/rampart-ids/rampart/internal/netns"
)

// limitLab is a daemon with [limits.api] (9000/tcp, rate 30/minute,
// bantime 10m, bantime.increment on) in a server namespace with a socat
// listener, an attacker namespace (192.0.2.10, 2001:db8:1::10) and a good
// client's (198.51.100.10).
type limitLab struct {
	srv, bad, good *netns.NS
	d              *daemon
	cfg, dir       string
}

func newLimitLab(t *testing.T) *limitLab {
	t.Helper()
	netns.SkipUnlessRoot(t)
	for _, b := range []string{"nft", "socat", "hping3"} {
		if _, err := exec.LookPath(b); err != nil {
			t.Skipf("skipping: %s is not installed (package %s; run scripts/deps.sh)", b, b)
		}
	}
	l := &limitLab{srv: netns.New(t, "limsrv"), bad: netns.New(t, "limbad"), good: netns.New(t, "limgood"), dir: t.TempDir()}
	netns.Link(t, l.bad, l.srv,
		[]netip.Prefix{netip.MustParsePrefix("192.0.2.10/24"), netip.MustParsePrefix("2001:db8:1::10/64")},
		[]netip.Prefix{netip.MustParsePrefix("192.0.2.1/24"), netip.MustParsePrefix("2001:db8:1::1/64")})
	netns.Link(t, l.good, l.srv, []netip.Prefix{netip.MustParsePrefix("198.51.100.10/24")}, []netip.Prefix{netip.MustParsePrefix("198.51.100.1/24")})
	cmd := l.srv.Command(context.Background(), "socat", "TCP6-LISTEN:9000,fork,reuseaddr,ipv6only=0,backlog=128", "SYSTEM:echo hello")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	cfg, sock := writeConfig(t, l.dir, "keep")
	text, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// The namespace's own loopback: the metrics of the limit's pseudo-jail.
	text = []byte(strings.Replace(string(text), "on_stop = \"keep\"\n", "on_stop = \"keep\"\nmetrics_listen = \"127.0.0.1:9464\"\n", 1))
	if err := os.WriteFile(cfg, text, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteString("[defaults.increment]\nenabled = true\n\n[limits.api]\nport = \"9000/tcp\"\nrate = \"30/minute\"\nbantime = \"10m\"\n")
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	l.cfg = cfg
	l.d = startDaemon(t, t, l.srv, sock, "--config", cfg)
	return l
}

func (l *limitLab) dial(ns *netns.NS, from, to string) error {
	return ns.Do(func() error {
		d := net.Dialer{Timeout: 700 * time.Millisecond, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
		c, err := d.Dial("tcp", net.JoinHostPort(to, "9000"))
		if err == nil {
			c.Close()
		}
		return err
	})
}

// metrics returns the daemon's /metrics, fetched inside its namespace.
func (l *limitLab) metrics(t *testing.T) string {
	t.Helper()
	var body []byte
	// Dialled on the namespace's thread (http.Get would dial on another
	// goroutine, outside the namespace); the reading is done after.
	var c net.Conn
	err := l.srv.Do(func() error {
		var err error
		c, err = net.DialTimeout("tcp", "127.0.0.1:9464", 2*time.Second)
		return err
	})
	if err == nil {
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err = io.WriteString(c, "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"); err == nil {
			body, err = io.ReadAll(c)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

func (l *limitLab) flood(t *testing.T) {
	t.Helper()
	// --flood ignores -c in hping3: a 100 µs interval bounds the run.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if out, err := l.bad.Exec(ctx, "hping3", "-S", "-p", "9000", "-i", "u100", "-c", "3000", "-q", "192.0.2.1"); err != nil && !strings.Contains(out, "packets transmitted") {
		t.Fatalf("hping3: %v", err)
	}
}

// bans returns `rampart banned --json`'s entries by prefix.
func (l *limitLab) bans(t *testing.T) map[netip.Prefix]control.BannedEntry {
	t.Helper()
	out, err := l.d.cli("banned", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var r control.BannedReply
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("banned --json: %v\n%s", err, out)
	}
	m := map[netip.Prefix]control.BannedEntry{}
	for _, b := range r.Bans {
		m[b.Prefix] = b
	}
	return m
}

func (l *limitLab) kban(t *testing.T, v6 bool) map[netip.Prefix]bool {
	t.Helper()
	set := "kban-api-v4"
	if v6 {
		set = "kban-api-v6"
	}
	m, err := kernelSet(l.srv, set)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestLimitDaemon: a SYN flood over the rate is banned by the kernel and
// recorded by the daemon with origin "kernel limit api" (banned --json,
// status); a good client's 5 connections pass; unban lifts it in both the
// rampart set and the kernel's; a second offence gets a longer ban
// (bantime.increment); IPv6 is banned per /64; a ban the kernel makes
// while the daemon is stopped is recorded at its start.
func TestLimitDaemon(t *testing.T) {
	l := newLimitLab(t)
	bad4 := netip.MustParsePrefix("192.0.2.10/32")
	for i := range 5 {
		if err := l.dial(l.good, "198.51.100.10", "198.51.100.1"); err != nil {
			t.Fatalf("good client, connection %d of 5: %v", i+1, err)
		}
	}
	l.flood(t)
	if !waitFor(10*time.Second, func() bool { _, ok := l.bans(t)[bad4]; return ok }) {
		t.Fatalf("no rampart ban of %s after the flood; kernel set %v\n%s", bad4, l.kban(t, false), indent(l.d.p.out.String()))
	}
	b := l.bans(t)[bad4]
	if b.Jail != "limit-api" || b.Origin.String() != "kernel limit api" {
		t.Errorf("ban = %+v, want jail limit-api, origin kernel limit api", b)
	}
	first := b.Until.Sub(b.Since)
	if first < 9*time.Minute || first > 11*time.Minute {
		t.Errorf("first ban lasts %v, want the bantime 10m", first)
	}
	if !l.kban(t, false)[bad4] {
		t.Error("the kernel's ban set does not hold the source")
	}
	if m, err := kernelSet(l.srv, "ban-limit-api-v4"); err != nil || !m[bad4] {
		t.Errorf("rampart's own set ban-limit-api-v4 = %v, %v; want %s", m, err, bad4)
	}
	if _, ok := l.bans(t)[netip.MustParsePrefix("198.51.100.10/32")]; ok {
		t.Error("the good client was banned")
	}
	if st := l.d.status(t, "limit-api"); st.BannedNow != 1 || st.Filter != "kernel-limit" {
		t.Errorf("status of limit-api = %+v", st)
	}
	if err := l.dial(l.bad, "192.0.2.10", "192.0.2.1"); err == nil {
		t.Error("the banned source still connects")
	}
	if m := l.metrics(t); !strings.Contains(m, `rampart_jail_bans_total{jail="limit-api"} 1`) {
		t.Errorf("metrics have no ban of limit-api:\n%s", m)
	}

	// Unban: rampart's set and the kernel's.
	if out, err := l.d.cli("unban", "192.0.2.10"); err != nil {
		t.Fatalf("unban: %v %s", err, out)
	}
	if !waitFor(5*time.Second, func() bool { return !l.kban(t, false)[bad4] }) {
		t.Error("unban left the element in the kernel's ban set")
	}
	if _, ok := l.bans(t)[bad4]; ok {
		t.Error("unban left the rampart ban")
	}

	// A second offence: bantime.increment lengthens rampart's ban.
	time.Sleep(6 * time.Second) // the daemon's memory of the last hit
	l.flood(t)
	if !waitFor(10*time.Second, func() bool { _, ok := l.bans(t)[bad4]; return ok }) {
		t.Fatalf("no second ban\n%s", indent(l.d.p.out.String()))
	}
	b = l.bans(t)[bad4]
	if second := b.Until.Sub(b.Since); second <= first+time.Minute || b.Count < 2 {
		t.Errorf("second ban lasts %v (count %d), want longer than the first %v", second, b.Count, first)
	}

	// IPv6, per /64: 40 connections in a second at 30/minute.
	for range 40 {
		_ = l.dial(l.bad, "2001:db8:1::10", "2001:db8:1::1")
	}
	bad6 := netip.MustParsePrefix("2001:db8:1::/64")
	if !waitFor(10*time.Second, func() bool { _, ok := l.bans(t)[bad6]; return ok }) {
		t.Errorf("no rampart ban of %s; kernel set %v, bans %v", bad6, l.kban(t, true), l.bans(t))
	}

	// Stopped daemon: the kernel bans on its own; the start records it.
	if out, err := l.d.cli("unban", "--all"); err != nil {
		t.Fatalf("unban --all: %v %s", err, out)
	}
	waitFor(5*time.Second, func() bool { return !l.kban(t, false)[bad4] })
	l.d.stop(t)
	time.Sleep(2100 * time.Millisecond)
	l.flood(t)
	if !l.kban(t, false)[bad4] {
		t.Fatal("with the daemon stopped, the kernel did not ban")
	}
	l.d = startDaemon(t, t, l.srv, l.d.Socket, "--config", l.cfg)
	if !waitFor(10*time.Second, func() bool { b, ok := l.bans(t)[bad4]; return ok && b.Origin.String() == "kernel limit api" }) {
		t.Errorf("the kernel's ban made while stopped was not recorded: %v\n%s", l.bans(t), indent(l.d.p.out.String()))
	}
}

// TestLimitReload: limits changed, added and removed in the configuration
// take effect on `rampart reload`; an `nft flush ruleset` is repaired.
func TestLimitReload(t *testing.T) {
	l := newLimitLab(t)
	chain := func() string {
		out, _ := l.srv.Exec(context.Background(), "nft", "list", "table", "inet", "rampart")
		return out
	}
	if s := chain(); !strings.Contains(s, "limit rate over 30/minute") {
		t.Fatalf("at start:\n%s", s)
	}
	base, err := os.ReadFile(l.cfg)
	if err != nil {
		t.Fatal(err)
	}
	head, _, _ := strings.Cut(string(base), "[limits.api]")
	write := func(limits string) {
		t.Helper()
		if err := os.WriteFile(l.cfg, []byte(head+limits), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := l.d.cli("reload"); err != nil {
			t.Fatalf("reload: %v %s", err, out)
		}
	}
	write("[limits.api]\nport = \"9000/tcp\"\nmax_conn = 2\nbantime = \"1h\"\n\n[limits.db]\nport = \"5432/tcp\"\nrate = \"5/second\"\n")
	s := chain()
	if !strings.Contains(s, "ct count over 2") || strings.Contains(s, "limit rate over 30/minute") || !strings.Contains(s, "timeout 1h") ||
		!strings.Contains(s, "tcp dport 5432") || !strings.Contains(s, "limit rate over 5/second") {
		t.Errorf("after the change:\n%s", s)
	}
	l.d.status(t, "limit-db") // fails the test when the pseudo-jail is missing
	// nft flush ruleset: the daemon applies the limits again (every 10 s).
	l.srv.MustExec(t, "nft", "flush", "ruleset")
	if !waitFor(15*time.Second, func() bool { return strings.Contains(chain(), "tcp dport 5432") }) {
		t.Errorf("limits not restored after nft flush ruleset:\n%s", chain())
	}
	write("")
	if s := chain(); strings.Contains(s, "limits-input") || strings.Contains(s, "kban-") {
		t.Errorf("after removing the limits:\n%s", s)
	}
	if out, err := l.d.cli("status", "limit-api"); err == nil {
		t.Errorf("status limit-api after its removal: %s", out)
	}
}

// TestLimitsWithBaseline: with a baseline in force the daemon sends the
// baseline and the limits in one transaction at reload (internal/limits
// TestBaselineAndLimitsOneTransaction counts the transactions); both layers
// are then in the kernel as configured, changed together, and the limits
// stay when the baseline is turned off.
func TestLimitsWithBaseline(t *testing.T) {
	l := newLimitLab(t)
	list := func() string {
		out, _ := l.srv.Exec(context.Background(), "nft", "list", "table", "inet", "rampart")
		return out
	}
	base, err := os.ReadFile(l.cfg)
	if err != nil {
		t.Fatal(err)
	}
	head, _, _ := strings.Cut(string(base), "[limits.api]")
	write := func(rest string) {
		t.Helper()
		if err := os.WriteFile(l.cfg, []byte(head+rest), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := l.d.cli("reload"); err != nil {
			t.Fatalf("reload: %v %s", err, out)
		}
	}
	write("[baseline]\nenabled = true\nallow = [\"22/tcp\", \"9000/tcp\"]\n\n[limits.api]\nport = \"9000/tcp\"\nrate = \"7/second\"\n")
	s := list()
	if !strings.Contains(s, "chain policy-input") || !strings.Contains(s, "tcp dport 9000 accept") ||
		!strings.Contains(s, "chain limits-input") || !strings.Contains(s, "limit rate over 7/second") {
		t.Fatalf("after the reload with a baseline:\n%s", s)
	}
	write("[baseline]\nenabled = true\nallow = [\"22/tcp\", \"9000/tcp\", \"9001/tcp\"]\n\n[limits.api]\nport = \"9000/tcp\"\nrate = \"9/second\"\n")
	s = list()
	if !strings.Contains(s, "tcp dport 9001 accept") || !strings.Contains(s, "limit rate over 9/second") || strings.Contains(s, "limit rate over 7/second") {
		t.Errorf("after changing both:\n%s", s)
	}
	l.d.status(t, "limit-api")
	// The baseline off (and its chain removed) with the limits kept.
	write("[limits.api]\nport = \"9000/tcp\"\nrate = \"11/second\"\n")
	s = list()
	if strings.Contains(s, "chain policy-input") || !strings.Contains(s, "limit rate over 11/second") {
		t.Errorf("after turning the baseline off:\n%s", s)
	}
}
