package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/control"
	"github.com/rampart-ids/rampart/internal/netns"
	"github.com/rampart-ids/rampart/internal/store"
)

// faultEnv is a daemon alone in a namespace, restartable: one sshd-filter
// jail (maxretry 3) on a log the test writes, its state under dir.
type faultEnv struct {
	t    *testing.T
	ns   *netns.NS
	d    *daemon
	dir  string
	log  string
	cfg  string
	sock string
}

func newFaultEnv(t *testing.T, name string, mountState func(state string)) *faultEnv {
	t.Helper()
	netns.SkipUnlessRoot(t)
	needRampart(t)
	e := &faultEnv{t: t, ns: netns.New(t, name), dir: t.TempDir()}
	e.log = filepath.Join(e.dir, "auth.log")
	if err := os.WriteFile(e.log, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	e.cfg, e.sock = writeConfig(t, e.dir, "keep", jailConf{Name: "sshd", LogPath: e.log, MaxRetry: 3})
	if mountState != nil {
		mountState(filepath.Join(e.dir, "state"))
	}
	return e
}

func (e *faultEnv) start() { e.d = startDaemon(e.t, e.t, e.ns, e.sock, "--config", e.cfg) }

func (e *faultEnv) db() string { return filepath.Join(e.dir, "state", "rampart.db") }

// floodAddr is the i-th flood address, in 198.18.0.0/15 (benchmarking).
func floodAddr(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{198, byte(18 + i>>16), byte(i >> 8), byte(i)})
}

// floodLines is 3 failures (maxretry) for each address from..to-1.
func floodLines(from, to int) string {
	var b strings.Builder
	now := time.Now()
	for i := from; i < to; i++ {
		for j := range 3 {
			b.WriteString(sshdLine(now, floodAddr(i), 40000+j))
		}
	}
	return b.String()
}

// kernelBans is the sshd jail's IPv4 set in the namespace.
func (e *faultEnv) kernelBans() map[netip.Prefix]bool {
	m, err := kernelSet(e.ns, "ban-sshd-v4")
	if err != nil {
		return nil
	}
	return m
}

// waitKernel waits until the kernel holds every flood address below n and
// returns how long that took.
func (e *faultEnv) waitKernel(n int, timeout time.Duration) (time.Duration, bool) {
	start := time.Now()
	ok := waitFor(timeout, func() bool {
		k := e.kernelBans()
		if len(k) < n {
			return false
		}
		for i := range n {
			if !k[single(floodAddr(i))] {
				return false
			}
		}
		return true
	})
	return time.Since(start), ok
}

// missing lists the flood addresses below n the kernel lacks (at most 5).
func (e *faultEnv) missing(n int) []netip.Addr {
	k := e.kernelBans()
	var out []netip.Addr
	for i := 0; i < n && len(out) < 5; i++ {
		if !k[single(floodAddr(i))] {
			out = append(out, floodAddr(i))
		}
	}
	return out
}

// storedBans opens the state database of a stopped daemon and returns its
// active bans.
func (e *faultEnv) storedBans() map[netip.Prefix]bool {
	e.t.Helper()
	s, err := store.Open(e.db())
	if err != nil {
		e.t.Fatalf("opening the state database after the kill: %v", err)
	}
	defer s.Close()
	bans, err := s.ActiveBans(context.Background(), time.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[netip.Prefix]bool{}
	for _, b := range bans {
		out[b.Prefix] = true
	}
	return out
}

// statusJSON is `rampart status --json`.
func (e *faultEnv) statusJSON() control.StatusReply {
	e.t.Helper()
	out, err := e.d.cli("status", "--json")
	if err != nil {
		e.t.Fatal(err)
	}
	var r control.StatusReply
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		e.t.Fatalf("rampart status --json: %v\n%s", err, out)
	}
	return r
}

