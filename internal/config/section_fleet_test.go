package config

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestFleetSection(t *testing.T) {
	c, err := LoadBytes("x.toml", []byte(`
[fleet]
enabled = true
servers = ["nats://10.0.0.5:4222", "nats://10.0.0.6:4222"]
user = "rampart"
password_file = "/etc/rampart/fleet.secret"
node = "web-1"
share = ["sshd"]
accept_from = ["web-*"]
min_prefix_v4 = 24
max_age = "7d"
ignoreip = ["10.0.0.0/8", "192.0.2.7"]
`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := c.Fleet
	if !f.Enabled || len(f.Servers) != 2 || f.User != "rampart" || f.PasswordFile != "/etc/rampart/fleet.secret" || f.Node != "web-1" ||
		f.Share[0] != "sshd" || f.AcceptFrom[0] != "web-*" || f.MinPrefixV4 != 24 || f.MinPrefixV6 != 32 || f.MaxAge != 7*24*time.Hour ||
		f.MaxPerMinute != 60000 || f.Outbox != 100000 || f.Stream != "RAMPART_BANS" ||
		len(f.IgnoreIP) != 2 || f.IgnoreIP[1] != netip.MustParsePrefix("192.0.2.7/32") {
		t.Errorf("decoded [fleet] = %+v", f)
	}
	def, err := LoadBytes("x.toml", nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if def.Fleet.Enabled || def.Fleet.AcceptFrom[0] != "*" {
		t.Errorf("default [fleet] = %+v", def.Fleet)
	}
}

func TestFleetSectionErrors(t *testing.T) {
	for src, want := range map[string]string{
		"[fleet]\nenabled = true\n":                                            "needs servers",
		"[fleet]\nservers = [\"10.0.0.5:4222\"]\n":                             "not a URL",
		"[fleet]\nnode = \"web.1\"\n":                                          "letters, digits",
		"[fleet]\npassword_file = \"/x\"\n":                                    "needs user",
		"[fleet]\nmin_prefix_v4 = 40\n":                                        "",
		"[fleet]\nignoreip = [\"example.org\"]\n":                              "host names",
		"[fleet]\nserver = [\"nats://x:4222\"]\n":                              "did you mean",
		"[fleet]\nenabled = true\nservers = [\"nats://x:1\"]\ncert = \"/c\"\n": "cert and key",
	} {
		_, err := LoadBytes("x.toml", []byte(src), Options{})
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "x.toml:") {
			t.Errorf("LoadBytes(%q) = %v, want an error naming x.toml and %q", src, err, want)
		}
	}
}
