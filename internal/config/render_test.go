package config

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// golden compares got with testdata/name, rewriting it when UPDATE_GOLDEN=1.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if os.Getenv("UPDATE_GOLDEN") == "1" {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with UPDATE_GOLDEN=1 to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

const richConfig = `
[daemon]
metrics_listen = "127.0.0.1:9731"
firewall = "nftables"
[defaults]
ignoreip = ["192.0.2.0/24", "trusted.example.org"]
[jails.sshd]
mode = "aggressive"
port = "ssh,2222"
bantime = "1h"
[jails.sshd.increment]
enabled = true
multipliers = [1, 2, 4, 8]
maxtime = "5w"
[jails.recidive]
enabled = true
backend = "polling"
logpath = "/var/log/rampart.log"
banaction = "nftables-allports"
bantime = -1
findtime = "1d"
protocol = "all"
ipv6_prefix = 64
`

func TestShow(t *testing.T) {
	c, err := LoadBytes("rich.toml", []byte(richConfig), Options{SkipFileChecks: true})
	if err != nil {
		t.Fatal(err)
	}
	tomlOut, err := c.TOML()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "show.toml", tomlOut)
	jsonOut, err := c.JSON()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "show.json", jsonOut)

	// What show prints loads back to the same configuration.
	back, err := LoadBytes("show.toml", tomlOut, Options{SkipFileChecks: true})
	if err != nil {
		t.Fatalf("loading show output: %v", err)
	}
	opts := []cmp.Option{cmpopts.EquateComparable(netip.Prefix{}), cmpopts.IgnoreFields(Config{}, "Files", "Warnings")}
	if diff := cmp.Diff(c, back, opts...); diff != "" {
		t.Errorf("show output loads differently (-orig +reloaded):\n%s", diff)
	}
}

func BenchmarkLoadBytes(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := LoadBytes("rich.toml", []byte(richConfig), Options{SkipFileChecks: true}); err != nil {
			b.Fatal(err)
		}
	}
}
