package config

import (
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestLimitsSection(t *testing.T) {
	for _, tc := range []struct{ name, toml, err string }{
		{"none", "", ""},
		{"full", "[limits.api]\nport = \"9000/tcp\"\nmax_conn = 20\nrate = \"30/minute\"\nbantime = \"10m\"\n", ""},
		{"no port", "[limits.api]\nmax_conn = 20\n", "x.toml:1: limits.api: port is missing"},
		{"no limit", "[limits.api]\nport = \"9000/tcp\"\n", "set max_conn"},
		{"bad proto", "[limits.api]\nport = \"9000/sctp\"\nmax_conn = 3\n", "x.toml:2: limits.api.port: \"9000/sctp\": write PORT/tcp or PORT/udp"},
		{"bad rate", "[limits.api]\nport = \"9000/tcp\"\nrate = \"30/fortnight\"\n", "x.toml:3: limits.api.rate: \"30/fortnight\": unknown unit"},
		{"bad name", "[limits.\"a.b\"]\nport = \"9000/tcp\"\nmax_conn = 3\n", "may hold only letters"},
		{"short bantime", "[limits.api]\nport = \"9000/tcp\"\nmax_conn = 3\nbantime = \"5s\"\n", "between 1m and 30d"},
		{"typo", "[limits.api]\nport = \"9000/tcp\"\nmax_con = 3\n", `did you mean "max_conn"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := LoadBytes("x.toml", []byte(tc.toml), Options{})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("LoadBytes = %v, want an error containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadBytes = %v", err)
			}
			if tc.name == "full" {
				want := Limit{Name: "api", Port: 9000, Protocol: "tcp", MaxConn: 20, Rate: 30, Per: time.Minute,
					BanTime: 10 * time.Minute, IPv4Prefix: 32, IPv6Prefix: 64, Increment: jailDefaults().Increment}
				if len(c.Limits) != 1 || !reflect.DeepEqual(c.Limits[0], want) {
					t.Errorf("Limits = %+v, want %+v", c.Limits, want)
				}
			}
		})
	}
}

func TestPortscanSection(t *testing.T) {
	c, err := LoadBytes("x.toml", []byte("[defaults]\nignoreip = [\"198.51.100.0/24\"]\n[portscan]\nenabled = true\nports = 5\nignore = [\"192.0.2.10\"]\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := c.Portscan
	if !p.Enabled || p.Ports != 5 || p.Within != 10*time.Second || p.BanTime != time.Hour || p.NflogGroup != 4760 {
		t.Errorf("Portscan = %+v", p)
	}
	want := []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("192.0.2.10/32")}
	if got := p.AllIgnored(); !slices.Equal(got, want) {
		t.Errorf("AllIgnored = %v, want %v", got, want)
	}
	for _, tc := range []struct{ toml, err string }{
		{"[portscan]\nports = 1\n", "x.toml:2: portscan.ports: 1 is out of range"},
		{"[portscan]\nignore = [\"scanner.example.org\"]\n", "give an address or CIDR"},
		{"[portscan]\nwithin = \"2d\"\n", "between 1s and 1d"},
		{"[portscan]\nnflog_group = 0\n", "out of range"},
	} {
		if _, err := LoadBytes("x.toml", []byte(tc.toml), Options{}); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%q: LoadBytes = %v, want an error containing %q", tc.toml, err, tc.err)
		}
	}
}
