package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHostCommands: accept and check a fixture root through the CLI, with
// --json; a new sudoers rule and a new account are reported; a tampered
// baseline is refused (exit 2).
func TestHostCommands(t *testing.T) {
	root := t.TempDir()
	put := func(p, data string) {
		t.Helper()
		full := filepath.Join(root, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	put("etc/passwd", "root:x:0:0:root:/root:/bin/bash\n")
	put("etc/sudoers", "root ALL=(ALL:ALL) ALL\n")
	conf := filepath.Join(t.TempDir(), "rampart.toml")
	os.WriteFile(conf, []byte("[host]\nsuid_paths = [\"/usr\"]\n"), 0o644)
	bl := filepath.Join(t.TempDir(), "host.baseline")
	base := []string{"--config", conf, "--root", root, "--baseline", bl}
	if code, out, errs := runCLI(t, append([]string{"host", "accept", "accounts", "sudoers"}, base...)...); code != 0 || !strings.Contains(out, "2 items from 2 collectors") {
		t.Fatalf("accept: %d %q %q", code, out, errs)
	}
	if code, out, errs := runCLI(t, append([]string{"host", "check", "accounts", "sudoers"}, base...)...); code != 0 {
		t.Fatalf("check unchanged: %d %q %q", code, out, errs)
	}
	put("etc/passwd", "root:x:0:0:root:/root:/bin/bash\nbackup:x:0:0::/:/bin/sh\n")
	put("etc/sudoers.d/x", "backup ALL=(ALL) NOPASSWD: ALL\n")
	code, out, errs := runCLI(t, append([]string{"host", "check", "accounts", "sudoers", "--json"}, base...)...)
	if code != 1 {
		t.Fatalf("check: exit %d, want 1; %q %q", code, out, errs)
	}
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var c struct{ Collector, Kind, Key, Severity string }
		if err := json.Unmarshal([]byte(l), &c); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		got = append(got, c.Severity+" "+c.Collector+" "+c.Kind+" "+c.Key)
	}
	want := "critical accounts new backup|critical sudoers new /etc/sudoers.d/x: backup ALL=(ALL) NOPASSWD: ALL"
	if strings.Join(got, "|") != want {
		t.Fatalf("got %q\nwant %q", strings.Join(got, "|"), want)
	}
	data, _ := os.ReadFile(bl)
	os.WriteFile(bl, data[:len(data)-10], 0o600)
	if code, _, errs := runCLI(t, append([]string{"host", "check"}, base...)...); code != 2 || !strings.Contains(errs, "truncated or changed outside rampart") {
		t.Fatalf("truncated baseline: exit %d, %q", code, errs)
	}
}
