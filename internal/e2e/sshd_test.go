package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/netns"
)

// sshdEnv is the running stage of TestSSHD: the namespaces, the SSH server
// and the current daemon.
type sshdEnv struct {
	tp  *topology
	srv *sshServer
	d   *daemon
	cfg string // rampart.toml
}

const maxRetry = 3

// TestSSHD is the acceptance test of issue 3 against real software: an
// OpenSSH server logging through rsyslog, rampart with the nftables backend,
// an attacker and a legitimate client in namespaces of their own.
func TestSSHD(t *testing.T) {
	root := t
	tp := newTopology(t)
	srv := startSSHServer(t, tp.server)
	needRampart(t)
	dir := t.TempDir()
	cfg, sock := writeConfig(t, dir, "flush", jailConf{Name: "sshd", LogPath: srv.AuthLog, MaxRetry: maxRetry})
	e := &sshdEnv{tp: tp, srv: srv, cfg: cfg}
	e.d = startDaemon(t, t, tp.server, sock, "--config", cfg)

	v4, v6 := attackerAddr(0, false), attackerAddr(0, true)
	if !t.Run("ban", func(t *testing.T) {
		for _, a := range []netip.Addr{v4, v6} {
			e.banAtMaxRetry(t, a)
		}
		e.legitLogsIn(t)
		if got := e.d.status(t, "sshd"); !slices.Contains(got.Banned, single(v4)) || !slices.Contains(got.Banned, single(v6)) || got.BannedNow < 2 {
			t.Errorf("rampart status sshd: banned_now %d, banned %v; want %s and %s", got.BannedNow, got.Banned, v4, v6)
		}
		b := e.d.banned(t)
		for _, a := range []netip.Addr{v4, v6} {
			if b[single(a)] != "sshd" {
				t.Errorf("rampart banned --json: %s in jail %q, want \"sshd\" (all: %v)", a, b[single(a)], b)
			}
			set := map[bool]string{false: "ban-sshd-v4", true: "ban-sshd-v6"}[a.Is6()]
			if m, err := kernelSet(tp.server, set); err != nil || !m[single(a)] {
				t.Errorf("nft list set inet rampart %s: %v, %v; want %s in it", set, m, err, a)
			}
		}
	}) {
		return
	}

	t.Run("restart", func(t *testing.T) {
		e.d.stop(t)
		// on_stop = "flush" removed the table: what is enforced after the
		// restart comes from the store, not from the kernel's leftovers.
		if _, err := tp.server.Exec(t.Context(), "nft", "list", "table", "inet", "rampart"); err == nil {
			t.Errorf("after a stop with on_stop = \"flush\", table inet rampart is still there")
		}
		e.d = startDaemon(t, root, tp.server, sock, "--config", cfg)
		// The read position was saved: nothing already counted is read
		// (and counted) again.
		if got := e.d.status(t, "sshd").FailuresTotal; got != 0 {
			t.Errorf("after restart: failures_total = %d, want 0 (old lines read again?)", got)
		}
		for _, a := range []netip.Addr{v4, v6} {
			if e.attackerConnects(a) {
				t.Errorf("after restart: %s can connect to sshd; want it still banned", a)
			}
			if e.d.banned(t)[single(a)] != "sshd" {
				t.Errorf("after restart: rampart banned does not list %s", a)
			}
		}
		e.legitLogsIn(t)
	})

	t.Run("unban", func(t *testing.T) {
		for _, a := range []netip.Addr{v4, v6} {
			if _, err := e.d.cli("unban", a.String()); err != nil {
				t.Fatal(err)
			}
			if !waitFor(5*time.Second, func() bool { return e.attackerConnects(a) }) {
				t.Errorf("after rampart unban %s: it still cannot connect", a)
			}
			if err := sshPassword(tp.attacker, a, e.target(a), "root", "wrong"); !errors.Is(err, errAuth) {
				t.Errorf("after unban: SSH login attempt from %s: %v, want the password refused", a, err)
			}
			if _, ok := e.d.banned(t)[single(a)]; ok {
				t.Errorf("after unban: rampart banned still lists %s", a)
			}
		}
	})

	t.Run("rename rotation", func(t *testing.T) {
		a := attackerAddr(1, false)
		before := e.d.status(t, "sshd").FailuresTotal
		e.fail(t, a, 1)
		e.waitFailures(t, before+1)
		// logrotate's default: rename, then HUP rsyslog in postrotate. The
		// second failure lands in the renamed file, before rsyslog reopens.
		if err := os.Rename(e.srv.AuthLog, e.srv.AuthLog+".1"); err != nil {
			t.Fatal(err)
		}
		e.fail(t, a, 1)
		e.waitLogged(t, e.srv.AuthLog+".1", a, 2)
		if err := e.srv.reopenLogs(); err != nil {
			t.Fatal(err)
		}
		// The third lands in the new auth.log: the ban must come exactly now.
		e.waitFailures(t, before+2)
		if !e.attackerStillConnects(a) {
			t.Fatalf("%s banned after 2 failures, want %d", a, maxRetry)
		}
		e.fail(t, a, 1)
		e.waitLogged(t, e.srv.AuthLog, a, 1)
		e.waitBanned(t, a)
		if got := e.d.status(t, "sshd").FailuresTotal; got != before+3 {
			t.Errorf("failures_total = %d after 3 failures around a rename, want %d", got, before+3)
		}
	})

	t.Run("rename rotation under load", func(t *testing.T) {
		// Ten addresses fail once each (no ban: 1 < maxretry), concurrently
		// with a rename and an rsyslog reopen; every failure must count.
		before := e.d.status(t, "sshd").FailuresTotal
		var addrs []netip.Addr
		for i := range 10 {
			addrs = append(addrs, attackerAddr(3+i, i%2 == 1))
		}
		errc := make(chan error, len(addrs))
		for i, a := range addrs {
			go func() {
				time.Sleep(time.Duration(i) * 15 * time.Millisecond)
				errc <- sshPassword(tp.attacker, a, e.target(a), "root", "wrong")
			}()
		}
		time.Sleep(60 * time.Millisecond)
		if err := os.Rename(e.srv.AuthLog, e.srv.AuthLog+".3"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(40 * time.Millisecond)
		if err := e.srv.reopenLogs(); err != nil {
			t.Fatal(err)
		}
		for range addrs {
			if err := <-errc; !errors.Is(err, errAuth) {
				t.Fatalf("SSH login attempt: %v, want the password refused", err)
			}
		}
		logged := 0
		waitFor(10*time.Second, func() bool {
			logged = 0
			for _, f := range []string{e.srv.AuthLog + ".3", e.srv.AuthLog} {
				b, _ := os.ReadFile(f)
				for _, a := range addrs {
					logged += bytes.Count(b, []byte(fmt.Sprintf("Failed password for root from %s port", a)))
				}
			}
			return logged >= len(addrs)
		})
		if logged != len(addrs) {
			t.Fatalf("auth logs hold %d failures of the %d attempts", logged, len(addrs))
		}
		e.waitFailures(t, before+int64(len(addrs)))
	})

	t.Run("copytruncate rotation", func(t *testing.T) {
		a := attackerAddr(1, true)
		before := e.d.status(t, "sshd").FailuresTotal
		e.fail(t, a, 2)
		// Lines the daemon has not read when the file is truncated are lost
		// to any reader (logrotate documents the race); wait for them.
		e.waitFailures(t, before+2)
		if err := copyTruncate(e.srv.AuthLog, e.srv.AuthLog+".2"); err != nil {
			t.Fatal(err)
		}
		if !e.attackerStillConnects(a) {
			t.Fatalf("%s banned after 2 failures, want %d", a, maxRetry)
		}
		e.fail(t, a, 1)
		e.waitBanned(t, a)
		if got := e.d.status(t, "sshd").FailuresTotal; got != before+3 {
			t.Errorf("failures_total = %d after 3 failures around a copytruncate, want %d", got, before+3)
		}
	})

	t.Run("kill -9", func(t *testing.T) {
		// A ban the daemon reported is committed: after SIGKILL, and with
		// the kernel's copy thrown away, the next start enforces it.
		a := attackerAddr(13, true)
		e.banAtMaxRetry(t, a)
		if err := e.d.p.stop(syscall.SIGKILL, 0); err == nil {
			t.Fatal("rampart run exited cleanly after SIGKILL")
		}
		tp.server.MustExec(t, "nft", "flush", "ruleset")
		if !e.attackerStillConnects(a) {
			t.Fatal("with the ruleset flushed, the attacker still cannot connect")
		}
		e.d = startDaemon(t, root, tp.server, sock, "--config", cfg)
		if _, ok := e.d.banned(t)[single(a)]; !ok {
			t.Errorf("after kill -9 and restart: rampart banned does not list %s", a)
		}
		if e.attackerConnects(a) {
			t.Errorf("after kill -9 and restart: %s can connect; want the stored ban enforced", a)
		}
	})

	t.Run("fail2ban config", func(t *testing.T) {
		e.d.stop(t)
		f2b := fail2banDir(t, e.srv.AuthLog)
		e.d = startDaemonDefaultPaths(t, root, tp.server, root.TempDir(), "--fail2ban", f2b)
		st := e.d.status(t, "sshd")
		if len(st.Sources) != 1 || !strings.HasPrefix(st.Sources[0], e.srv.AuthLog) {
			t.Errorf("with --fail2ban: sshd sources = %v, want [%s]", st.Sources, e.srv.AuthLog)
		}
		for _, a := range []netip.Addr{attackerAddr(2, false), attackerAddr(2, true)} {
			e.banAtMaxRetry(t, a)
		}
		e.legitLogsIn(t)
	})
}

// target is the server's SSH address on the attacker link, of a's family.
func (e *sshdEnv) target(a netip.Addr) netip.AddrPort {
	if a.Is6() {
		return netip.AddrPortFrom(serverV6, 22)
	}
	return netip.AddrPortFrom(serverV4, 22)
}

// attackerStillConnects reports whether the attacker's address a can
// connect to sshd, trying for up to 5 s so that a loaded machine does not
// pass for a ban.
func (e *sshdEnv) attackerStillConnects(a netip.Addr) bool {
	return waitFor(5*time.Second, func() bool { return e.attackerConnects(a) })
}

// attackerConnects reports whether a TCP connection from the attacker's
// address a to sshd succeeds within a second.
func (e *sshdEnv) attackerConnects(a netip.Addr) bool {
	return canConnect(e.tp.attacker, a, e.target(a), time.Second)
}

// fail makes n password logins as root from a, each refused.
func (e *sshdEnv) fail(t *testing.T, a netip.Addr, n int) {
	t.Helper()
	for i := range n {
		if err := sshPassword(e.tp.attacker, a, e.target(a), "root", fmt.Sprintf("wrong-%d", i)); !errors.Is(err, errAuth) {
			t.Fatalf("SSH login attempt %d from %s: %v, want the password refused", i+1, a, err)
		}
	}
}

// waitFailures waits until the jail has counted want failures in total.
func (e *sshdEnv) waitFailures(t *testing.T, want int64) {
	t.Helper()
	var got int64
	if !waitFor(10*time.Second, func() bool { got = e.d.status(t, "sshd").FailuresTotal; return got >= want }) {
		t.Fatalf("sshd jail: failures_total = %d after 10 s, want %d", got, want)
	}
	if got != want {
		t.Fatalf("sshd jail: failures_total = %d, want %d", got, want)
	}
}

// waitLogged waits until path holds n "Failed password" lines from a.
func (e *sshdEnv) waitLogged(t *testing.T, path string, a netip.Addr, n int) {
	t.Helper()
	needle := []byte(fmt.Sprintf("Failed password for root from %s port", a))
	var got int
	if !waitFor(10*time.Second, func() bool {
		b, _ := os.ReadFile(path)
		got = bytes.Count(b, needle)
		return got >= n
	}) {
		t.Fatalf("%s: %d failures from %s logged after 10 s, want %d", path, got, a, n)
	}
}

// waitBanned waits until a is listed as banned and can no longer connect.
func (e *sshdEnv) waitBanned(t *testing.T, a netip.Addr) {
	t.Helper()
	if !waitFor(10*time.Second, func() bool { _, ok := e.d.banned(t)[single(a)]; return ok }) {
		t.Fatalf("%s is not in rampart banned 10 s after %d failures (status: %+v)", a, maxRetry, e.d.status(t, "sshd"))
	}
	if e.attackerConnects(a) {
		t.Fatalf("%s is listed as banned but can still connect to sshd", a)
	}
}

// banAtMaxRetry fails maxRetry-1 times from a, checks a can still connect
// once the daemon counted them, fails once more and checks the ban.
func (e *sshdEnv) banAtMaxRetry(t *testing.T, a netip.Addr) {
	t.Helper()
	before := e.d.status(t, "sshd").FailuresTotal
	e.fail(t, a, maxRetry-1)
	e.waitFailures(t, before+maxRetry-1)
	if !e.attackerStillConnects(a) {
		t.Fatalf("%s cannot connect after %d failures; the ban should come at %d", a, maxRetry-1, maxRetry)
	}
	e.fail(t, a, 1)
	e.waitBanned(t, a)
	if err := sshPassword(e.tp.attacker, a, e.target(a), "root", "again"); err == nil || errors.Is(err, errAuth) {
		t.Errorf("SSH from banned %s got as far as authentication (%v)", a, err)
	}
}

// legitLogsIn checks the legitimate client logs in with its key, over IPv4
// and IPv6, and runs a command.
func (e *sshdEnv) legitLogsIn(t *testing.T) {
	t.Helper()
	for _, dst := range []netip.Addr{serverV4c, serverV6c} {
		out, err := sshRun(e.tp.client, netip.Addr{}, netip.AddrPortFrom(dst, 22), e.srv.Client, "echo logged-in")
		if err != nil || out != "logged-in\n" {
			t.Errorf("legitimate client to %s: %q, %v; want it to log in", dst, out, err)
		}
	}
}

// copyTruncate does what logrotate's copytruncate does: copy the file, then
// truncate the original in place (the writer keeps its descriptor).
func copyTruncate(path, to string) error {
	src, err := os.Open(path)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	if err := dst.Close(); err != nil {
		return err
	}
	return os.Truncate(path, 0)
}

// fail2banDir copies Debian's /etc/fail2ban (from scripts/fail2ban-corpus.sh)
// to a temp dir and adds a jail.local that enables [sshd] on authLog.
func fail2banDir(t *testing.T, authLog string) string {
	t.Helper()
	root := fail2banRoot(t)
	dst := filepath.Join(t.TempDir(), "fail2ban")
	if err := os.CopyFS(dst, os.DirFS(filepath.Join(root, "etc", "fail2ban"))); err != nil {
		t.Fatal(err)
	}
	local := fmt.Sprintf("[sshd]\nenabled = true\nlogpath = %s\nmaxretry = %d\nbackend = auto\n", authLog, maxRetry)
	if err := os.WriteFile(filepath.Join(dst, "jail.local"), []byte(local), 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

// startDaemonDefaultPaths runs `rampart run ARGS...` with the built-in
// daemon settings (state in /var/lib/rampart, socket in /run/rampart), as
// --fail2ban does, in a private mount namespace where those two directories
// are dir/state and dir/run: nothing of the host's is used.
func startDaemonDefaultPaths(t *testing.T, owner testing.TB, ns *netns.NS, dir string, args ...string) *daemon {
	t.Helper()
	for _, d := range []string{"state", "run"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	const launch = `set -e
d=$1; shift
mount -t tmpfs -o mode=0755 rampart-e2e-run /run
mkdir /run/rampart; mount --bind "$d/run" /run/rampart
mount -t tmpfs -o mode=0755 rampart-e2e-varlib /var/lib
mkdir /var/lib/rampart; mount --bind "$d/state" /var/lib/rampart
exec "$@"
`
	argv := append([]string{"unshare", "--mount", "--propagation", "private", "sh", "-c", launch, "launch", dir, needRampart(t), "run"}, args...)
	return startDaemonArgv(t, owner, ns, filepath.Join(dir, "run", "rampart.sock"), argv)
}

// fail2banRoot returns the unpacked Debian fail2ban package, fetching it
// with scripts/fail2ban-corpus.sh if needed, or skips the test.
func fail2banRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command(filepath.Join("..", "..", "scripts", "fail2ban-corpus.sh")).Output()
	root := strings.TrimSpace(string(out))
	if err != nil || root == "" {
		t.Skipf("skipping: scripts/fail2ban-corpus.sh could not provide Debian's fail2ban package (%v)", err)
	}
	return root
}
