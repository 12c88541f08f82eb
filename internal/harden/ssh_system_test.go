package harden

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/netns"
	"github.com/rampart-ids/rampart/internal/policy"
	"github.com/rampart-ids/rampart/internal/policy/portspec"

	"golang.org/x/crypto/ssh"
)

// rampartBin builds cmd/rampart once: its hidden `firewall watch-rollback`
// is the detached watcher that rolls an unconfirmed change back.
var rampartBin = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "rampart-harden-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "rampart")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/rampart-ids/rampart/cmd/rampart").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v: %s", err, out)
	}
	return bin, nil
})

const (
	sshSrv     = "192.0.2.1"
	bobPass    = "correct horse battery"
	aliceUID   = 64101
	bobUID     = 64102
	sshTimeout = 3 * time.Second
)

// sshLab is a throwaway root with a real sshd (started with -f
// ROOT/etc/ssh/sshd_config in a server namespace, seeing the root's
// passwd/shadow/group through bind mounts in its own mount namespace) and
// a client namespace.
type sshLab struct {
	root, state string
	srv, cli    *netns.NS
	aliceKey    ssh.Signer
	sshd        *exec.Cmd
	log         *bytes.Buffer
}

func newSSHLab(t *testing.T) *sshLab {
	netns.SkipUnlessRoot(t)
	for _, b := range []string{"/usr/sbin/sshd", "unshare", "openssl", "pkill", "nft"} {
		if _, err := exec.LookPath(b); err != nil {
			t.Skipf("skipping: %s is not installed (run scripts/deps.sh: openssh-server, util-linux, openssl, procps, nftables)", b)
		}
	}
	if _, err := os.Stat("/run/sshd"); err != nil {
		t.Skip("skipping: /run/sshd (sshd's privilege separation directory) is missing; install openssh-server")
	}
	bin, err := rampartBin()
	if err != nil {
		t.Fatal(err)
	}
	l := &sshLab{root: t.TempDir(), state: t.TempDir(), log: &bytes.Buffer{}}
	// sshd reads authorized_keys as the user: every directory above the
	// homes must be traversable.
	for d := l.root; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	r := l.root
	hash, err := exec.Command("openssl", "passwd", "-6", bobPass).Output()
	if err != nil {
		t.Fatal(err)
	}
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	l.aliceKey, _ = ssh.NewSignerFromKey(priv)
	hk, _ := tempHostKey(t.TempDir())
	hkData, _ := os.ReadFile(hk)
	files := []struct {
		p, data  string
		mode     os.FileMode
		uid, gid int
	}{
		{"/etc/passwd", fmt.Sprintf("root:x:0:0:root:%[1]s/root:/bin/bash\nsshd:x:102:65534::/run/sshd:/usr/sbin/nologin\nalice:x:%[2]d:%[2]d::%[1]s/home/alice:/bin/bash\nbob:x:%[3]d:%[3]d::%[1]s/home/bob:/bin/bash\n", r, aliceUID, bobUID), 0o644, 0, 0},
		{"/etc/shadow", fmt.Sprintf("root:!:19000:0:99999:7:::\nsshd:!:19000::::::\nalice:*:19000:0:99999:7:::\nbob:%s:19000:0:99999:7:::\n", strings.TrimSpace(string(hash))), 0o640, 0, 0},
		{"/etc/group", fmt.Sprintf("root:x:0:\nsudo:x:27:alice\nnogroup:x:65534:\nalice:x:%d:\nbob:x:%d:\n", aliceUID, bobUID), 0o644, 0, 0},
		{"/etc/shells", "/bin/sh\n/bin/bash\n", 0o644, 0, 0},
		{"/etc/ssh/ssh_host_ed25519_key", string(hkData), 0o600, 0, 0},
		// Careless: passwords and root logins on before the Include (which
		// must move), and cloud-init's drop-in sorting before rampart's.
		{"/etc/ssh/sshd_config", fmt.Sprintf("# careless: passwords and root logins\nPermitRootLogin yes\nPasswordAuthentication yes\nInclude %[1]s/etc/ssh/sshd_config.d/*.conf\nPort 22\nHostKey %[1]s/etc/ssh/ssh_host_ed25519_key\nPidFile %[1]s/run/sshd.pid\nUsePAM no\nKbdInteractiveAuthentication no\n", r), 0o644, 0, 0},
		{"/etc/ssh/sshd_config.d/50-cloud-init.conf", "PasswordAuthentication yes\n", 0o644, 0, 0},
		{"/home/alice/.ssh/authorized_keys", string(ssh.MarshalAuthorizedKey(l.aliceKey.PublicKey())), 0o600, aliceUID, aliceUID},
		{"/home/bob/.profile", "", 0o644, bobUID, bobUID},
	}
	for _, d := range []string{"/run", "/root", "/etc/ssh/sshd_config.d"} {
		os.MkdirAll(filepath.Join(r, d), 0o755)
	}
	for _, f := range files {
		full := filepath.Join(r, f.p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(f.data), f.mode); err != nil {
			t.Fatal(err)
		}
		os.Chown(full, f.uid, f.gid)
	}
	for _, d := range []struct {
		p    string
		mode os.FileMode
		uid  int
	}{{"/home/alice", 0o755, aliceUID}, {"/home/alice/.ssh", 0o700, aliceUID}, {"/home/bob", 0o755, bobUID}} {
		os.Chmod(filepath.Join(r, d.p), d.mode)
		os.Chown(filepath.Join(r, d.p), d.uid, d.uid)
	}

	l.srv, l.cli = netns.New(t, "hsshs"), netns.New(t, "hsshc")
	netns.Link(t, l.srv, l.cli, []netip.Prefix{netip.MustParsePrefix(sshSrv + "/24")}, []netip.Prefix{netip.MustParsePrefix("192.0.2.2/24")})

	// The baseline: established, loopback and 22/tcp.
	k := policy.Kernel{NetNS: l.srv.Fd()}
	base := &policy.Policy{Enabled: true, Rules: []policy.Rule{{Kind: policy.KindEstablished}, {Kind: policy.KindLoopback},
		{Kind: policy.KindPort, Port: portspec.Spec{Proto: "tcp", From: 22, To: 22}}}}
	if _, err := policy.Apply(context.Background(), base, policy.Options{Kernel: k, StateDir: l.state, Force: true}); err != nil {
		t.Fatal(err)
	}

	script := `set -e; for f in passwd shadow group; do mount --bind "$1/etc/$f" "/etc/$f"; done; exec /usr/sbin/sshd -D -e -f "$1/etc/ssh/sshd_config"`
	l.sshd = l.srv.Command(context.Background(), "unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", r)
	l.sshd.Stdout, l.sshd.Stderr = l.log, l.log
	if err := l.sshd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = l.sshd.Process.Kill()
		_ = l.sshd.Wait()
		if t.Failed() {
			t.Logf("sshd log:\n%s", l.log.String())
		}
	})
	waitUntil(t, "sshd on port 22", 5*time.Second, func() bool { return l.open(22) })
	// The watcher of a commit-confirmed change: the real hidden command, in
	// the server namespace, in its own session, as SpawnWatcher does.
	_ = bin
	return l
}

