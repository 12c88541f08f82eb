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

// TestBlocklist: a list served over HTTP by a real server in the daemon's
// namespace is put in force as nftables interval sets (merged, ignoreip cut
// out), `rampart why` names it, it comes back after `nft flush ruleset`, and
// a restart with the server gone still enforces the saved copy.
func TestBlocklist(t *testing.T) {
	netns.SkipUnlessRoot(t)
	needRampart(t)
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not installed (scripts/deps.sh installs it)")
	}
	ns := netns.New(t, "blk")
	dir := t.TempDir()
	www := filepath.Join(dir, "www")
	os.MkdirAll(www, 0o755)
	os.WriteFile(filepath.Join(www, "drop.txt"), []byte("; a DROP-style list\n192.0.2.0/25 ; SBL1\n192.0.2.128/25 ; SBL2\n198.51.100.7\n2001:db8:bad::/48\nnot-an-address\n"), 0o644)
	srv := startProcOwned(t, t, "http.server", ns.Command(context.Background(), "python3", "-m", "http.server", "--bind", "127.0.0.1", "--directory", www, "8088"))
	if !waitFor(10*time.Second, func() bool {
		_, err := ns.Exec(context.Background(), "python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8088/drop.txt')")
		return err == nil
	}) {
		t.Fatal("the list server did not answer")
	}
	cfg, sock := writeConfig(t, dir, "keep", jailConf{Name: "sshd", LogPath: filepath.Join(dir, "auth.log"), MaxRetry: 3, Extra: "ignoreip = [\"127.0.0.1/8\", \"192.0.2.77\"]\n"})
	f, _ := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	fmt.Fprintf(f, "\n[blocklists.drop]\nurl = \"http://127.0.0.1:8088/drop.txt\"\nevery = \"1m\"\n")
	f.Close()
	os.WriteFile(filepath.Join(dir, "auth.log"), nil, 0o640)
	d := startDaemon(t, t, ns, sock, "--config", cfg)
	setText := func() string {
		out, _ := ns.Exec(context.Background(), "nft", "list", "chain", "inet", "rampart", "lists")
		if strings.Contains(out, "@list-drop-v4") {
			out, _ = ns.Exec(context.Background(), "nft", "list", "table", "inet", "rampart")
		}
		return out
	}
	if !waitFor(10*time.Second, func() bool { return strings.Contains(setText(), "198.51.100.7") }) {
		t.Fatalf("list not in the kernel:\n%s\n%s", setText(), d.p.out.String())
	}
	v4 := setText()
	for _, want := range []string{"192.0.2.0-192.0.2.76", "192.0.2.78-192.0.2.255", "198.51.100.7"} {
		if !strings.Contains(v4, want) {
			t.Errorf("the list's IPv4 set lacks %s (192.0.2.77 is an ignoreip, cut out):\n%s", want, v4)
		}
	}
	if !strings.Contains(v4, "2001:db8:bad::/48") {
		t.Errorf("the list's IPv6 set lacks 2001:db8:bad::/48:\n%s", v4)
	}
	out, err := d.cli("why", "192.0.2.200")
	if err != nil || !strings.Contains(out, "on blocklist drop") {
		t.Errorf("why 192.0.2.200: %v\n%s", err, out)
	}
	if out, _ := d.cli("why", "192.0.2.77"); strings.Contains(out, "on blocklist") {
		t.Errorf("why 192.0.2.77 (ignoreip) names a list:\n%s", out)
	}
	// Flushed from outside: restored by the periodic check (30 s).
	ns.MustExec(t, "nft", "flush", "ruleset")
	if !waitFor(45*time.Second, func() bool { return strings.Contains(setText(), "198.51.100.7") }) {
		t.Errorf("the list was not restored after nft flush ruleset:\n%s", d.p.out.String())
	}
	// The server goes away and rampart restarts: the saved copy is in force.
	srv.stop(syscall.SIGTERM, 5*time.Second)
	d.p.stop(syscall.SIGTERM, 10*time.Second)
	ns.MustExec(t, "nft", "flush", "ruleset")
	d = startDaemon(t, t, ns, sock, "--config", cfg)
	if !waitFor(10*time.Second, func() bool { return strings.Contains(setText(), "198.51.100.7") }) {
		t.Errorf("after a restart without the server the saved copy is not in force:\n%s", d.p.out.String())
	}
}