// TestFaultKillDuringFlood kills the daemon with SIGKILL at a random
// moment of a flood, ten times. After each kill it reads what the store
// committed, throws the kernel's copy away (nft flush ruleset) and starts
// the daemon again: every committed ban, and every address of the log over
// maxretry, must be in the kernel.
func TestFaultKillDuringFlood(t *testing.T) {
	e := newFaultEnv(t, "fkill", nil)
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 0))
	t.Logf("random delays from seed %d", seed)
	e.start()
	const per = 3000
	total := 0
	for run := range 10 {
		from, to := total, total+per
		total = to
		delay := time.Duration(rng.IntN(80)) * time.Millisecond
		if err := appendFile(e.log, floodLines(from, to)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay)
		if err := e.d.p.stop(syscall.SIGKILL, 0); err == nil {
			t.Fatal("rampart run exited cleanly after SIGKILL")
		}
		committed := e.storedBans()
		e.ns.MustExec(t, "nft", "flush", "ruleset")
		e.start()
		took, ok := e.waitKernel(total, 60*time.Second)
		k := e.kernelBans()
		lost := 0
		for p := range committed {
			if !k[p] {
				lost++
			}
		}
		t.Logf("run %d: killed %v into a flood of %d addresses; %d of %d bans committed before the kill; all %d of the log in the kernel %v after the restart began",
			run, delay, per, len(committed)-from, per, total, took.Round(time.Millisecond))
		if lost > 0 {
			t.Errorf("run %d: %d committed bans not in the kernel after restart", run, lost)
		}
		if !ok {
			t.Fatalf("run %d: the kernel holds %d bans 60 s after restart, want the %d addresses of the log over maxretry; missing e.g. %v",
				run, len(k), total, e.missing(total))
		}
	}
}

// TestFaultFlushDuringFlood runs `nft flush ruleset` and then `nft delete
// table inet rampart` while a flood is being banned: every ban ends up in
// the kernel.
func TestFaultFlushDuringFlood(t *testing.T) {
	e := newFaultEnv(t, "fflush", nil)
	e.start()
	const n = 5000
	for round, cmd := range [][]string{{"nft", "flush", "ruleset"}, {"nft", "delete", "table", "inet", "rampart"}} {
		from, to := round*n, (round+1)*n
		start := time.Now()
		if err := appendFile(e.log, floodLines(from, to)); err != nil {
			t.Fatal(err)
		}
		// Strike once part of the flood is in.
		waitFor(10*time.Second, func() bool { return len(e.kernelBans()) > from+n/10 })
		before := len(e.kernelBans())
		if out, err := e.ns.Exec(t.Context(), cmd...); err != nil {
			t.Fatalf("%s: %v: %s", strings.Join(cmd, " "), err, out)
		}
		took, ok := e.waitKernel(to, 30*time.Second)
		if !ok {
			t.Fatalf("%s during a flood: %d bans in the kernel 30 s later, want %d; missing e.g. %v",
				strings.Join(cmd, " "), len(e.kernelBans()), to, e.missing(to))
		}
		t.Logf("%s with %d of %d bans in the kernel: all %d back %v later (%v after the flood began)",
			strings.Join(cmd, " "), before, to, to, took.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	}
	if b := e.d.banned(t); len(b) != 2*n {
		t.Errorf("rampart banned lists %d bans, want %d", len(b), 2*n)
	}
}

// mountTmpfs mounts a tmpfs of size bytes at dir (under the test's temp
// dir) and unmounts it when the test ends.
func mountTmpfs(t *testing.T, dir string, size int) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, fmt.Sprintf("size=%d,mode=0700", size)); err != nil {
		t.Skipf("skipping: cannot mount a tmpfs at %s: %v", dir, err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, syscall.MNT_DETACH) })
}

// fill writes a file until the file system is full.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			break
		}
	}
	// Small writes for the last bytes.
	for {
		if _, err := f.Write(buf[:512]); err != nil {
			break
		}
	}
}

// TestFaultDiskFull fills the state directory (a 16 MiB tmpfs) during a
// flood: the bans are enforced in the kernel all the same, `rampart status`
// and the log say the database refuses them, and once space returns they
// are stored (a kill -9 and a restart with the kernel flushed enforce them
// from the store).
func TestFaultDiskFull(t *testing.T) {
	e := newFaultEnv(t, "ffull", func(state string) { mountTmpfs(t, state, 16<<20) })
	e.start()
	if err := appendFile(e.log, floodLines(0, 100)); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.waitKernel(100, 20*time.Second); !ok {
		t.Fatalf("first 100 bans not in the kernel: missing %v", e.missing(100))
	}
	filler := filepath.Join(e.dir, "state", "filler")
	fill(t, filler)
	const n = 2000
	if err := appendFile(e.log, floodLines(100, n)); err != nil {
		t.Fatal(err)
	}
	took, ok := e.waitKernel(n, 30*time.Second)
	if !ok {
		t.Fatalf("with the state directory full: %d bans in the kernel, want %d; missing %v", len(e.kernelBans()), n, e.missing(n))
	}
	t.Logf("state directory full: all %d bans in the kernel %v after the flood", n, took.Round(time.Millisecond))
	if !waitFor(10*time.Second, func() bool { return strings.Contains(e.d.p.out.String(), "state database refused bans") }) {
		t.Errorf("no log line says the database refused the bans")
	}
	st := e.statusJSON()
	if st.StateError == "" || st.Unstored == 0 {
		t.Errorf("rampart status --json: state_error %q, unstored %d; want the database's refusal shown", st.StateError, st.Unstored)
	}
	t.Logf("status with the disk full: state_error %q, unstored %d", st.StateError, st.Unstored)
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if !waitFor(20*time.Second, func() bool { s := e.statusJSON(); return s.StateError == "" && s.Unstored == 0 }) {
		t.Fatalf("20 s after space returned, status still reports %+v", e.statusJSON().StateError)
	}
	t.Logf("space returned: bans stored %v later", time.Since(start).Round(time.Millisecond))
	if err := e.d.p.stop(syscall.SIGKILL, 0); err == nil {
		t.Fatal("rampart run exited cleanly after SIGKILL")
	}
	if stored := e.storedBans(); len(stored) != n {
		t.Errorf("store holds %d bans after recovery, want %d", len(stored), n)
	}
	e.ns.MustExec(t, "nft", "flush", "ruleset")
	e.start()
	if _, ok := e.waitKernel(n, 30*time.Second); !ok {
		t.Errorf("after kill -9 and restart: missing %v", e.missing(n))
	}
}