func waitUntil(t *testing.T, what string, d time.Duration, f func() bool) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if f() {
			return
		}
	}
	t.Fatalf("timed out after %s waiting for %s", d, what)
}

// open reports whether a TCP connection to the server's port succeeds
// from the client namespace.
func (l *sshLab) open(port int) bool {
	ok := false
	_ = l.cli.Do(func() error {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("%s:%d", sshSrv, port), 500*time.Millisecond)
		if err == nil {
			ok = true
			c.Close()
		}
		return nil
	})
	return ok
}

// dial logs in from the client namespace.
func (l *sshLab) dial(port int, user string, auth ssh.AuthMethod) (*ssh.Client, error) {
	var c *ssh.Client
	err := l.cli.Do(func() error {
		conn, err := net.DialTimeout("tcp", fmt.Sprintf("%s:%d", sshSrv, port), sshTimeout)
		if err != nil {
			return err
		}
		conn.SetDeadline(time.Now().Add(sshTimeout))
		cc, chans, reqs, err := ssh.NewClientConn(conn, conn.RemoteAddr().String(), &ssh.ClientConfig{
			User: user, Auth: []ssh.AuthMethod{auth}, HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: sshTimeout,
		})
		if err != nil {
			conn.Close()
			return err
		}
		conn.SetDeadline(time.Time{})
		c = ssh.NewClient(cc, chans, reqs)
		return nil
	})
	return c, err
}

