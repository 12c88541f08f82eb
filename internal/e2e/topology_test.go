package e2e

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/netns"
)

// topology is a server namespace with two neighbours on separate links: the
// attacker, which holds many addresses so that every scenario attacks from a
// fresh one, and a legitimate client.
//
//	attacker 192.0.2.10-49, 2001:db8:1::10-49  ──  192.0.2.1, 2001:db8:1::1  server
//	client   198.51.100.2,  2001:db8:2::2      ──  198.51.100.1, 2001:db8:2::1
type topology struct {
	server, attacker, client *netns.NS
}

// attackerAddrs is how many addresses per family the attacker holds.
const attackerAddrs = 40

var (
	serverV4 = netip.MustParseAddr("192.0.2.1")
	serverV6 = netip.MustParseAddr("2001:db8:1::1")
	// serverV4c and serverV6c are the server's addresses on the client link.
	serverV4c = netip.MustParseAddr("198.51.100.1")
	serverV6c = netip.MustParseAddr("2001:db8:2::1")
	clientV4  = netip.MustParseAddr("198.51.100.2")
	clientV6  = netip.MustParseAddr("2001:db8:2::2")
)

// attackerAddr returns the attacker's i-th address (0 <= i < attackerAddrs)
// of the family: 192.0.2.(10+i) or 2001:db8:1::(10+i) (hex).
func attackerAddr(i int, v6 bool) netip.Addr {
	if i < 0 || i >= attackerAddrs {
		panic(fmt.Sprintf("attacker address %d out of range", i))
	}
	if v6 {
		return netip.MustParseAddr(fmt.Sprintf("2001:db8:1::%x", 0x10+i))
	}
	return netip.AddrFrom4([4]byte{192, 0, 2, byte(10 + i)})
}

func newTopology(t *testing.T) *topology {
	t.Helper()
	netns.SkipUnlessRoot(t)
	tp := &topology{
		server:   netns.New(t, "srv"),
		attacker: netns.New(t, "atk"),
		client:   netns.New(t, "cli"),
	}
	var atk []netip.Prefix
	for i := range attackerAddrs {
		atk = append(atk, netip.PrefixFrom(attackerAddr(i, false), 24), netip.PrefixFrom(attackerAddr(i, true), 64))
	}
	netns.Link(t, tp.server, tp.attacker,
		[]netip.Prefix{netip.PrefixFrom(serverV4, 24), netip.PrefixFrom(serverV6, 64)}, atk)
	netns.Link(t, tp.server, tp.client,
		[]netip.Prefix{netip.PrefixFrom(serverV4c, 24), netip.PrefixFrom(serverV6c, 64)},
		[]netip.Prefix{netip.PrefixFrom(clientV4, 24), netip.PrefixFrom(clientV6, 64)})
	return tp
}

// dialFrom opens a TCP connection from ns, with source address src (the
// zero Addr lets the kernel choose), to dst. The socket stays in ns.
func dialFrom(ns *netns.NS, src netip.Addr, dst netip.AddrPort, timeout time.Duration) (net.Conn, error) {
	d := net.Dialer{Timeout: timeout}
	if src.IsValid() {
		d.LocalAddr = &net.TCPAddr{IP: src.AsSlice()}
	}
	var c net.Conn
	err := ns.Do(func() (err error) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		c, err = d.DialContext(ctx, "tcp", dst.String())
		return err
	})
	return c, err
}

// canConnect reports whether a TCP connection from ns (source src) to dst
// is accepted within timeout; a ban drops the SYN, so a ban shows as false.
func canConnect(ns *netns.NS, src netip.Addr, dst netip.AddrPort, timeout time.Duration) bool {
	c, err := dialFrom(ns, src, dst, timeout)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
