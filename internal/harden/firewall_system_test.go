package harden_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/netns"
)

// binDir is the directory rampartBin built into, removed by TestMain.
var binDir string

// rampartBin builds cmd/rampart once: the firewall area must run inside the
// server namespace, where /proc/net and nftables are that namespace's.
var rampartBin = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "rampart-harden-bin-")
	if err != nil {
		return "", err
	}
	binDir = dir
	bin := filepath.Join(dir, "rampart")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/rampart-ids/rampart/cmd/rampart").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v: %s", err, out)
	}
	return bin, nil
})

// TestMain removes the binary rampartBin built.
func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

type fwLab struct {
	srv, cli *netns.NS
	dir, bin string
	cfg      string
}

var srvAddr = netip.MustParseAddr("192.0.2.1")

func newFwLab(t *testing.T) *fwLab {
	t.Helper()
	netns.SkipUnlessRoot(t)
	for _, b := range []string{"socat", "nft"} {
		if _, err := exec.LookPath(b); err != nil {
			t.Skipf("skipping: %s is not installed (run scripts/deps.sh)", b)
		}
	}
	bin, err := rampartBin()
	if err != nil {
		t.Fatal(err)
	}
	l := &fwLab{srv: netns.New(t, "hsrv"), cli: netns.New(t, "hcli"), dir: t.TempDir(), bin: bin}
	netns.Link(t, l.srv, l.cli,
		[]netip.Prefix{netip.MustParsePrefix("192.0.2.1/24")},
		[]netip.Prefix{netip.MustParsePrefix("192.0.2.2/24")})
	l.cfg = filepath.Join(l.dir, "rampart.toml")
	src := fmt.Sprintf("[daemon]\nstate_dir = %q\n\n[baseline]\ndhcp = \"no\"\n", filepath.Join(l.dir, "state"))
	if err := os.WriteFile(l.cfg, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	l.listen(t, 8080)
	waitUntil(t, "listener on 8080", func() bool { return l.reach(8080) })
	return l
}

func (l *fwLab) listen(t *testing.T, port int) {
	cmd := l.srv.Command(context.Background(), "socat", fmt.Sprintf("TCP4-LISTEN:%d,fork,reuseaddr", port), "SYSTEM:echo pong")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
}

func (l *fwLab) reach(port int) bool {
	ok := false
	_ = l.cli.Do(func() error {
		c, err := net.DialTimeout("tcp", netip.AddrPortFrom(srvAddr, uint16(port)).String(), time.Second)
		if err != nil {
			return nil
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(time.Second))
		s, _ := bufio.NewReader(c).ReadString('\n')
		ok = s == "pong\n"
		return nil
	})
	return ok
}

// run runs the CLI in the server namespace as if over SSH from 192.0.2.99.
func (l *fwLab) run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := l.srv.Command(context.Background(), append([]string{l.bin}, args...)...)
	cmd.Env = append(os.Environ(), "SSH_CONNECTION=192.0.2.99 50000 192.0.2.1 22")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func waitUntil(t *testing.T, what string, f func() bool) {
	t.Helper()
	waitFor(t, what, 8*time.Second, f)
}

func waitFor(t *testing.T, what string, d time.Duration, f func() bool) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if f() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// harden firewall in a namespace: the listening service stays reachable,
// a port opened later is dropped, sshd's port is in the allow list; after
// confirm, undo restores the configuration and re-applies it (baseline off).
func TestHardenFirewallConfirmedThenUndo(t *testing.T) {
	l := newFwLab(t)
	state := filepath.Join(l.dir, "hstate")
	out, err := l.run(t, "harden", "--yes", "firewall", "--config", l.cfg, "--state-dir", state, "--confirm", "60s")
	if err != nil {
		t.Fatalf("harden firewall: %v\n%s", err, out)
	}
	t.Logf("harden firewall:\n%s", out)
	if !strings.Contains(out, "8080/tcp") || !strings.Contains(out, "22/tcp") || !strings.Contains(out, "activated: firewall") {
		t.Fatalf("plan/result output:\n%s", out)
	}
	if !l.reach(8080) {
		t.Fatal("the listening service was closed by its own allow list")
	}
	l.listen(t, 9200)
	time.Sleep(300 * time.Millisecond)
	if l.reach(9200) {
		t.Fatal("a port that was not listening when harden ran is reachable: no default drop")
	}
	if out, err := l.run(t, "firewall", "confirm", "--config", l.cfg); err != nil {
		t.Fatalf("confirm: %v\n%s", err, out)
	}
	drop := filepath.Join(l.dir, "rampart.d", "50-harden-firewall.toml")
	if _, err := os.Stat(drop); err != nil {
		t.Fatalf("drop-in: %v", err)
	}
	out, err = l.run(t, "harden", "undo", "--state-dir", state)
	if err != nil {
		t.Fatalf("undo: %v\n%s", err, out)
	}
	if !strings.Contains(out, "reloaded: ") || !strings.Contains(out, "firewall apply --config "+l.cfg) {
		t.Errorf("undo did not re-apply the restored configuration:\n%s", out)
	}
	if _, err := os.Stat(drop); !os.IsNotExist(err) {
		t.Errorf("drop-in still there after undo: %v", err)
	}
	waitUntil(t, "9200 reachable after undo (baseline off again)", func() bool { return l.reach(9200) })
}

// Without confirm the baseline rolls back by itself after the window.
func TestHardenFirewallUnconfirmedRollsBack(t *testing.T) {
	l := newFwLab(t)
	out, err := l.run(t, "harden", "--yes", "firewall", "--config", l.cfg, "--state-dir", filepath.Join(l.dir, "hstate"), "--confirm", "10s")
	if err != nil {
		t.Fatalf("harden firewall: %v\n%s", err, out)
	}
	l.listen(t, 9201)
	time.Sleep(300 * time.Millisecond)
	if l.reach(9201) {
		t.Fatal("baseline not in force right after harden")
	}
	// The window (10 s) leaves room for the audit after applying, slow
	// under load; the rollback must come after it, by the watcher alone.
	waitFor(t, "rollback of the unconfirmed baseline", 25*time.Second, func() bool { return l.reach(9201) })
}
