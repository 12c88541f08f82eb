package logsource_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coreos/go-systemd/v22/journal"
	"github.com/rampart-ids/rampart/internal/logging"
	"github.com/rampart-ids/rampart/internal/logsource"
)

// journaldChild marks the re-executed test process that runs inside the
// private mount namespace.
const journaldChild = "RAMPART_JOURNALD_CHILD"

// journaldBin is Debian's journald.
const journaldBin = "/lib/systemd/systemd-journald"

// TestJournaldReal runs the real systemd-journald (PID 1 here need not be
// systemd): the test re-executes itself under `unshare --mount` with tmpfs
// over /run/systemd, /run/log and /var/log/journal, so that journald's
// sockets and journal are the test's own and the host's are not touched.
// There, rampart's journal log handler writes structured entries that
// `journalctl RAMPART_EVENT=ban` selects, and the journald source follows
// entries sent to journald through journalctl, resuming after its cursor.
func TestJournaldReal(t *testing.T) {
	if os.Getenv(journaldChild) == "" {
		if os.Geteuid() != 0 {
			t.Skip("needs root: it runs systemd-journald in a private mount namespace")
		}
		for _, bin := range []string{journaldBin, "/usr/bin/journalctl"} {
			if _, err := os.Stat(bin); err != nil {
				t.Skipf("%s is missing (apt-get install systemd): skipping the journald test", bin)
			}
		}
		unshare, err := exec.LookPath("unshare")
		if err != nil {
			t.Skip("unshare is missing (apt-get install util-linux): skipping the journald test")
		}
		cmd := exec.Command(unshare, "--mount", "--propagation", "private", "--", os.Args[0], "-test.run=^TestJournaldReal$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), journaldChild+"=1")
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		out, err := cmd.CombinedOutput()
		t.Logf("in the private mount namespace:\n%s", out)
		if err != nil {
			t.Fatalf("the test in the private mount namespace failed: %v", err)
		}
		if !bytes.Contains(out, []byte("--- PASS: TestJournaldReal")) || !bytes.Contains(out, []byte("journald child done")) {
			t.Fatal("the test in the private mount namespace did not run to its end")
		}
		return
	}
	journaldInNamespace(t)
}

// journaldInNamespace is the test's body, in the private mount namespace.
func journaldInNamespace(t *testing.T) {
	// Refuse to run where the mounts would be the host's.
	self, _ := os.Readlink("/proc/self/ns/mnt")
	init, _ := os.Readlink("/proc/1/ns/mnt")
	if self == "" || self == init {
		t.Fatalf("not in a mount namespace of its own (%q, PID 1's %q): refusing to mount over /run/systemd", self, init)
	}
	for _, dir := range []string{"/run/systemd", "/run/log", "/var/log/journal"} {
		if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
			continue // journald makes it, in /run's own mount
		}
		if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "mode=0755,size=64m"); err != nil {
			t.Fatalf("mount tmpfs on %s: %v", dir, err)
		}
	}
	conf := "[Journal]\nStorage=volatile\nReadKMsg=no\nAudit=no\nForwardToSyslog=no\nForwardToWall=no\nForwardToConsole=no\nRateLimitBurst=0\n"
	if err := os.MkdirAll("/run/systemd/journald.conf.d", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("/run/systemd/journald.conf.d/rampart-test.conf", []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	var jout bytes.Buffer
	jd := exec.Command(journaldBin)
	jd.Stdout, jd.Stderr = &jout, &jout
	jd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := jd.Start(); err != nil {
		t.Fatalf("starting %s: %v", journaldBin, err)
	}
	t.Cleanup(func() {
		jd.Process.Signal(syscall.SIGTERM)
		jd.Wait()
		t.Logf("journald's output: %q", jout.String())
	})
	waitUntil(t, "journald's socket", func() bool {
		_, err := os.Stat("/run/systemd/journal/socket")
		return err == nil
	})
	if !logging.JournalAvailable() {
		t.Fatal("journald runs but the journal socket is not seen")
	}

	// 1. rampart's log through the journal handler: structured fields.
	log := slog.New(logging.NewJournal(slog.LevelInfo))
	log.Info("ban", "jail", "sshd", "ip", "192.0.2.7", "bantime", "10m")
	log.Warn("source error", "source", "/var/log/auth.log", "err", "permission denied")
	log.Debug("ban", "jail", "sshd", "ip", "192.0.2.99") // below the level: not written
	var bans []map[string]any
	waitUntil(t, "the ban entry in the journal", func() bool {
		bans = journalctl(t, "RAMPART_EVENT=ban")
		return len(bans) >= 1
	})
	time.Sleep(200 * time.Millisecond)
	bans = journalctl(t, "RAMPART_EVENT=ban")
	if len(bans) != 1 {
		t.Fatalf("journalctl RAMPART_EVENT=ban: %d entries, want 1: %v", len(bans), bans)
	}
	for k, want := range map[string]string{"RAMPART_IP": "192.0.2.7", "RAMPART_JAIL": "sshd", "RAMPART_BANTIME": "10m", "PRIORITY": "6", "SYSLOG_IDENTIFIER": "rampart"} {
		if got, _ := bans[0][k].(string); got != want {
			t.Errorf("ban entry %s = %q, want %q (entry %v)", k, got, want, bans[0])
		}
	}
	if msg, _ := bans[0]["MESSAGE"].(string); !strings.Contains(msg, "ban") || !strings.Contains(msg, "192.0.2.7") {
		t.Errorf("ban entry MESSAGE = %q", msg)
	}
	if errs := journalctl(t, "RAMPART_EVENT=source-error", "RAMPART_SOURCE=/var/log/auth.log"); len(errs) != 1 || errs[0]["PRIORITY"] != "4" {
		t.Errorf("source-error entries %v, want one at PRIORITY 4 (warning)", errs)
	}

	// 2. The journald source follows sshd's entries (and only those).
	pos := &logsource.MemoryPositions{}
	cfg := logsource.JournalConfig{Name: "sshd", Matches: []string{"SYSLOG_IDENTIFIER=sshd"}, Positions: pos, Start: logsource.StartEnd,
		SaveInterval: 20 * time.Millisecond, MinBackoff: 50 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))}
	lines := &lineLog{}
	stop := runJournal(t, cfg, lines)
	sshd := func(msg string) {
		t.Helper()
		if err := journal.Send(msg, journal.PriInfo, map[string]string{"SYSLOG_IDENTIFIER": "sshd", "SYSLOG_PID": "4242"}); err != nil {
			t.Fatalf("journal.Send: %v", err)
		}
	}
	// journalctl --follow starts at the end: send until the first is seen.
	waitUntil(t, "the first sshd line through the source", func() bool {
		sshd("Failed password for root from 192.0.2.8 port 40001 ssh2")
		time.Sleep(100 * time.Millisecond)
		return lines.len() > 0
	})
	log.Info("ban", "jail", "sshd", "ip", "192.0.2.8") // rampart's own entry: not sshd's
	sshd("Failed password for invalid user admin from 198.51.100.9 port 40002 ssh2")
	waitUntil(t, "the second sshd line", func() bool { return lines.has("198.51.100.9") })
	for _, l := range lines.all() {
		if !strings.Contains(l, " sshd[4242]: Failed password") {
			t.Errorf("line %q: want the syslog form \"… HOST sshd[4242]: Failed password …\"", l)
		}
		if strings.Contains(l, "RAMPART") || strings.Contains(l, "rampart") {
			t.Errorf("line %q is not sshd's", l)
		}
	}
	stop()
	// Stopped: what comes now is read after a restart, from the cursor,
	// and nothing twice.
	seen := lines.len()
	sshd("Failed password for root from 203.0.113.5 port 40003 ssh2")
	again := &lineLog{}
	stop = runJournal(t, cfg, again)
	waitUntil(t, "the entry sent while stopped", func() bool { return again.has("203.0.113.5") })
	time.Sleep(300 * time.Millisecond)
	stop()
	if got := again.all(); len(got) != 1 {
		t.Errorf("after the restart the source read %d lines %q, want only the one sent while stopped (%d read before)", len(got), got, seen)
	}
	t.Log("journald child done")
}

