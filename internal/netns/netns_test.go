package netns_test

import (
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/rampart-ids/rampart/internal/netns"
)

func TestLinkAndDo(t *testing.T) {
	netns.SkipUnlessRoot(t)
	a, b := netns.New(t, "nsa"), netns.New(t, "nsb")
	netns.Link(t, a, b,
		[]netip.Prefix{netip.MustParsePrefix("203.0.113.1/24"), netip.MustParsePrefix("2001:db8::1/64")},
		[]netip.Prefix{netip.MustParsePrefix("203.0.113.2/24"), netip.MustParsePrefix("2001:db8::2/64")})

	for _, tc := range []struct{ name, listen, dial string }{
		{"ipv4", "203.0.113.1:0", "203.0.113.1"},
		{"ipv6", "[2001:db8::1]:0", "2001:db8::1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ln net.Listener
			if err := a.Do(func() (err error) { ln, err = net.Listen("tcp", tc.listen); return err }); err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			go func() {
				c, err := ln.Accept()
				if err == nil {
					c.Write([]byte("hi"))
					c.Close()
				}
			}()
			_, port, _ := net.SplitHostPort(ln.Addr().String())
			var got string
			err := b.Do(func() error {
				c, err := net.Dial("tcp", net.JoinHostPort(tc.dial, port))
				if err != nil {
					return err
				}
				defer c.Close()
				buf := make([]byte, 2)
				_, err = c.Read(buf)
				got = string(buf)
				return err
			})
			if err != nil || got != "hi" {
				t.Fatalf("dial from b = %q, %v; want \"hi\"", got, err)
			}
		})
	}

	// The calling thread is back in the host namespace: b's address is not here.
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, ad := range addrs {
		if strings.HasPrefix(ad.String(), "203.0.113.2/") {
			t.Errorf("host has %s: Do leaked the namespace", ad)
		}
	}
	out := b.MustExec(t, "ip", "-br", "addr")
	if !strings.Contains(out, "203.0.113.2/24") {
		t.Errorf("ip addr in b = %q, want 203.0.113.2/24", out)
	}
}
