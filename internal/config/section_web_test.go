package config

import (
	"strings"
	"testing"
)

func TestWebSection(t *testing.T) {
	for _, tc := range []struct{ name, toml, err string }{
		{"off by default", "", ""},
		{"loopback", "[web]\nlisten = \"127.0.0.1:9191\"\n", ""},
		{"loopback v6", "[web]\nlisten = \"[::1]:9191\"\n", ""},
		{"all addresses without TLS", "[web]\nlisten = \":9191\"\n", "x.toml:2: web.listen: \":9191\" is not a loopback address"},
		{"public without TLS", "[web]\nlisten = \"192.0.2.1:443\"\n", "is not a loopback address"},
		{"public with TLS", "[web]\nlisten = \"192.0.2.1:443\"\ntls_cert = \"/etc/rampart/web.crt\"\ntls_key = \"/etc/rampart/web.key\"\n", ""},
		{"cert without key", "[web]\ntls_cert = \"/etc/rampart/web.crt\"\n", "give both tls_cert and tls_key"},
		{"relative cert", "[web]\ntls_cert = \"web.crt\"\ntls_key = \"/k\"\n", "must be an absolute path"},
		{"bad port", "[web]\nlisten = \"127.0.0.1:0\"\n", "has no valid port"},
		{"short session", "[web]\nsession = \"1m\"\n", "between 5m and 7d"},
		{"typo", "[web]\nlisen = \"127.0.0.1:9191\"\n", `did you mean "listen"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := LoadBytes("x.toml", []byte(tc.toml), Options{})
			if tc.err == "" {
				if err != nil {
					t.Fatalf("LoadBytes = %v", err)
				}
				if c.Web.Session == 0 {
					t.Errorf("session has no default")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("LoadBytes = %v, want an error containing %q", err, tc.err)
			}
		})
	}
}
