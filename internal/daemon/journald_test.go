package daemon_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coreos/go-systemd/v22/journal"
	"github.com/rampart-ids/rampart/internal/daemon"
	"github.com/rampart-ids/rampart/internal/logging"
)

// journaldChild marks the re-executed test process that runs inside the
// private mount namespace.
const journaldChild = "RAMPART_DAEMON_JOURNALD_CHILD"

// TestJournaldDaemon runs a daemon whose sshd jail reads the real
// systemd-journald (backend = "journal") and whose log goes to that
// journal: three failed logins sent to journald as sshd's ban the address,
// and `journalctl RAMPART_EVENT=ban RAMPART_IP=…` finds the daemon's own
// ban entry. journald runs in a private mount namespace (the test
// re-executes itself under `unshare --mount`, tmpfs over /run/systemd,
// /run/log and /var/log/journal), so PID 1 need not be systemd and the
// host's journal is not touched.
func TestJournaldDaemon(t *testing.T) {
	if os.Getenv(journaldChild) == "" {
		if os.Geteuid() != 0 {
			t.Skip("needs root: it runs systemd-journald in a private mount namespace")
		}
		for _, bin := range []string{"/lib/systemd/systemd-journald", "/usr/bin/journalctl"} {
			if _, err := os.Stat(bin); err != nil {
				t.Skipf("%s is missing (apt-get install systemd): skipping the journald test", bin)
			}
		}
		unshare, err := exec.LookPath("unshare")
		if err != nil {
			t.Skip("unshare is missing (apt-get install util-linux): skipping the journald test")
		}
		cmd := exec.Command(unshare, "--mount", "--propagation", "private", "--", os.Args[0], "-test.run=^TestJournaldDaemon$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), journaldChild+"=1")
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		out, err := cmd.CombinedOutput()
		t.Logf("in the private mount namespace:\n%s", out)
		if err != nil {
			t.Fatalf("the test in the private mount namespace failed: %v", err)
		}
		if !bytes.Contains(out, []byte("--- PASS: TestJournaldDaemon")) || !bytes.Contains(out, []byte("journald child done")) {
			t.Fatal("the test in the private mount namespace did not run to its end")
		}
		return
	}

	self, _ := os.Readlink("/proc/self/ns/mnt")
	init, _ := os.Readlink("/proc/1/ns/mnt")
	if self == "" || self == init {
		t.Fatalf("not in a mount namespace of its own (%q, PID 1's %q): refusing to mount over /run/systemd", self, init)
	}
	for _, dir := range []string{"/run/systemd", "/run/log", "/var/log/journal"} {
		if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "mode=0755,size=64m"); err != nil {
			t.Fatalf("mount tmpfs on %s: %v", dir, err)
		}
	}
	if err := os.MkdirAll("/run/systemd/journald.conf.d", 0o755); err != nil {
		t.Fatal(err)
	}
	conf := "[Journal]\nStorage=volatile\nReadKMsg=no\nAudit=no\nForwardToSyslog=no\nForwardToWall=no\nForwardToConsole=no\nRateLimitBurst=0\n"
	if err := os.WriteFile("/run/systemd/journald.conf.d/rampart-test.conf", []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	jd := exec.Command("/lib/systemd/systemd-journald")
	jd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := jd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { jd.Process.Signal(syscall.SIGTERM); jd.Wait() })
	waitFor(t, "journald's socket", func() bool { _, err := os.Stat("/run/systemd/journal/socket"); return err == nil })

	d := startTestDaemon(t, `
[jails.sshd]
enabled = true
filter = "sshd"
backend = "journal"
journalmatch = "SYSLOG_IDENTIFIER=sshd"
maxretry = 3
`, daemon.Options{Log: slog.New(logging.NewJournal(slog.LevelInfo))})
	waitFor(t, "the jail following the journal", func() bool {
		out, _ := exec.Command("pgrep", "-P", strconv.Itoa(os.Getpid()), "-f", "journalctl.*SYSLOG_IDENTIFIER=sshd").Output()
		return len(out) > 0
	})
	time.Sleep(300 * time.Millisecond) // journalctl --follow has printed its backlog
	const ip = "192.0.2.77"
	for i := range 3 {
		msg := fmt.Sprintf("Failed password for root from %s port %d ssh2", ip, 40100+i)
		if err := journal.Send(msg, journal.PriInfo, map[string]string{"SYSLOG_IDENTIFIER": "sshd", "SYSLOG_PID": "555"}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the ban of "+ip, func() bool {
		bans, err := d.client.Banned(t.Context())
		if err != nil {
			return false
		}
		for _, b := range bans {
			if b.Prefix == netip.MustParsePrefix(ip+"/32") && b.Jail == "sshd" {
				return true
			}
		}
		return false
	})
	var entry string
	waitFor(t, "the daemon's ban entry in the journal", func() bool {
		out, _ := exec.Command("journalctl", "--no-pager", "-o", "json", "RAMPART_EVENT=ban", "RAMPART_IP="+ip).Output()
		entry = strings.TrimSpace(string(out))
		return entry != ""
	})
	for _, want := range []string{`"RAMPART_JAIL":"sshd"`, `"PRIORITY":"6"`, `"SYSLOG_IDENTIFIER":"rampart"`} {
		if !strings.Contains(entry, want) {
			t.Errorf("the daemon's ban entry lacks %s: %s", want, entry)
		}
	}
	t.Log("journald child done")
}
