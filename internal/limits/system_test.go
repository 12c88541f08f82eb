package limits

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/netns"
)

// lab is a server namespace with a socat listener on 9000/tcp (IPv4 and
// IPv6; each connection held open for 30 s), an attacker namespace and a
// good client's namespace, each on its own link:
//
//	attacker 192.0.2.10, 2001:db8:1::10 (and ::11, the same /64) ── server 192.0.2.1, 2001:db8:1::1
//	good     198.51.100.10, 2001:db8:2::10                     ── server 198.51.100.1, 2001:db8:2::1
type lab struct {
	srv, bad, good *netns.NS
	k              Kernel

	mu   sync.Mutex
	hits []Hit
}

func need(t *testing.T, tools ...string) {
	t.Helper()
	netns.SkipUnlessRoot(t)
	for _, b := range append([]string{"nft", "socat"}, tools...) {
		if _, err := exec.LookPath(b); err != nil {
			t.Skipf("skipping: %s is not installed (package %s; run scripts/deps.sh)", b, b)
		}
	}
}

func newLab(t *testing.T) *lab {
	t.Helper()
	l := &lab{srv: netns.New(t, "lsrv"), bad: netns.New(t, "lbad"), good: netns.New(t, "lgood")}
	netns.Link(t, l.bad, l.srv,
		[]netip.Prefix{netip.MustParsePrefix("192.0.2.10/24"), netip.MustParsePrefix("2001:db8:1::10/64"), netip.MustParsePrefix("2001:db8:1::11/64")},
		[]netip.Prefix{netip.MustParsePrefix("192.0.2.1/24"), netip.MustParsePrefix("2001:db8:1::1/64")})
	netns.Link(t, l.good, l.srv,
		[]netip.Prefix{netip.MustParsePrefix("198.51.100.10/24"), netip.MustParsePrefix("2001:db8:2::10/64")},
		[]netip.Prefix{netip.MustParsePrefix("198.51.100.1/24"), netip.MustParsePrefix("2001:db8:2::1/64")})
	l.k = Kernel{NetNS: l.srv.Fd()}
	cmd := l.srv.Command(context.Background(), "socat", "TCP6-LISTEN:9000,fork,reuseaddr,ipv6only=0,backlog=128", "SYSTEM:sleep 30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	waitFor(t, "socat listener", func() bool {
		c, err := l.dial(l.good, "198.51.100.10", "198.51.100.1")
		if c != nil {
			c.Close()
		}
		return err == nil
	})
	return l
}

// listen reads the server's NFLOG group into l.hits until the test ends.
func (l *lab) listen(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan struct{})
	go func() {
		done <- l.srv.Do(func() error {
			close(ready)
			return Listen(ctx, func(h Hit) {
				l.mu.Lock()
				l.hits = append(l.hits, h)
				l.mu.Unlock()
			}, func(err error) { t.Logf("nflog: %v", err) })
		})
	}()
	<-ready
	time.Sleep(200 * time.Millisecond) // the group is bound
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Listen: %v", err)
		}
	})
}

func (l *lab) hitFor(p netip.Prefix) (Hit, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, h := range l.hits {
		if p.Contains(h.Addr) {
			return h, true
		}
	}
	return Hit{}, false
}

