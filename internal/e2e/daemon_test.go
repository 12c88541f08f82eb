package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/control"
	"github.com/rampart-ids/rampart/internal/netns"
)

// daemon is a `rampart run` process in a namespace, with the control
// socket it was configured with.
type daemon struct {
	Socket string
	ns     *netns.NS
	p      *proc
}

// jailConf is one [jails.NAME] table of a test configuration.
type jailConf struct {
	Name     string
	LogPath  string
	MaxRetry int
	Extra    string // more TOML lines for the table
}

// writeConfig writes a rampart.toml in dir with the state directory and
// control socket under dir, the nftables backend, the built-in sshd jail
// disabled unless listed, and the given jails. It returns the file's path
// and the socket's.
func writeConfig(t *testing.T, dir, onStop string, jails ...jailConf) (path, socket string) {
	t.Helper()
	socket = filepath.Join(dir, "rampart.sock")
	var b strings.Builder
	fmt.Fprintf(&b, "[daemon]\nstate_dir = %q\nsocket = %q\nfirewall = \"nftables\"\nlog_level = \"debug\"\non_stop = %q\n\n",
		filepath.Join(dir, "state"), socket, onStop)
	hasSSHD := false
	for _, j := range jails {
		hasSSHD = hasSSHD || j.Name == "sshd"
		fmt.Fprintf(&b, "[jails.%s]\nenabled = true\nfilter = \"sshd\"\nbackend = \"file\"\nlogpath = [%q]\nport = \"ssh\"\nmaxretry = %d\nfindtime = \"10m\"\nbantime = \"1h\"\n%s\n",
			j.Name, j.LogPath, j.MaxRetry, j.Extra)
	}
	if !hasSSHD {
		b.WriteString("[jails.sshd]\nenabled = false\n")
	}
	path = filepath.Join(dir, "rampart.toml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, socket
}

// startDaemon runs `rampart run ARGS...` in ns and waits until it answers
// `rampart ping` on socket. The daemon is stopped when owner (t or one of
// its parents) ends.
func startDaemon(t *testing.T, owner testing.TB, ns *netns.NS, socket string, args ...string) *daemon {
	t.Helper()
	return startDaemonArgv(t, owner, ns, socket, append([]string{needRampart(t), "run"}, args...))
}

// startDaemonArgv runs argv (which ends in `rampart run ...`) in ns and
// waits until the daemon answers on socket.
func startDaemonArgv(t *testing.T, owner testing.TB, ns *netns.NS, socket string, argv []string) *daemon {
	t.Helper()
	args := argv
	if i := slices.Index(argv, "run"); i >= 0 {
		args = argv[i+1:]
	}
	d := &daemon{Socket: socket, ns: ns}
	d.p = startProcOwned(t, owner, "rampart run", ns.Command(context.Background(), argv...))
	ok := waitFor(20*time.Second, func() bool {
		if d.p.exited() {
			return true
		}
		_, err := d.cli("ping")
		return err == nil
	})
	if d.p.exited() {
		t.Fatalf("rampart run %s: exited at start: %v\n%s", strings.Join(args, " "), d.p.err, indent(d.p.out.String()))
	}
	if !ok {
		t.Fatalf("rampart run %s: no answer on %s within 20 s", strings.Join(args, " "), socket)
	}
	return d
}

// cli runs `rampart --socket SOCKET ARGS...` (outside any namespace: the
// socket is a file) and returns its standard output.
func (d *daemon) cli(args ...string) (string, error) {
	return runCLI(d.Socket, args...)
}

func runCLI(socket string, args ...string) (string, error) {
	cmd := exec.Command(rampartBin, append([]string{"--socket", socket}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("rampart %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// status returns `rampart status --json`'s jail called name.
func (d *daemon) status(t *testing.T, name string) control.JailStatus {
	t.Helper()
	out, err := d.cli("status", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var r control.StatusReply
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("rampart status --json: %v\n%s", err, out)
	}
	for _, j := range r.Jails {
		if j.Name == name {
			return j
		}
	}
	t.Fatalf("rampart status --json: no jail %q in %s", name, out)
	return control.JailStatus{}
}

// banned returns `rampart banned --json`'s prefixes by jail.
func (d *daemon) banned(t *testing.T) map[netip.Prefix]string {
	t.Helper()
	out, err := d.cli("banned", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var r control.BannedReply
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("rampart banned --json: %v\n%s", err, out)
	}
	m := make(map[netip.Prefix]string, len(r.Bans))
	for _, b := range r.Bans {
		m[b.Prefix] = b.Jail
	}
	return m
}

// stop sends SIGTERM and waits for a clean exit.
func (d *daemon) stop(t *testing.T) {
	t.Helper()
	if err := d.p.signal(syscall.SIGTERM); err != nil {
		t.Fatalf("rampart run: %v\n%s", err, indent(d.p.out.String()))
	}
	if err := d.p.wait(15 * time.Second); err != nil {
		t.Fatalf("rampart run: after SIGTERM: %v\n%s", err, indent(d.p.out.String()))
	}
}

// rssKB returns the process's resident set size (VmRSS) in KiB.
func rssKB(pid int) (int, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no VmRSS", pid)
}

// single returns the /32 or /128 prefix of a.
func single(a netip.Addr) netip.Prefix { return netip.PrefixFrom(a, a.BitLen()) }
