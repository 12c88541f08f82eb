package nft

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/firewall"
	"github.com/rampart-ids/rampart/internal/netns"
)

var pfx = netip.MustParsePrefix

// listen opens a TCP listener in ns that accepts and closes connections
// until the test ends, and returns its port.
func listen(t *testing.T, ns *netns.NS, network, addr string) uint16 {
	t.Helper()
	var ln net.Listener
	if err := ns.Do(func() (err error) { ln, err = net.Listen(network, addr); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return uint16(ln.Addr().(*net.TCPAddr).Port)
}

// dial connects from ns to addr:port and reports the error, if any.
func dial(ns *netns.NS, addr string, port uint16) error {
	return ns.Do(func() error {
		c, err := net.DialTimeout("tcp", net.JoinHostPort(addr, strconv.Itoa(int(port))), 400*time.Millisecond)
		if err != nil {
			return err
		}
		return c.Close()
	})
}

// topology is a server namespace with an attacker and a client on separate
// links, both over IPv4 and IPv6.
type topology struct {
	server, attacker, client *netns.NS
	backend                  *Backend
}

func newTopology(t *testing.T) *topology {
	netns.SkipUnlessRoot(t)
	tp := &topology{
		server:   netns.New(t, "srv"),
		attacker: netns.New(t, "atk"),
		client:   netns.New(t, "cli"),
	}
	netns.Link(t, tp.server, tp.attacker,
		[]netip.Prefix{pfx("192.0.2.1/24"), pfx("2001:db8:b::1/64")},
		[]netip.Prefix{pfx("192.0.2.2/24"), pfx("2001:db8:b::2/64")})
	netns.Link(t, tp.server, tp.client,
		[]netip.Prefix{pfx("198.51.100.1/24"), pfx("2001:db8:c::1/64")},
		[]netip.Prefix{pfx("198.51.100.2/24"), pfx("2001:db8:c::2/64")})
	tp.backend = New(Options{NetNS: tp.server.Fd()})
	return tp
}

// TestTrafficBlocked bans the attacker in the server's namespace and checks
// real TCP connections: the attacker is blocked, the client is not, and the
// unban lets the attacker in again. IPv6 bans the attacker's /64 so the
// interval sets are exercised too.
func TestTrafficBlocked(t *testing.T) {
	tp := newTopology(t)
	ctx := context.Background()
	port := listen(t, tp.server, "tcp", "[::]:0")
	for _, tc := range []struct {
		name           string
		action         firewall.Action
		ban            netip.Prefix
		server, client string // addresses the attacker and the client dial
	}{
		{"ipv4-drop", firewall.Drop, pfx("192.0.2.2/32"), "192.0.2.1", "198.51.100.1"},
		{"ipv4-reject", firewall.Reject, pfx("192.0.2.2/32"), "192.0.2.1", "198.51.100.1"},
		{"ipv6-drop", firewall.Drop, pfx("2001:db8:b::/64"), "2001:db8:b::1", "2001:db8:c::1"},
		{"ipv6-reject", firewall.Reject, pfx("2001:db8:b::2/128"), "2001:db8:b::1", "2001:db8:c::1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			jails := []firewall.JailSpec{{Name: "sshd", Ports: []firewall.PortRange{{First: port, Last: port}}, Protocols: []string{"tcp"}, Action: tc.action}}
			if err := tp.backend.Setup(ctx, jails); err != nil {
				t.Fatal(err)
			}
			ban := firewall.Ban{Jail: "sshd", Prefix: tc.ban, Timeout: time.Hour}
			if err := dial(tp.attacker, tc.server, port); err != nil {
				t.Fatalf("attacker before the ban: %v", err)
			}
			if err := tp.backend.Apply(ctx, firewall.Change{Add: []firewall.Ban{ban}}); err != nil {
				t.Fatal(err)
			}
			err := dial(tp.attacker, tc.server, port)
			if err == nil {
				t.Fatalf("attacker connected while banned")
			}
			if refused := errors.Is(err, syscall.ECONNREFUSED); refused != (tc.action == firewall.Reject) {
				t.Errorf("banned attacker's error = %v; want refused (TCP reset) only for reject", err)
			}
			if err := dial(tp.client, tc.client, port); err != nil {
				t.Errorf("client while the attacker is banned: %v", err)
			}
			if err := tp.backend.Apply(ctx, firewall.Change{Remove: []firewall.Ban{ban}}); err != nil {
				t.Fatal(err)
			}
			if err := dial(tp.attacker, tc.server, port); err != nil {
				t.Errorf("attacker after the unban: %v", err)
			}
		})
	}
}

// TestTrafficOtherPortsOpen checks that a port-scoped ban leaves the
// attacker's other connections alone while an all-ports jail blocks them.
func TestTrafficOtherPortsOpen(t *testing.T) {
	tp := newTopology(t)
	ctx := context.Background()
	guarded := listen(t, tp.server, "tcp", "[::]:0")
	other := listen(t, tp.server, "tcp", "[::]:0")
	jails := []firewall.JailSpec{
		{Name: "sshd", Ports: []firewall.PortRange{{First: guarded, Last: guarded}}},
		{Name: "recidive"},
	}
	if err := tp.backend.Setup(ctx, jails); err != nil {
		t.Fatal(err)
	}
	ban := firewall.Ban{Jail: "sshd", Prefix: pfx("192.0.2.2/32"), Timeout: time.Hour}
	if err := tp.backend.Apply(ctx, firewall.Change{Add: []firewall.Ban{ban}}); err != nil {
		t.Fatal(err)
	}
	if err := dial(tp.attacker, "192.0.2.1", guarded); err == nil {
		t.Errorf("attacker reached the guarded port")
	}
	if err := dial(tp.attacker, "192.0.2.1", other); err != nil {
		t.Errorf("attacker could not reach another port: %v", err)
	}
	ban.Jail = "recidive"
	if err := tp.backend.Apply(ctx, firewall.Change{Add: []firewall.Ban{ban}}); err != nil {
		t.Fatal(err)
	}
	if err := dial(tp.attacker, "192.0.2.1", other); err == nil {
		t.Errorf("attacker reached another port despite the all-ports ban")
	}
}

// TestTrafficPublishedPort reproduces Docker's published ports: the server
// DNATs its port 8080 to a "container" namespace behind it, so the traffic
// is forwarded, never delivered locally. A ban on port 8080 must block it.
func TestTrafficPublishedPort(t *testing.T) {
	tp := newTopology(t)
	ctx := context.Background()
	ctr := netns.New(t, "ctr")
	netns.Link(t, tp.server, ctr, []netip.Prefix{pfx("203.0.113.1/24")}, []netip.Prefix{pfx("203.0.113.2/24")})
	ctr.MustExec(t, "ip", "route", "add", "default", "via", "203.0.113.1")
	// /proc/sys/net is per namespace: this enables forwarding in the server only.
	tp.server.MustExec(t, "sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward")
	port := listen(t, ctr, "tcp4", "203.0.113.2:0")
	// What dockerd does, in the server's namespace only.
	tp.server.MustExec(t, "nft", fmt.Sprintf(`add table ip dockerish
add chain ip dockerish prerouting { type nat hook prerouting priority dstnat; }
add rule ip dockerish prerouting tcp dport 8080 dnat to 203.0.113.2:%d`, port))

	if err := dial(tp.attacker, "192.0.2.1", 8080); err != nil {
		t.Fatalf("attacker before the ban, through DNAT: %v", err)
	}
	jails := []firewall.JailSpec{{Name: "web", Ports: []firewall.PortRange{{First: 8080, Last: 8080}}, Protocols: []string{"tcp"}, Action: firewall.Reject}}
	if err := tp.backend.Setup(ctx, jails); err != nil {
		t.Fatal(err)
	}
	if err := tp.backend.Apply(ctx, firewall.Change{Add: []firewall.Ban{{Jail: "web", Prefix: pfx("192.0.2.2/32"), Timeout: time.Hour}}}); err != nil {
		t.Fatal(err)
	}
	if err := dial(tp.attacker, "192.0.2.1", 8080); err == nil {
		t.Errorf("banned attacker reached the published port")
	}
	if err := dial(tp.client, "198.51.100.1", 8080); err != nil {
		t.Errorf("client could not reach the published port: %v", err)
	}
}

// TestKernelRefusalIsNamed makes the kernel refuse one element of a batch
// (a network overlapping one already banned) and checks that it alone is
// named while the rest of the batch lands.
func TestKernelRefusalIsNamed(t *testing.T) {
	b, _ := newInNS(t, "nftrefuse")
	ctx := context.Background()
	if err := b.Setup(ctx, []firewall.JailSpec{{Name: "sshd"}}); err != nil {
		t.Fatal(err)
	}
	existing := firewall.Ban{Jail: "sshd", Prefix: pfx("198.51.100.0/24"), Timeout: time.Hour}
	if err := b.Apply(ctx, firewall.Change{Add: []firewall.Ban{existing}}); err != nil {
		t.Fatal(err)
	}
	overlap := firewall.Ban{Jail: "sshd", Prefix: pfx("198.51.100.128/25"), Timeout: time.Hour}
	var add []firewall.Ban
	for i := range 40 {
		add = append(add, firewall.Ban{Jail: "sshd", Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{203, 0, 113, byte(i)}), 32), Timeout: time.Hour})
		if i == 17 {
			add = append(add, overlap, firewall.Ban{Jail: "sshd", Prefix: pfx("2001:db8:7::/48"), Timeout: time.Hour})
		}
	}
	err := b.Apply(ctx, firewall.Change{Add: add})
	var be *firewall.BatchError
	if !errors.As(err, &be) || len(be.Failed) != 1 || be.Failed[0].Ban != overlap {
		t.Fatalf("Apply = %v; want a BatchError naming only %v", err, overlap)
	}
	got, err := b.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := len(add) - 1 + 1; len(got) != want { // all but the overlap, plus the existing /24
		t.Errorf("List = %d bans, want %d", len(got), want)
	}
}