// TestFaultReadOnlyState starts the daemon on a read-only state directory:
// empty, and holding the database of an earlier run. It must refuse to
// start with a message naming the problem, never run without its bans.
func TestFaultReadOnlyState(t *testing.T) {
	var state string
	e := newFaultEnv(t, "fro", func(s string) { state = s; mountTmpfs(t, s, 16<<20) })
	remount := func(flags uintptr) {
		t.Helper()
		if err := syscall.Mount("tmpfs", state, "tmpfs", syscall.MS_REMOUNT|syscall.MS_NOSUID|syscall.MS_NODEV|flags, "size=16777216,mode=0700"); err != nil {
			t.Fatalf("remount %s: %v", state, err)
		}
	}
	tryStart := func(what string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		out, err := e.ns.Command(ctx, needRampart(t), "run", "--config", e.cfg).CombinedOutput()
		if ctx.Err() != nil {
			t.Fatalf("%s: rampart run still running after 20 s on a read-only state directory:\n%s", what, out)
		}
		if err == nil {
			t.Fatalf("%s: rampart run exited 0 on a read-only state directory:\n%s", what, out)
		}
		msg := strings.ToLower(string(out))
		if !strings.Contains(msg, "read-only") && !strings.Contains(msg, "readonly") {
			t.Errorf("%s: the error does not say the state is read-only:\n%s", what, out)
		}
		t.Logf("%s: refused: %s", what, lastLine(string(out)))
	}
	remount(syscall.MS_RDONLY)
	tryStart("empty read-only state directory")

	remount(0)
	e.start()
	if err := appendFile(e.log, floodLines(0, 50)); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.waitKernel(50, 20*time.Second); !ok {
		t.Fatalf("bans not in the kernel: missing %v", e.missing(50))
	}
	e.d.stop(t)
	remount(syscall.MS_RDONLY)
	tryStart("read-only state directory with 50 stored bans")
	// The kernel's bans (on_stop = "keep") are not taken away by the
	// refused start.
	if _, ok := e.waitKernel(50, time.Second); !ok {
		t.Errorf("the refused start removed bans from the kernel: missing %v", e.missing(50))
	}
	remount(0)
	e.start()
	if b := e.d.banned(t); len(b) != 50 {
		t.Errorf("after the state directory became writable: %d bans, want 50", len(b))
	}
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// TestFaultRotateDuringFlood renames the log (logrotate's default) in the
// middle of a flood written by a writer that reopens the path for each
// write, as rsyslog does after its HUP: every address is banned.
func TestFaultRotateDuringFlood(t *testing.T) {
	e := newFaultEnv(t, "frot", nil)
	e.start()
	const n, chunk = 3000, 100
	done := make(chan error, 1)
	go func() {
		for i := 0; i < n; i += chunk {
			if i == n/2 {
				if err := os.Rename(e.log, e.log+".1"); err != nil {
					done <- err
					return
				}
			}
			if err := appendFile(e.log, floodLines(i, i+chunk)); err != nil {
				done <- err
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
		done <- nil
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	took, ok := e.waitKernel(n, 30*time.Second)
	if !ok {
		t.Fatalf("after a rename in the middle of the flood: %d bans, want %d; missing %v", len(e.kernelBans()), n, e.missing(n))
	}
	t.Logf("rename during a %d-address flood: all banned %v after the last write", n, took.Round(time.Millisecond))
}
