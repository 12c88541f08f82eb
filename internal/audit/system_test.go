package audit

import (
	"bufio"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// System tests: the audit run inside a network namespace this test creates,
// against a real OpenSSH server and the namespace's live nftables ruleset.
// They need root and the Debian packages iproute2, nftables, openssh-server.

var netnsSeq atomic.Int32

func needRoot(t *testing.T, tools ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("system test: needs root (network namespaces, nftables, sshd); CI runs it as root")
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("system test: %s not installed (scripts/deps.sh installs it)", tool)
		}
	}
}

// newNetns creates a network namespace with loopback up, removed at cleanup.
func newNetns(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("rampart-audit-%d-%d", os.Getpid(), netnsSeq.Add(1))
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	nsRun(t, name, "ip", "link", "set", "lo", "up")
	return name
}

func nsRun(t *testing.T, ns string, args ...string) {
	t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// auditInNetns runs this test binary as the live-audit helper inside ns and
// returns the findings by ID.
func auditInNetns(t *testing.T, ns string, ids ...string) map[string]Finding {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "ip", "netns", "exec", ns, os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), "RAMPART_AUDIT_HELPER=live", "RAMPART_AUDIT_ONLY="+strings.Join(ids, ","),
		"RAMPART_AUDIT_SOCKET="+filepath.Join(t.TempDir(), "none.sock"))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("audit in %s: %v\n%s", ns, err, out)
	}
	var fs []Finding
	if err := json.Unmarshal(out, &fs); err != nil {
		t.Fatalf("audit output: %v\n%s", err, out)
	}
	got := map[string]Finding{}
	for _, f := range fs {
		got[f.ID] = f
	}
	return got
}

// startSSHD runs /usr/sbin/sshd -D -e -f <temp config> inside ns, listening
// on 127.0.0.1:22 of the namespace, and stops it at cleanup.
func startSSHD(t *testing.T, ns string, passwordAuth string) {
	t.Helper()
	// sshd refuses to start without its privilege separation directory,
	// which the ssh service normally creates.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(key, "rampart audit system test")
	if err != nil {
		t.Fatal(err)
	}
	hostKey := filepath.Join(dir, "ssh_host_ed25519_key")
	must(t, os.WriteFile(hostKey, pem.EncodeToMemory(block), 0o600))
	cfg := filepath.Join(dir, "sshd_config")
	must(t, os.WriteFile(cfg, []byte(fmt.Sprintf(`ListenAddress 127.0.0.1:22
HostKey %s
PidFile none
PasswordAuthentication %s
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin no
`, hostKey, passwordAuth)), 0o600))
	cmd := exec.Command("ip", "netns", "exec", ns, "/usr/sbin/sshd", "-D", "-e", "-f", cfg)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
	ready := make(chan string, 1)
	var log strings.Builder
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "Server listening on") {
				ready <- sc.Text()
			}
		}
		close(ready)
	}()
	select {
	case _, ok := <-ready:
		if !ok {
			t.Fatalf("sshd exited before listening:\n%s", log.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("sshd did not start listening:\n%s", log.String())
	}
}

func TestSystemSSHPasswordProbe(t *testing.T) {
	needRoot(t, "ip", "/usr/sbin/sshd")
	for _, tc := range []struct {
		password string
		want     Status
		evidence string
	}{
		{"yes", Fail, "live probe of 127.0.0.1:22: server allows publickey,password"},
		{"no", Pass, "live probe of 127.0.0.1:22: server allows only publickey"},
	} {
		t.Run("PasswordAuthentication="+tc.password, func(t *testing.T) {
			ns := newNetns(t)
			startSSHD(t, ns, tc.password)
			got := auditInNetns(t, ns, "ssh.password-auth", "ssh.root-login", "ssh.config-mode")
			f := got["ssh.password-auth"]
			t.Logf("%s: %s: %s", f.ID, f.Status, f.Evidence)
			if f.Status != tc.want || !strings.Contains(f.Evidence, tc.evidence) {
				t.Errorf("ssh.password-auth = %s %q, want %s containing %q", f.Status, f.Evidence, tc.want, tc.evidence)
			}
			// The effective configuration is the daemon's own -f file.
			if r := got["ssh.root-login"]; r.Status != Pass || !strings.Contains(r.Evidence, "sshd -T -f "+"/tmp") {
				t.Errorf("ssh.root-login = %s %q, want pass read with sshd -T from the daemon's -f file", r.Status, r.Evidence)
			}
		})
	}
}

func TestSystemNftables(t *testing.T) {
	needRoot(t, "ip", "nft")
	firewall := []string{"firewall.input-chain", "firewall.default-drop", "firewall.ipv6", "firewall.loopback", "firewall.logging"}
	for _, tc := range []struct {
		name    string
		ruleset string
		want    map[string]Status
	}{
		{"empty", "", map[string]Status{
			"firewall.input-chain": Fail, "firewall.default-drop": Fail, "firewall.ipv6": Fail,
		}},
		{"accept policy, no rules", `table inet filter {
	chain input { type filter hook input priority filter; policy accept; }
}`, map[string]Status{
			"firewall.input-chain": Pass, "firewall.default-drop": Fail, "firewall.ipv6": Fail,
		}},
		{"IPv4-only drop", `table ip filter {
	chain input { type filter hook input priority filter; policy drop; iif "lo" accept; log prefix "drop: "; }
}`, map[string]Status{
			"firewall.input-chain": Pass, "firewall.default-drop": Pass, "firewall.ipv6": Fail,
		}},
		{"default drop, inet", `table inet filter {
	chain input {
		type filter hook input priority filter; policy drop;
		iif "lo" accept
		ct state established,related accept
		tcp dport 22 accept
		limit rate 5/minute log prefix "nft drop: "
	}
}`, map[string]Status{
			"firewall.input-chain": Pass, "firewall.default-drop": Pass, "firewall.ipv6": Pass,
			"firewall.loopback": Pass, "firewall.logging": Pass,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := newNetns(t)
			if tc.ruleset != "" {
				f := filepath.Join(t.TempDir(), "rules.nft")
				must(t, os.WriteFile(f, []byte(tc.ruleset+"\n"), 0o644))
				nsRun(t, ns, "nft", "-f", f)
			}
			got := auditInNetns(t, ns, firewall...)
			for id, want := range tc.want {
				if f := got[id]; f.Status != want {
					t.Errorf("%s = %s %q, want %s", id, f.Status, f.Evidence, want)
				}
			}
		})
	}
}