// dial connects from ns's address from to the server's to on 9000.
func (l *lab) dial(ns *netns.NS, from, to string) (net.Conn, error) {
	var c net.Conn
	err := ns.Do(func() error {
		// Past the first SYN retransmission (1 s): on a loaded machine
		// socat's fork and exec can be slow to accept.
		d := net.Dialer{Timeout: 1500 * time.Millisecond, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
		var err error
		c, err = d.Dial("tcp", net.JoinHostPort(to, "9000"))
		return err
	})
	return c, err
}

// banned lists a kernel ban set (read with nft -j).
func (l *lab) banned(t *testing.T, limit string, v6 bool) map[netip.Prefix]bool {
	t.Helper()
	s, err := l.srv.NftSet(TableName, BanSet(limit, v6))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

var (
	bad4 = netip.MustParsePrefix("192.0.2.10/32")
	bad6 = netip.MustParsePrefix("2001:db8:1::/64")
	// bad6Elem is bad6 as nft lists the ban set's element (a masked address).
	bad6Elem = netip.MustParsePrefix("2001:db8:1::/128")
	good4    = netip.MustParsePrefix("198.51.100.10/32")
)

// goodClient makes 5 connections, each closed at once: never banned.
func (l *lab) goodClient(t *testing.T) {
	t.Helper()
	for i, pair := range [][2]string{{"198.51.100.10", "198.51.100.1"}, {"2001:db8:2::10", "2001:db8:2::1"}} {
		for n := range 5 {
			c, err := l.dial(l.good, pair[0], pair[1])
			if err != nil {
				t.Fatalf("good client %s, connection %d of 5: %v", pair[0], n+1, err)
			}
			c.Close()
		}
		if got := l.banned(t, "api", i == 1); len(got) > 0 && (got[good4] || got[netip.MustParsePrefix("2001:db8:2::/64")]) {
			t.Fatalf("good client banned: %v", got)
		}
	}
}

// TestRateFlood: an hping3 SYN flood (bounded by -c) over rate is banned
// by the kernel itself, logged once to the NFLOG group; IPv6 sources are
// counted and banned per /64 (two addresses of one /64 share the count);
// a good client's 5 connections pass; Unban lets the source back in.
func TestRateFlood(t *testing.T) {
	need(t, "hping3")
	l := newLab(t)
	l.listen(t)
	lim := Limit{Name: "api", Port: 9000, Protocol: "tcp", Rate: 30, Per: time.Minute, BanTime: 10 * time.Minute, IPv4Prefix: 32, IPv6Prefix: 64}
	if err := l.k.Apply([]Limit{lim}); err != nil {
		t.Fatal(err)
	}
	l.goodClient(t)

	// hping3's --flood ignores -c: a 100 µs interval bounds the run
	// (3000 SYNs in about 0.3 s), and the context bounds it again.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := l.bad.Exec(ctx, "hping3", "-S", "-p", "9000", "-i", "u100", "-c", "3000", "-q", "192.0.2.1")
	if err != nil && !strings.Contains(out, "packets transmitted") {
		t.Fatalf("hping3: %v", err)
	}
	waitFor(t, "the kernel's IPv4 ban", func() bool { return l.banned(t, "api", false)[bad4] })
	waitFor(t, "the logged IPv4 ban", func() bool { _, ok := l.hitFor(bad4); return ok })
	if h, _ := l.hitFor(bad4); h.Limit != "api" || h.Reason != ReasonRate {
		t.Errorf("hit = %+v, want limit api, reason rate", h)
	}
	if c, err := l.dial(l.bad, "192.0.2.10", "192.0.2.1"); err == nil {
		c.Close()
		t.Error("a banned IPv4 source still connects")
	}

	// IPv6: 20 connections from ::10, then from ::11 of the same /64.
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	refused := 0
	for _, from := range []string{"2001:db8:1::10", "2001:db8:1::11"} {
		for range 20 {
			c, err := l.dial(l.bad, from, "2001:db8:1::1")
			if err != nil {
				refused++
				continue
			}
			c.Close()
		}
	}
	if refused < 9 {
		t.Errorf("40 connections from one /64 at rate 30/minute: %d refused, want at least 9", refused)
	}
	if got := l.banned(t, "api", true); !got[bad6Elem] || len(got) != 1 {
		t.Errorf("IPv6 ban set = %v, want exactly %s", got, bad6Elem)
	}
	waitFor(t, "the logged IPv6 ban", func() bool { _, ok := l.hitFor(bad6); return ok })
	l.goodClient(t)

	bans, err := l.k.Bans([]Limit{lim})
	if err != nil {
		t.Fatal(err)
	}
	found := map[netip.Prefix]bool{}
	for _, b := range bans {
		found[b.Prefix] = b.Limit == "api" && b.Expires > 9*time.Minute && b.Expires <= 10*time.Minute
	}
	if len(found) != 2 || !found[bad4] || !found[bad6] {
		t.Errorf("Bans = %+v, want %s and %s with ~10m left", bans, bad4, bad6)
	}
	// Logged once per source: the ban rule comes first (a few packets in
	// flight may still cross the limit rule).
	l.mu.Lock()
	n := len(l.hits)
	l.mu.Unlock()
	if n > 20 {
		t.Errorf("%d packets logged for 2 bans under a flood of 3000: the ban rule does not stop them", n)
	}

	if err := l.k.Unban(lim, bad4); err != nil {
		t.Fatal(err)
	}
	if err := l.k.Unban(lim, netip.MustParsePrefix("2001:db8:1::11/128")); err != nil {
		t.Fatal(err)
	}
	if got := l.banned(t, "api", false); got[bad4] {
		t.Error("unban left the IPv4 element")
	}
	if got := l.banned(t, "api", true); len(got) != 0 {
		t.Errorf("unban of an address of the /64 left %v", got)
	}
	// The rate bucket refills at one per 2 s: wait for a token.
	time.Sleep(2100 * time.Millisecond)
	c, err := l.dial(l.bad, "192.0.2.10", "192.0.2.1")
	if err != nil {
		t.Fatalf("after unban: %v", err)
	}
	c.Close()
}

// TestMaxConn: a source holding max_conn connections open may not open
// one more (socat holds every open connection for 30 s); the one that crosses
// is banned, IPv4 and IPv6; a good client is not.
func TestMaxConn(t *testing.T) {
	need(t)
	l := newLab(t)
	l.listen(t)
	lim := Limit{Name: "api", Port: 9000, Protocol: "tcp", MaxConn: 8, BanTime: time.Hour, IPv4Prefix: 32, IPv6Prefix: 64}
	if err := l.k.Apply([]Limit{lim}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		from, to string
		p        netip.Prefix
	}{{"192.0.2.10", "192.0.2.1", bad4}, {"2001:db8:1::10", "2001:db8:1::1", bad6Elem}} {
		var held []net.Conn
		for i := range 8 {
			conn, err := l.dial(l.bad, c.from, c.to)
			if err != nil {
				st, _ := l.srv.Exec(context.Background(), "nft", "list", "table", "inet", TableName)
				ct, _ := l.srv.Exec(context.Background(), "conntrack", "-L")
				t.Fatalf("%s: connection %d of max_conn 8: %v\n%s\n%s", c.from, i+1, err, st, ct)
			}
			held = append(held, conn)
		}
		if got := l.banned(t, "api", c.p.Addr().Is6()); len(got) != 0 {
			t.Fatalf("banned at max_conn: %v", got)
		}
		if conn, err := l.dial(l.bad, c.from, c.to); err == nil {
			conn.Close()
			t.Errorf("%s: a 9th concurrent connection got through", c.from)
		}
		waitFor(t, "the kernel's ban of "+c.p.String(), func() bool { return l.banned(t, "api", c.p.Addr().Is6())[c.p] })
		waitFor(t, "the logged ban", func() bool { h, ok := l.hitFor(lim.Prefix(c.p.Addr())); return ok && h.Reason == ReasonConn })
		for _, h := range held {
			h.Close()
		}
	}
	// A good client's 5 connections (socat closes each 0.5 s after the
	// client: they overlap, under max_conn).
	l.goodClient(t)
}

// nftRules is `nft list chain` without handles and the table's frame.
func nftRules(t *testing.T, ns *netns.NS) string {
	t.Helper()
	out := ns.MustExec(t, "nft", "list", "chain", "inet", TableName, ChainName)
	return regexp.MustCompile(`\s+`).ReplaceAllString(out, " ")
}

// TestRulesAsNftWritesThem compares the rules Apply sends with what nft
// itself makes of the rules written in its own language.
func TestRulesAsNftWritesThem(t *testing.T) {
	need(t)
	ns := netns.New(t, "lcmp")
	ref := netns.New(t, "lref")
	lim := Limit{Name: "api", Port: 9000, Protocol: "tcp", MaxConn: 20, Rate: 30, Per: time.Minute, BanTime: 10 * time.Minute, IPv4Prefix: 32, IPv6Prefix: 64}
	if err := (Kernel{NetNS: ns.Fd()}).Apply([]Limit{lim}); err != nil {
		t.Fatal(err)
	}
	p6 := "ip6 saddr & ffff:ffff:ffff:ffff::"
	conn := func(fam, src string) string {
		return fmt.Sprintf(`meta nfproto %s tcp dport 9000 ct state new add @lconn-api-%s { %s ct count over 20 } add @kban-api-%s { %s } log prefix "rampart-limit api conn" group 4761 drop comment "rampart-limits"`,
			map[string]string{"v4": "ipv4", "v6": "ipv6"}[fam], fam, src, fam, src)
	}
	rate := func(fam, src string) string {
		return fmt.Sprintf(`meta nfproto %s tcp dport 9000 ct state new update @lrate-api-%s { %s limit rate over 30/minute burst 29 packets } add @kban-api-%s { %s } log prefix "rampart-limit api rate" group 4761 drop comment "rampart-limits"`,
			map[string]string{"v4": "ipv4", "v6": "ipv6"}[fam], fam, src, fam, src)
	}
	script := fmt.Sprintf(`table inet rampart {
  set kban-api-v4 { type ipv4_addr; size 65535; flags dynamic,timeout; timeout 10m; }
  set lconn-api-v4 { type ipv4_addr; size 65535; flags dynamic; }
  set lrate-api-v4 { type ipv4_addr; size 65535; flags dynamic,timeout; timeout 1m; }
  set kban-api-v6 { type ipv6_addr; size 65535; flags dynamic,timeout; timeout 10m; }
  set lconn-api-v6 { type ipv6_addr; size 65535; flags dynamic; }
  set lrate-api-v6 { type ipv6_addr; size 65535; flags dynamic,timeout; timeout 1m; }
  chain limits-input {
    type filter hook input priority -10; policy accept;
    meta nfproto ipv4 tcp dport 9000 ip saddr @kban-api-v4 drop comment "rampart-limits"
    %s
    %s
    meta nfproto ipv6 tcp dport 9000 %s @kban-api-v6 drop comment "rampart-limits"
    %s
    %s
  }
}
`, conn("v4", "ip saddr"), rate("v4", "ip saddr"), p6, conn("v6", p6), rate("v6", p6))
	cmd := ref.Command(context.Background(), "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nft -f: %v\n%s\n%s", err, out, script)
	}
	if got, want := nftRules(t, ns), nftRules(t, ref); got != want {
		t.Errorf("rampart's rules differ from nft's:\n got  %s\n want %s", got, want)
	}
	for _, set := range []string{"kban-api-v4", "lconn-api-v6", "lrate-api-v4"} {
		got := ns.MustExec(t, "nft", "list", "set", "inet", TableName, set)
		want := ref.MustExec(t, "nft", "list", "set", "inet", TableName, set)
		if got != want {
			t.Errorf("set %s:\n got %s\nwant %s", set, got, want)
		}
	}
}

// TestUDPRate: a UDP limit counts new flows (each source port is a new
// conntrack entry): 40 flows in a second at 10/minute ban the source.
func TestUDPRate(t *testing.T) {
	need(t)
	l := newLab(t)
	l.listen(t)
	lim := Limit{Name: "dns", Port: 5353, Protocol: "udp", Rate: 10, Per: time.Minute, BanTime: time.Hour, IPv4Prefix: 32, IPv6Prefix: 64}
	if err := l.k.Apply([]Limit{lim}); err != nil {
		t.Fatal(err)
	}
	send := func(ns *netns.NS, from, to string, n int) {
		t.Helper()
		err := ns.Do(func() error {
			for range n {
				c, err := net.DialUDP("udp", &net.UDPAddr{IP: net.ParseIP(from)}, &net.UDPAddr{IP: net.ParseIP(to), Port: 5353})
				if err != nil {
					return err
				}
				_, err = c.Write([]byte("x"))
				c.Close()
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	send(l.good, "198.51.100.10", "198.51.100.1", 5)
	send(l.bad, "192.0.2.10", "192.0.2.1", 40)
	waitFor(t, "the kernel's UDP ban", func() bool { return l.banned(t, "dns", false)[bad4] })
	waitFor(t, "the logged UDP ban", func() bool { h, ok := l.hitFor(bad4); return ok && h.Limit == "dns" })
	if got := l.banned(t, "dns", false); got[good4] {
		t.Errorf("the good client's 5 flows were banned: %v", got)
	}
}
