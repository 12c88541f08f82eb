package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/control"
	"github.com/rampart-ids/rampart/internal/netns"
	"github.com/rampart-ids/rampart/internal/origin"
)

// scanLab is the topology with a daemon enforcing [portscan] on the
// server (no baseline: the open ports are the listening sockets) and
// socat serving TCP 8080 and UDP 5353 on IPv4 and IPv6.
type scanLab struct {
	*topology
	d    *daemon
	cfg  string
	dir  string
	pcfg string
}

// portscanConf is the [portscan] table the lab starts with; the ignored
// source is the attacker's address 30.
var portscanConf = fmt.Sprintf("[portscan]\nenabled = true\nports = 12\nwithin = \"10s\"\nbantime = \"1h\"\nignore = [%q]\n",
	attackerAddr(30, false).String())

func newScanLab(t *testing.T) *scanLab {
	return newScanLabWith(t, "", "tcp dport 8080 return", "udp dport 5353 return")
}

// newScanLabWith starts the lab with extra configuration and waits until
// the chain holds every rule of want.
func newScanLabWith(t *testing.T, extra string, want ...string) *scanLab {
	t.Helper()
	netns.SkipUnlessRoot(t)
	for _, b := range []string{"nmap", "socat", "nft"} {
		if _, err := exec.LookPath(b); err != nil {
			pkg := b
			if b == "nft" {
				pkg = "nftables"
			}
			t.Skipf("skipping: %s is not installed (apt-get install %s; scripts/deps.sh installs it)", b, pkg)
		}
	}
	l := &scanLab{topology: newTopology(t), dir: t.TempDir()}
	// The answer waits for the question: with a bare "echo pong" the
	// child could exit before socat handed it the datagram, and socat
	// then died of EPIPE without relaying the answer (seen under load).
	for _, a := range []string{"TCP6-LISTEN:8080,fork,reuseaddr,ipv6only=0", "UDP6-RECVFROM:5353,fork,reuseaddr,ipv6only=0"} {
		startProc(t, "socat "+a, l.server.Command(context.Background(), "socat", a, "SYSTEM:read x; echo pong"))
	}
	var sock string
	l.cfg, sock = writeConfig(t, l.dir, "keep")
	if extra != "" {
		f, err := os.OpenFile(l.cfg, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.WriteString(extra)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	l.writePortscan(t, portscanConf)
	l.d = startDaemon(t, t, l.server, sock, "--config", l.cfg)
	// The chain is in force once it names the open ports.
	if !waitFor(10*time.Second, func() bool {
		out, err := l.server.Exec(context.Background(), "nft", "list", "chain", "inet", "rampart", "portscan")
		for _, w := range want {
			if !strings.Contains(out, w) {
				return false
			}
		}
		return err == nil
	}) {
		out, _ := l.server.Exec(context.Background(), "nft", "list", "ruleset")
		t.Fatalf("the port-scan chain does not list the listening ports:\n%s\ndaemon:\n%s", out, indent(l.d.p.out.String()))
	}
	return l
}

// writePortscan rewrites the configuration with pcfg as its [portscan].
func (l *scanLab) writePortscan(t *testing.T, pcfg string) {
	t.Helper()
	base, err := os.ReadFile(l.cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := string(base)
	if l.pcfg != "" {
		s = strings.TrimSuffix(s, l.pcfg)
	}
	l.pcfg = pcfg
	if err := os.WriteFile(l.cfg, []byte(s+pcfg), 0o600); err != nil {
		t.Fatal(err)
	}
}

// bans returns `rampart banned --json` by prefix.
func (l *scanLab) bans(t *testing.T) map[netip.Prefix]control.BannedEntry {
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

// kernelBanned reports whether a is in the portscan jail's kernel set.
func (l *scanLab) kernelBanned(a netip.Addr) bool {
	set := "ban-portscan-v4"
	if a.Is6() {
		set = "ban-portscan-v6"
	}
	m, err := kernelSet(l.server, set)
	return err == nil && m[single(a)]
}

// nmap starts nmap in the attacker namespace from source src against
// dst; the returned func stops it.
func (l *scanLab) nmap(t *testing.T, src, dst netip.Addr, args ...string) func() string {
	t.Helper()
	argv := []string{"nmap", "-n", "-Pn", "-T4", "-e", "eth0", "-S", src.String()}
	if dst.Is6() {
		argv = append(argv, "-6")
	}
	argv = append(append(argv, args...), dst.String())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	cmd := l.attacker.Command(ctx, argv...)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	stopped := false
	stop := func() string {
		if !stopped {
			stopped = true
			cancel()
			_ = cmd.Wait()
		}
		return out.String()
	}
	t.Cleanup(func() { stop() })
	return stop
}

// nmapRun runs nmap to its end (see nmap).
func (l *scanLab) nmapRun(t *testing.T, src, dst netip.Addr, args ...string) {
	t.Helper()
	argv := []string{"nmap", "-n", "-Pn", "-T4", "-e", "eth0", "-S", src.String()}
	if dst.Is6() {
		argv = append(argv, "-6")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if out, err := l.attacker.Exec(ctx, append(append(argv, args...), dst.String())...); err != nil {
		t.Fatalf("nmap: %v\n%s", err, out)
	}
}

// TestPortscanNmap runs nmap's SYN, connect, FIN and UDP scans (top ports)
// from fresh attacker addresses: each is banned within 5 s of the scan's
// start, by the portscan jail with origin "kernel portscan", and the good
// client keeps reaching the open ports over IPv4 and IPv6 throughout.
func TestPortscanNmap(t *testing.T) {
	l := newScanLab(t)
	scans := []struct {
		name string
		src  netip.Addr
		dst  netip.Addr
		args []string
	}{
		{"syn", attackerAddr(0, false), serverV4, []string{"-sS", "--top-ports", "200"}},
		{"connect", attackerAddr(1, false), serverV4, []string{"-sT", "--top-ports", "200"}},
		{"fin", attackerAddr(2, false), serverV4, []string{"-sF", "--top-ports", "200"}},
		{"udp", attackerAddr(3, false), serverV4, []string{"-sU", "--top-ports", "200"}},
		{"syn-ipv6", attackerAddr(4, true), serverV6, []string{"-sS", "--top-ports", "200"}},
		{"null", attackerAddr(5, false), serverV4, []string{"-sN", "--top-ports", "200"}},
		{"xmas", attackerAddr(6, false), serverV4, []string{"-sX", "--top-ports", "200"}},
	}
	for _, sc := range scans {
		t.Run(sc.name, func(t *testing.T) {
			start := time.Now()
			stop := l.nmap(t, sc.src, sc.dst, sc.args...)
			ok := waitFor(5*time.Second, func() bool { return l.kernelBanned(sc.src) })
			took := time.Since(start)
			out := stop()
			if !ok {
				t.Fatalf("%s scan from %s: not banned in the kernel within 5 s of its start\nnmap:\n%s\ndaemon:\n%s", sc.name, sc.src, indent(out), indent(l.d.p.out.String()))
			}
			t.Logf("%s scan from %s banned %v after its start", sc.name, sc.src, took.Round(time.Millisecond))
			b, ok := l.bans(t)[single(sc.src)]
			if !ok || b.Jail != "portscan" || b.Origin != (origin.Origin{Kind: origin.Kernel, Name: "portscan"}) {
				t.Errorf("banned --json for %s: %+v (present %v); want jail portscan, origin kernel portscan", sc.src, b, ok)
			}
			if !b.Until.After(time.Now().Add(50 * time.Minute)) {
				t.Errorf("ban until %v: want bantime 1h", b.Until)
			}
			// The good client still reaches the open ports.
			l.goodClientReaches(t)
		})
	}
	st := l.d.status(t, "portscan")
	if st.BannedNow < len(scans) || st.Filter != "portscan" {
		t.Errorf("status portscan: %+v", st)
	}
	if bans := l.bans(t); len(bans) != len(scans) {
		t.Errorf("banned: %v; want exactly the %d scanners (the good client is not banned)", bans, len(scans))
	}
}

// goodClientReaches checks TCP 8080 and UDP 5353 from the client, IPv4
// and IPv6.
func (l *scanLab) goodClientReaches(t *testing.T) {
	t.Helper()
	for _, dst := range []netip.Addr{serverV4c, serverV6c} {
		if !canConnect(l.client, netip.Addr{}, netip.AddrPortFrom(dst, 8080), 2*time.Second) {
			t.Errorf("the good client cannot reach %s", netip.AddrPortFrom(dst, 8080))
		}
		out, err := l.client.Exec(context.Background(), "sh", "-c", "echo ping | socat -T 2 - UDP:"+netip.AddrPortFrom(dst, 5353).String())
		if err != nil || !strings.Contains(out, "pong") {
			t.Errorf("the good client gets no UDP answer from %s: %q %v", netip.AddrPortFrom(dst, 5353), out, err)
		}
	}
}

// TestPortscanUnderThreshold: a source that tries 11 closed ports (one
// fewer than ports), or one closed port many times, is never banned; an
// ignored source scanning 200 ports is never banned; an unban works on a
// scanner's ban and lets it in again, and its next scan is banned longer.
func TestPortscanUnderThreshold(t *testing.T) {
	l := newScanLabWith(t, "[defaults]\nincrement = { enabled = true }\n", "tcp dport 8080 return", "udp dport 5353 return")
	few, again, ignored := attackerAddr(10, false), attackerAddr(11, true), attackerAddr(30, false)
	l.nmapRun(t, few, serverV4, "-sS", "-p", "1-11")
	// One closed port tried 30 times (connect attempts, new source ports).
	for range 30 {
		_, _ = l.attacker.Exec(context.Background(), "socat", "-u", "OPEN:/dev/null",
			fmt.Sprintf("TCP6:[%s]:9999,bind=[%s],connect-timeout=1", serverV6, again))
	}
	l.nmapRun(t, ignored, serverV4, "-sS", "--top-ports", "200")
	time.Sleep(2 * time.Second)
	bans := l.bans(t)
	for _, a := range []netip.Addr{few, again, ignored} {
		if _, ok := bans[single(a)]; ok || l.kernelBanned(a) {
			t.Errorf("%s was banned: %v", a, bans)
		}
	}
	// The 12th distinct port bans the source that tried 11.
	l.nmapRun(t, few, serverV4, "-sS", "-p", "12")
	if !waitFor(3*time.Second, func() bool { return l.kernelBanned(few) }) {
		t.Fatalf("%s tried its 12th closed port and is not banned\n%s", few, indent(l.d.p.out.String()))
	}
	if !canConnect(l.client, netip.Addr{}, netip.AddrPortFrom(serverV4c, 8080), 2*time.Second) {
		t.Error("the good client lost port 8080")
	}
	if _, err := l.d.cli("unban", few.String()); err != nil {
		t.Fatal(err)
	}
	if !waitFor(3*time.Second, func() bool { return !l.kernelBanned(few) }) {
		t.Errorf("unban did not lift %s in the kernel", few)
	}
	if !canConnect(l.attacker, few, netip.AddrPortFrom(serverV4, 8080), 2*time.Second) {
		t.Errorf("%s cannot connect after its unban", few)
	}
	// A repeat scanner is banned longer (bantime.increment). The jail drops
	// findings stamped at or before the second of the address's last ban
	// (log lines read again): scan again in a later second.
	time.Sleep(1100 * time.Millisecond)
	l.nmapRun(t, few, serverV4, "-sS", "-p", "100-120")
	if !waitFor(3*time.Second, func() bool { return l.kernelBanned(few) }) {
		t.Fatalf("the second scan of %s was not banned", few)
	}
	b := l.bans(t)[single(few)]
	if b.Count != 2 || !b.Until.After(time.Now().Add(90*time.Minute)) {
		t.Errorf("second ban of %s: count %d until %v; want count 2 and a longer ban than 1h", few, b.Count, b.Until)
	}
}

// TestPortscanReload: the chain comes back after nft flush ruleset; a
// reload applies a changed [portscan] (a lower threshold) and turning it
// off removes the chain while its bans stay.
func TestPortscanReload(t *testing.T) {
	l := newScanLab(t)
	// A flushed ruleset loses the chain; the daemon puts it back.
	l.server.MustExec(t, "nft", "flush", "ruleset")
	if !waitFor(5*time.Second, func() bool {
		out, err := l.server.Exec(context.Background(), "nft", "list", "chain", "inet", "rampart", "portscan")
		return err == nil && strings.Contains(out, "tcp dport 8080 return") && strings.Contains(out, "log prefix")
	}) {
		t.Fatalf("the port-scan chain was not restored after nft flush ruleset\n%s", indent(l.d.p.out.String()))
	}
	if !waitFor(2*time.Second, func() bool {
		return strings.Contains(l.d.p.out.String(), "port-scan chain was removed or changed from outside; restored")
	}) {
		t.Errorf("the restore was not logged:\n%s", indent(l.d.p.out.String()))
	}
	src := attackerAddr(20, false)
	l.writePortscan(t, strings.Replace(portscanConf, "ports = 12", "ports = 4", 1))
	if _, err := l.d.cli("reload"); err != nil {
		t.Fatal(err)
	}
	l.nmapRun(t, src, serverV4, "-sS", "-p", "1-4")
	if !waitFor(3*time.Second, func() bool { return l.kernelBanned(src) }) {
		t.Fatalf("after a reload to ports = 4, 4 closed ports did not ban\n%s", indent(l.d.p.out.String()))
	}
	l.writePortscan(t, "[portscan]\nenabled = false\n")
	if _, err := l.d.cli("reload"); err != nil {
		t.Fatal(err)
	}
	if !waitFor(3*time.Second, func() bool {
		_, err := l.server.Exec(context.Background(), "nft", "list", "chain", "inet", "rampart", "portscan")
		return err != nil
	}) {
		t.Error("[portscan] turned off: the chain is still there")
	}
	// The ban stays, enforced in the manual sets (its jail is gone).
	if _, ok := l.bans(t)[single(src)]; !ok {
		t.Error("the ban made before the reload was lost")
	}
	if m, err := kernelSet(l.server, "ban-manual-v4"); err != nil || !m[single(src)] {
		t.Errorf("the ban made before the reload is not enforced: ban-manual-v4 %v %v", m, err)
	}
}

// TestPortscanWithBaseline: with [baseline] enforced, the open ports are
// the baseline's (a port the baseline allows but nothing serves is open; a
// listening port it does not allow is closed), FIN probes that conntrack
// finds invalid are still seen before the baseline drops them, and the
// good client keeps its allowed ports.
func TestPortscanWithBaseline(t *testing.T) {
	l := newScanLabWith(t, "[baseline]\nenabled = true\nallow = [\"22/tcp\", \"8080/tcp\", \"9100/tcp\", \"5353/udp\"]\n",
		"tcp dport 22 return", "tcp dport 8080 return", "tcp dport 9100 return", "udp dport 5353 return")
	startProc(t, "socat 9999", l.server.Command(context.Background(), "socat", "TCP6-LISTEN:9999,fork,reuseaddr,ipv6only=0", "SYSTEM:echo pong"))
	time.Sleep(1500 * time.Millisecond) // a listening-socket refresh, which must not open 9999
	out, err := l.server.Exec(context.Background(), "nft", "list", "chain", "inet", "rampart", "portscan")
	if err != nil || strings.Contains(out, "9999") {
		t.Errorf("with a baseline, the chain follows listening sockets: %v\n%s", err, out)
	}
	src := attackerAddr(25, false)
	start := time.Now()
	stop := l.nmap(t, src, serverV4, "-sF", "--top-ports", "200")
	ok := waitFor(5*time.Second, func() bool { return l.kernelBanned(src) })
	nm := stop()
	if !ok {
		t.Fatalf("FIN scan under the baseline: not banned within 5 s\nnmap:\n%s\ndaemon:\n%s", indent(nm), indent(l.d.p.out.String()))
	}
	t.Logf("FIN scan under the baseline banned %v after its start", time.Since(start).Round(time.Millisecond))
	l.goodClientReaches(t)
	if canConnect(l.client, netip.Addr{}, netip.AddrPortFrom(serverV4c, 9999), time.Second) {
		t.Error("the baseline let the good client reach 9999, which it does not allow")
	}
}