func runOn(c *ssh.Client, cmd string) (string, error) {
	s, err := c.NewSession()
	if err != nil {
		return "", err
	}
	defer s.Close()
	out, err := s.CombinedOutput(cmd)
	return strings.TrimSpace(string(out)), err
}

// applyLive does what `rampart harden --yes` does with a proposal on the
// live host: validate the staged files, install them, activate, reload.
func applyLive(t *testing.T, env *Env, p *Proposal) {
	t.Helper()
	// Under the state directory, which the lab removes: the helper process
	// is killed before it could clean up a t.TempDir.
	dir, err := os.MkdirTemp(env.StateDir, "stage-")
	if err != nil {
		t.Fatal(err)
	}
	staged := map[string]string{}
	for i, f := range p.Files {
		tmp := filepath.Join(dir, fmt.Sprint(i))
		os.WriteFile(tmp, f.Data, 0o600)
		staged[f.Path] = tmp
	}
	if err := p.Validate(context.Background(), staged); err != nil {
		t.Fatalf("validate: %v", err)
	}
	for _, f := range p.Files {
		if err := WriteAtomic(filepath.Join(env.Root, f.Path), f.Data, f.Mode); err != nil {
			t.Fatal(err)
		}
	}
	if p.Activate != nil {
		if err := p.Activate(context.Background()); err != nil {
			t.Fatalf("activate: %v", err)
		}
	}
	for _, c := range p.Reload {
		if out, err := exec.Command(c.Name, c.Args...).CombinedOutput(); err != nil {
			t.Fatalf("reload %s %v: %v %s", c.Name, c.Args, err, out)
		}
	}
}

