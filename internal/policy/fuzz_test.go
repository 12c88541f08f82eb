package policy

import (
	"testing"
)

// FuzzParseRule: a rule either fails or writes back as the same text.
func FuzzParseRule(f *testing.F) {
	for _, s := range []string{"tcp dport 22 accept", "ip saddr 192.0.2.0/24 tcp dport 9100 accept", "ip6 saddr 2001:db8::/32 udp dport 1-2 accept", "icmpv6 type packet-too-big accept", "icmp type 99 accept", "ct state invalid drop"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRule(s)
		if err != nil {
			return
		}
		if r.String() != s {
			t.Fatalf("ParseRule(%q).String() = %q", s, r.String())
		}
		if len(r.exprs()) == 0 {
			t.Fatalf("ParseRule(%q) renders nothing", s)
		}
	})
}

// FuzzParsePending: a damaged pending file is refused, never half read.
func FuzzParsePending(f *testing.F) {
	f.Add([]byte(`{"id":"x","deadline":"2026-01-01T00:00:00Z","previous":{"enabled":true,"rules":[{"kind":"port","port":{"proto":"tcp","from":22,"to":22}}]},"applied":{"enabled":false,"rules":null}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePending(data)
		if err != nil {
			return
		}
		for _, r := range append(p.Previous.Rules, p.Applied.Rules...) {
			if _, err := ParseRule(r.String()); err != nil {
				t.Fatalf("accepted a rule that does not parse back: %+v", r)
			}
		}
	})
}

// FuzzParseListeners: /proc/net/tcp lines never crash the parser.
func FuzzParseListeners(f *testing.F) {
	f.Add([]byte("   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, port := range ParseListeners(data) {
			if port == 0 {
				t.Fatal("port 0")
			}
		}
	})
}

// FuzzParseSockets: /proc/net/udp lines (state 07) never crash the parser,
// and only sockets in that state come out.
func FuzzParseSockets(f *testing.F) {
	f.Add([]byte("   0: 00000000:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1005 2 0 0\n"), "07")
	f.Add([]byte("   1: 0100007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1006 2 0 0\n"), "0A")
	f.Fuzz(func(t *testing.T, data []byte, state string) {
		got := ParseSockets(data, state)
		for _, port := range got {
			if port == 0 {
				t.Fatal("port 0")
			}
		}
		if state == "0A" && len(got) != len(ParseListeners(data)) {
			t.Fatal("ParseListeners is not ParseSockets(data, \"0A\")")
		}
	})
}