// runJournal runs a journald source until the returned stop.
func runJournal(t *testing.T, cfg logsource.JournalConfig, into *lineLog) (stop func()) {
	t.Helper()
	j, err := logsource.NewJournal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- j.Run(ctx, func(l logsource.Line) { into.add(string(l.Bytes)) }) }()
	waitUntil(t, "journalctl following", func() bool { return j.Status()[0].State == logsource.StateReading })
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("journal source Run = %v", err)
			}
		})
	}
}

// journalctl returns the entries the matches select, as JSON objects.
func journalctl(t *testing.T, matches ...string) []map[string]any {
	t.Helper()
	out, err := exec.Command("journalctl", append([]string{"--no-pager", "-o", "json"}, matches...)...).Output()
	if err != nil {
		t.Fatalf("journalctl %v: %v", matches, err)
	}
	var evs []map[string]any
	for _, l := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
		if len(l) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(l, &m); err != nil {
			t.Fatalf("journalctl output %q: %v", l, err)
		}
		evs = append(evs, m)
	}
	return evs
}

// lineLog keeps the lines a source emits.
type lineLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *lineLog) add(s string) { l.mu.Lock(); l.lines = append(l.lines, s); l.mu.Unlock() }
func (l *lineLog) len() int     { l.mu.Lock(); defer l.mu.Unlock(); return len(l.lines) }
func (l *lineLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}
func (l *lineLog) has(s string) bool {
	for _, x := range l.all() {
		if strings.Contains(x, s) {
			return true
		}
	}
	return false
}

func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatalf("no %s within 10 s", what)
}