// TestSSHLive hardens a real sshd while a password session is connected:
// the session survives, a new password login is refused, a key login
// works. Then a port move to 2222 is left unconfirmed: after the window
// the detached watcher puts the baseline, sshd's files and its port back.
func TestSSHLive(t *testing.T) {
	l := newSSHLab(t)
	bob, err := l.dial(22, "bob", ssh.Password(bobPass))
	if err != nil {
		t.Fatalf("password login before hardening: %v", err)
	}
	defer bob.Close()
	if out, err := runOn(bob, "id -un"); err != nil || out != "bob" {
		t.Fatalf("bob's session: %q %v", out, err)
	}
	sshdPID := l.sshd.Process.Pid
	bin, _ := rampartBin()
	var watchers []int
	t.Cleanup(func() {
		for _, pid := range watchers {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	a := &sshArea{
		kernel: policy.Kernel{NetNS: l.srv.Fd()},
		// The guard reads sshd's ports from this fake /proc-less host: the
		// test's sshd is in the namespace, not in this process's.
		host: policy.Host{Proc: t.TempDir(), SSHDConfigPorts: func(context.Context) ([]uint16, error) { return []uint16{22}, nil }},
		watch: func(stateDir, id string) (int, error) {
			logf, err := os.OpenFile(filepath.Join(stateDir, "policy-watch.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
			if err != nil {
				return 0, err
			}
			defer logf.Close()
			cmd := l.srv.Command(context.Background(), append([]string{bin}, policy.WatchArgs(stateDir, id)...)...)
			cmd.Stdout, cmd.Stderr = logf, logf
			cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
			if err := cmd.Start(); err != nil {
				return 0, err
			}
			watchers = append(watchers, cmd.Process.Pid)
			go cmd.Wait()
			return cmd.Process.Pid, nil
		},
	}
	env := &Env{Root: l.root, Live: true, StateDir: l.state}
	p, err := a.Plan(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Reload) != 1 || p.Reload[0].Name != "pkill" {
		t.Fatalf("reload %v: want SIGHUP through the PidFile (no systemd for this sshd)", p.Reload)
	}
	if len(p.Files) != 3 {
		t.Errorf("want the drop-in, sshd_config (Include moved) and 50-cloud-init.conf changed, got %d files", len(p.Files))
	}
	applyLive(t, env, p)
	hardened, _ := os.ReadFile(filepath.Join(l.root, sshDropIn))

	// A new password login is refused (sshd re-read its configuration).
	waitUntil(t, "password logins to be refused", 5*time.Second, func() bool {
		c, err := l.dial(22, "bob", ssh.Password(bobPass))
		if err == nil {
			c.Close()
			return false
		}
		return strings.Contains(err.Error(), "unable to authenticate")
	})
	if out, err := runOn(bob, "echo still-here"); err != nil || out != "still-here" {
		t.Fatalf("the session connected before hardening: %q %v", out, err)
	}
	alice, err := l.dial(22, "alice", ssh.PublicKeys(l.aliceKey))
	if err != nil {
		t.Fatalf("key login after hardening: %v", err)
	}
	if out, err := runOn(alice, "id -un"); err != nil || out != "alice" {
		t.Fatalf("alice: %q %v", out, err)
	}
	alice.Close()
	if l.sshd.ProcessState != nil || syscall.Kill(sshdPID, 0) != nil {
		t.Fatal("sshd was restarted, not reloaded")
	}

	// Move to 2222 with a 4 s window, from a process whose whole process
	// group is SIGKILLed right after (the terminal going away), and never
	// confirm: the detached watcher alone must put everything back.
	mainBefore, _ := os.ReadFile(filepath.Join(l.root, sshMainConfig))
	helper := l.srv.Command(context.Background(), os.Args[0], "-test.run=^TestSSHLiveHelper$", "-test.v")
	helper.Env = append(os.Environ(), "RAMPART_SSH_HELPER=1", "RAMPART_SSH_ROOT="+l.root, "RAMPART_SSH_STATE="+l.state, "RAMPART_BIN="+bin)
	helper.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var hout bytes.Buffer
	pr, pw, _ := os.Pipe()
	helper.Stdout, helper.Stderr = pw, pw
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	applied := make(chan bool, 1)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := pr.Read(buf)
			hout.Write(buf[:n])
			if strings.Contains(hout.String(), "HELPER-APPLIED") {
				applied <- true
				return
			}
			if err != nil {
				applied <- false
				return
			}
		}
	}()
	select {
	case ok := <-applied:
		if !ok {
			_ = helper.Wait()
			t.Fatalf("the applying process failed:\n%s", hout.String())
		}
	case <-time.After(20 * time.Second):
		_ = syscall.Kill(-helper.Process.Pid, syscall.SIGKILL)
		t.Fatalf("the applying process did not apply:\n%s", hout.String())
	}
	start := time.Now()
	if err := syscall.Kill(-helper.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = helper.Wait()
	pr.Close()
	if pend, _ := policy.ReadPending(l.state); pend != nil && pend.WatcherPID > 0 {
		watchers = append(watchers, pend.WatcherPID)
	}
	waitUntil(t, "a key login on 2222", 3*time.Second, func() bool {
		c, err := l.dial(2222, "alice", ssh.PublicKeys(l.aliceKey))
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	if act, _ := (policy.Kernel{NetNS: l.srv.Fd()}).Read(); !act.Policy().Accepts(netip.MustParseAddr("192.0.2.2"), "tcp", 2222) {
		t.Errorf("baseline during the window does not open 2222: %v", act.Policy().Strings())
	}
	if l.open(22) {
		t.Error("sshd still listens on 22 after moving to 2222")
	}
	if pend, _ := policy.ReadPending(l.state); pend == nil || pend.Undo == nil {
		t.Fatalf("no pending change with an undo: %+v", pend)
	}
	if time.Since(start) > 3*time.Second {
		t.Fatalf("checks took %s, too close to the 4 s deadline", time.Since(start))
	}
	waitUntil(t, "the rollback (22 answers, 2222 closed)", 12*time.Second, func() bool { return l.open(22) && !l.open(2222) })
	if el := time.Since(start); el < 3*time.Second {
		t.Errorf("rolled back %s after the apply, before the 4 s deadline", el)
	}
	c, err := l.dial(22, "alice", ssh.PublicKeys(l.aliceKey))
	if err != nil {
		t.Fatalf("key login on 22 after the rollback: %v", err)
	}
	c.Close()
	act, _ := (policy.Kernel{NetNS: l.srv.Fd()}).Read()
	if pol := act.Policy(); pol.Accepts(netip.MustParseAddr("192.0.2.2"), "tcp", 2222) || !pol.Accepts(netip.MustParseAddr("192.0.2.2"), "tcp", 22) {
		t.Errorf("baseline after the rollback: %v", pol.Strings())
	}
	if pend, _ := policy.ReadPending(l.state); pend != nil {
		t.Errorf("pending file left: %+v", pend)
	}
	if b, _ := os.ReadFile(filepath.Join(l.root, sshDropIn)); !bytes.Equal(b, hardened) {
		t.Errorf("drop-in after the rollback:\n%s\nwant the hardened one:\n%s", b, hardened)
	}
	if b, _ := os.ReadFile(filepath.Join(l.root, sshMainConfig)); !bytes.Equal(b, mainBefore) {
		t.Errorf("sshd_config after the rollback:\n%s", b)
	}
	if out, err := runOn(bob, "echo survived"); err != nil || out != "survived" {
		t.Errorf("bob's session after the move and the rollback: %q %v", out, err)
	}
	if syscall.Kill(sshdPID, 0) != nil {
		t.Error("sshd is gone")
	}
}

// TestSSHLiveHelper is the applying process of TestSSHLive's port move (run
// in the server namespace, then killed with its process group); it skips
// in a normal run.
func TestSSHLiveHelper(t *testing.T) {
	if os.Getenv("RAMPART_SSH_HELPER") == "" {
		t.Skip("helper process of TestSSHLive, not a test by itself")
	}
	bin, state := os.Getenv("RAMPART_BIN"), os.Getenv("RAMPART_SSH_STATE")
	a := &sshArea{watch: func(stateDir, id string) (int, error) {
		logf, err := os.OpenFile(filepath.Join(stateDir, "policy-watch.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return 0, err
		}
		defer logf.Close()
		cmd := exec.Command(bin, policy.WatchArgs(stateDir, id)...)
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := cmd.Start(); err != nil {
			return 0, err
		}
		pid := cmd.Process.Pid
		_ = cmd.Process.Release()
		return pid, nil
	}}
	env := &Env{Root: os.Getenv("RAMPART_SSH_ROOT"), Live: true, StateDir: state, Options: Options{Port: 2222, Confirm: "4s"}}
	p, err := a.Plan(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	if p.Activate == nil {
		t.Fatal("a port move without Activate")
	}
	applyLive(t, env, p)
	fmt.Println("HELPER-APPLIED")
	time.Sleep(time.Minute)
}
