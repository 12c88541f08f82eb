package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/netns"
)

// listConfig writes rampart.toml with one sshd jail (ignoreip) and the
// lists (name -> file), on firewall fw.
func listConfig(t *testing.T, dir, fw, ignore string, lists map[string]string) (path, sock string) {
	t.Helper()
	path, sock = writeConfig(t, dir, "flush", jailConf{Name: "sshd", LogPath: filepath.Join(dir, "auth.log"), MaxRetry: 3,
		Extra: fmt.Sprintf("ignoreip = [\"127.0.0.1/8\"%s]\n", ignore)})
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(text), `firewall = "nftables"`, fmt.Sprintf("firewall = %q", fw), 1)
	for name, file := range lists {
		s += fmt.Sprintf("\n[blocklists.%s]\nfile = %q\nevery = \"1m\"\n", name, file)
	}
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, sock
}

// TestBlocklistReload: SIGHUP applies [blocklists] changes: a list added
// is put in force, one removed leaves the kernel (rules and sets), one
// whose file changed is replaced, a new ignoreip is cut out of the lists
// left in place; removing every list leaves no list set behind.
func TestBlocklistReload(t *testing.T) {
	netns.SkipUnlessRoot(t)
	needRampart(t)
	ns := netns.New(t, "blkr")
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a1 := write("a1.txt", "192.0.2.0/25\n")
	a2 := write("a2.txt", "192.0.2.128/25\n")
	b := write("b.txt", "198.51.100.0/24\n")
	c := write("c.txt", "203.0.113.5\n")
	os.WriteFile(filepath.Join(dir, "auth.log"), nil, 0o640)
	cfg, sock := listConfig(t, dir, "nftables", "", map[string]string{"a": a1, "b": b})
	d := startDaemon(t, t, ns, sock, "--config", cfg)
	table := func() string {
		out, _ := ns.Exec(context.Background(), "nft", "list", "table", "inet", "rampart")
		return out
	}
	if !waitFor(15*time.Second, func() bool {
		s := table()
		return strings.Contains(s, "192.0.2.0/25") && strings.Contains(s, "198.51.100.0/24")
	}) {
		t.Fatalf("lists a and b not in the kernel:\n%s\n%s", table(), d.p.out.String())
	}

	// a's file changes, b goes, c comes, 192.0.2.200 becomes an ignoreip.
	listConfig(t, dir, "nftables", `, "192.0.2.200"`, map[string]string{"a": a2, "c": c})
	if err := d.p.signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	ok := waitFor(15*time.Second, func() bool {
		s := table()
		return strings.Contains(s, "203.0.113.5") && !strings.Contains(s, "list-b-") &&
			strings.Contains(s, "192.0.2.128-192.0.2.199") && strings.Contains(s, "192.0.2.201-192.0.2.255") &&
			!strings.Contains(s, "192.0.2.0/25")
	})
	if !ok {
		t.Fatalf("after SIGHUP: want a = 192.0.2.128/25 less 192.0.2.200, c = 203.0.113.5, no b:\n%s\n%s", table(), indent(d.p.out.String()))
	}
	if out, err := d.cli("why", "203.0.113.5"); err != nil || !strings.Contains(out, "on blocklist c") {
		t.Errorf("why 203.0.113.5 after the reload: %v\n%s", err, out)
	}
	if out, _ := d.cli("why", "198.51.100.7"); strings.Contains(out, "on blocklist") {
		t.Errorf("why 198.51.100.7 names a list after b was removed:\n%s", out)
	}
	// The kernel enforces it: the rules point at the sets in force.
	rules, _ := ns.Exec(context.Background(), "nft", "list", "chain", "inet", "rampart", "lists")
	if strings.Contains(rules, "list-b-") || !strings.Contains(rules, "list-c-v4") || !strings.Contains(rules, "list-a-v4") {
		t.Errorf("the lists chain after the reload:\n%s", rules)
	}

	// Every list removed: no list set or rule is left.
	listConfig(t, dir, "nftables", "", nil)
	if err := d.p.signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if !waitFor(15*time.Second, func() bool { return !strings.Contains(table(), "list-") }) {
		t.Errorf("lists left in the kernel after all were removed:\n%s", table())
	}
	if !strings.Contains(d.p.out.String(), "blocklist removed") {
		t.Errorf("no log line for the removed lists:\n%s", indent(d.p.out.String()))
	}
}

// TestBlocklistIptablesRefused: with the iptables backend, [blocklists]
// are refused with an ERROR line naming the fix, at start and on reload,
// and nothing of them reaches the kernel; the daemon keeps running.
func TestBlocklistIptablesRefused(t *testing.T) {
	netns.SkipUnlessRoot(t)
	needRampart(t)
	for _, tool := range []string{"iptables", "ipset"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (scripts/deps.sh installs it)", tool)
		}
	}
	ns := netns.New(t, "blki")
	dir := t.TempDir()
	a := filepath.Join(dir, "a.txt")
	os.WriteFile(a, []byte("192.0.2.0/25\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "auth.log"), nil, 0o640)
	cfg, sock := listConfig(t, dir, "iptables", "", map[string]string{"a": a})
	d := startDaemon(t, t, ns, sock, "--config", cfg)
	refused := func() int { return strings.Count(d.p.out.String(), "blocklists: REFUSED") }
	if !waitFor(10*time.Second, func() bool { return refused() == 1 }) {
		t.Fatalf("no refusal at start:\n%s", indent(d.p.out.String()))
	}
	line := d.p.out.String()
	if !strings.Contains(line, `firewall = \"nftables\"`) && !strings.Contains(line, `firewall = "nftables"`) {
		t.Errorf("the refusal does not name the fix:\n%s", indent(line))
	}
	listConfig(t, dir, "iptables", "", map[string]string{"a": a, "b": a})
	if err := d.p.signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if !waitFor(10*time.Second, func() bool { return refused() == 2 }) {
		t.Fatalf("no refusal on reload:\n%s", indent(d.p.out.String()))
	}
	if out, _ := ns.Exec(context.Background(), "nft", "list", "ruleset"); strings.Contains(out, "list-a") || strings.Contains(out, "192.0.2.0/25") {
		t.Errorf("a refused list reached the kernel:\n%s", out)
	}
	if _, err := d.cli("ping"); err != nil {
		t.Errorf("the daemon stopped answering: %v", err)
	}
}
