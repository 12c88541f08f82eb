package config

import (
	"strings"
	"testing"
)

func TestBaselineSection(t *testing.T) {
	c, err := LoadBytes("b.toml", []byte(`[baseline]
enabled = true
allow = ["2222/tcp", "60000-61000/udp"]
allow_from = { "9100/tcp" = ["192.0.2.7/24", "2001:db8::1"] }
icmp = false
`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := c.Baseline
	if !b.Enabled || b.ICMP || b.DHCP != "auto" || len(b.Allow) != 2 || b.Allow[1].String() != "60000-61000/udp" {
		t.Fatalf("baseline = %+v", b)
	}
	if len(b.AllowFrom) != 1 || b.AllowFrom[0].Port.String() != "9100/tcp" ||
		b.AllowFrom[0].Sources[0].String() != "192.0.2.0/24" || b.AllowFrom[0].Sources[1].String() != "2001:db8::1/128" {
		t.Fatalf("allow_from = %+v", b.AllowFrom)
	}
}

func TestBaselineErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"[baseline]\nallow = [\"22\"]\n", `b.toml:2: baseline.allow: "22": write PORT/PROTO, e.g. "22/tcp"`},
		{"[baseline]\n\nallow = [\"22/sctp\"]\n", `b.toml:3: baseline.allow: "22/sctp": the protocol must be tcp or udp`},
		{"[baseline]\nallow = [\"90-80/tcp\"]\n", `the range ends before it starts (write 80-90/tcp)`},
		{"[baseline]\nallow = [\"0/tcp\"]\n", `"0" is not a port number (1 … 65535)`},
		{"[baseline]\nallow_from = { \"9100/tcp\" = [\"example.org\"] }\n", `b.toml:2: baseline.allow_from."9100/tcp": "example.org": not an address or CIDR`},
		{"[baseline]\nallow_from = { \"9100/tcp\" = [] }\n", `lists no network; add one ("192.0.2.0/24") or move 9100/tcp to allow`},
		{"[baseline]\nallow_from = [\"9100/tcp\"]\n", `b.toml:2: baseline.allow_from`},
		{"[baseline]\nallow_from = { \"22/tcp\" = [\"::ffff:192.0.2.0/120\"] }\n", `write the IPv4 network`},
		{"[baseline]\ndhcp = \"maybe\"\n", `b.toml:2: baseline.dhcp`},
		{"[baseline]\nallw = []\n", `b.toml:2: baseline.allw: unknown key`},
	} {
		_, err := LoadBytes("b.toml", []byte(tc.src), Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want it to contain %q", tc.src, err, tc.want)
		}
	}
}
