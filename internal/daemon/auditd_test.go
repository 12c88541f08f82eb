package daemon_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/daemon"
	"github.com/rampart-ids/rampart/internal/event"
)

// startAuditDaemon runs a rampart daemon following log with [auditd] on
// and returns its integrity-change events.
func startAuditDaemon(t *testing.T, log string) <-chan event.Event {
	t.Helper()
	evs := make(chan event.Event, 64)
	conf := fmt.Sprintf("[auditd]\nenabled = true\nlog = %q\nkeys = [\"identity\", \"sshd_config\", \"binaries\"]\n", log)
	startTestDaemon(t, conf, daemon.Options{Subscribers: []daemon.Subscriber{{Name: "test", Kinds: []event.Kind{event.IntegrityChange},
		Handle: func(_ context.Context, es []event.Event) {
			for _, e := range es {
				evs <- e
			}
		}}}})
	return evs
}

func appendFile(t *testing.T, name, text string) {
	t.Helper()
	f, err := os.OpenFile(name, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

// TestAuditdLogLines: lines in auditd's documented RAW format appended to
// a followed log become one event for the watched key, none for others.
func TestAuditdLogLines(t *testing.T) {
	log := filepath.Join(t.TempDir(), "audit.log")
	appendFile(t, log, "type=DAEMON_START msg=audit(1700000000.000:1): op=start ver=3.0.9 format=raw auid=4294967295 pid=1 uid=0 res=success\n")
	evs := startAuditDaemon(t, log)
	time.Sleep(300 * time.Millisecond) // the source follows from the end
	appendFile(t, log, `type=SYSCALL msg=audit(1700000001.100:10): arch=c000003e syscall=257 success=yes exit=3 items=1 ppid=1 pid=99 auid=1000 uid=0 gid=0 comm="cat" exe="/usr/bin/cat" key="other"
type=PATH msg=audit(1700000001.100:10): item=0 name="/etc/hosts" nametype=NORMAL
type=PROCTITLE msg=audit(1700000001.100:10): proctitle="cat"
type=SYSCALL msg=audit(1700000001.200:11): arch=c000003e syscall=82 success=yes exit=0 items=2 ppid=1 pid=100 auid=1000 uid=0 gid=0 comm="vi" exe="/usr/bin/vim.basic" key="identity"
type=CWD msg=audit(1700000001.200:11): cwd="/etc"
type=PATH msg=audit(1700000001.200:11): item=0 name="/etc" nametype=PARENT
type=PATH msg=audit(1700000001.200:11): item=1 name=2F6574632F706173737764 nametype=CREATE
type=PROCTITLE msg=audit(1700000001.200:11): proctitle=7669002F6574632F706173737764
`)
	select {
	case e := <-evs:
		ev := strings.Join(e.Evidence, "\n")
		if e.Path != "/etc/passwd" || e.Reason != "audit rename" || e.Rule != "auditd identity" || e.Severity != "high" ||
			!strings.Contains(ev, `exe "/usr/bin/vim.basic"`) || !strings.Contains(ev, "auid 1000 uid 0") || !strings.Contains(ev, `proctitle "vi /etc/passwd"`) {
			t.Fatalf("event %+v", e)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no event for the identity key")
	}
	select {
	case e := <-evs:
		t.Fatalf("unexpected event %+v", e)
	case <-time.After(300 * time.Millisecond):
	}
	// auditd rotates by renaming audit.log to audit.log.1 and opening a new
	// one: the follower goes on with the new file.
	if err := os.Rename(log, log+".1"); err != nil {
		t.Fatal(err)
	}
	appendFile(t, log, `type=SYSCALL msg=audit(1700000002.000:12): arch=c000003e syscall=90 success=yes exit=0 items=1 ppid=1 pid=101 auid=1001 uid=0 comm="chmod" exe="/usr/bin/chmod" key="binaries"
type=PATH msg=audit(1700000002.000:12): item=0 name="/usr/bin/su" nametype=NORMAL
type=PROCTITLE msg=audit(1700000002.000:12): proctitle=63686D6F6400752B73002F7573722F62696E2F7375
`)
	select {
	case e := <-evs:
		if e.Path != "/usr/bin/su" || e.Reason != "audit chmod" || e.Rule != "auditd binaries" || !strings.Contains(strings.Join(e.Evidence, "\n"), "auid 1001 uid 0") {
			t.Fatalf("after rotation: %+v", e)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no event from the new audit.log after rotation")
	}
}

// TestAuditdReal runs the real auditd (the Debian package) with a watch
// rule keyed identity on a throwaway passwd; a write to it by a process
// whose login uid is 1000 is an event naming the executable and auid 1000.
func TestAuditdReal(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: auditd needs root")
	}
	for _, tool := range []string{"auditd", "auditctl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("skipping: %s is not installed (Debian package auditd; run scripts/deps.sh)", tool)
		}
	}
	status, err := exec.Command("auditctl", "-s").CombinedOutput()
	if err != nil {
		t.Skipf("skipping: no audit netlink here (auditctl -s: %v: %s); containers usually have none", err, strings.TrimSpace(string(status)))
	}
	if pid := auditField(string(status), "pid"); pid != "0" && pid != "" {
		t.Skipf("skipping: an audit daemon (pid %s) already owns the audit netlink; this test starts its own", pid)
	}
	wasEnabled := auditField(string(status), "enabled")
	dir := t.TempDir()
	logFile := filepath.Join(dir, "audit.log")
	conf := fmt.Sprintf(`local_events = yes
write_logs = yes
log_file = %s
log_format = ENRICHED
flush = INCREMENTAL_ASYNC
freq = 1
max_log_file = 8
num_logs = 2
max_log_file_action = ROTATE
space_left = 2
space_left_action = IGNORE
admin_space_left = 1
admin_space_left_action = IGNORE
disk_full_action = IGNORE
disk_error_action = IGNORE
plugin_dir = %s
end_of_event_timeout = 2
`, logFile, filepath.Join(dir, "plugins.d"))
	os.Mkdir(filepath.Join(dir, "plugins.d"), 0o755)
	if err := os.WriteFile(filepath.Join(dir, "auditd.conf"), []byte(conf), 0o640); err != nil {
		t.Fatal(err)
	}
	auditd := exec.Command("auditd", "-n", "-c", dir)
	out := &strings.Builder{}
	auditd.Stdout, auditd.Stderr = out, out
	if err := auditd.Start(); err != nil {
		t.Fatal(err)
	}
	passwd := filepath.Join(dir, "passwd")
	os.WriteFile(passwd, []byte("root:x:0:0::/root:/bin/sh\n"), 0o644)
	t.Cleanup(func() {
		exec.Command("auditctl", "-W", passwd, "-p", "wa", "-k", "identity").Run()
		auditd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { auditd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			auditd.Process.Kill()
			<-done
		}
		if wasEnabled == "0" {
			exec.Command("auditctl", "-e", "0").Run()
		}
	})
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		s, _ := exec.Command("auditctl", "-s").CombinedOutput()
		if auditField(string(s), "pid") == strconv.Itoa(auditd.Process.Pid) {
			break
		}
		if time.Now().After(deadline) {
			t.Skipf("skipping: auditd did not take the audit netlink within 5 s; its output:\n%s", out)
		}
	}
	if msg, err := exec.Command("auditctl", "-w", passwd, "-p", "wa", "-k", "identity").CombinedOutput(); err != nil {
		t.Fatalf("auditctl -w: %v: %s", err, msg)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(logFile); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("auditd wrote no %s; its output:\n%s", logFile, out)
		}
	}
	evs := startAuditDaemon(t, logFile)
	time.Sleep(300 * time.Millisecond)
	// Setting the login uid needs CAP_AUDIT_CONTROL (root has it); the
	// shell is then "alice, uid 1000, who logged in" to the kernel.
	w := exec.Command("/bin/sh", "-c", "echo 1000 > /proc/self/loginuid && echo >> "+passwd)
	if msg, err := w.CombinedOutput(); err != nil {
		t.Fatalf("writer: %v: %s", err, msg)
	}
	start := time.Now()
	for {
		select {
		case e := <-evs:
			if e.Path != passwd {
				continue
			}
			ev := strings.Join(e.Evidence, "\n")
			t.Logf("after %v: %s %s %s\n%s", time.Since(start), e.Rule, e.Reason, e.Path, ev)
			if e.Rule != "auditd identity" || !strings.HasPrefix(e.Reason, "audit open") || !strings.Contains(ev, `exe "/usr/bin/dash"`) || !strings.Contains(ev, "auid 1000") || !strings.Contains(ev, "uid 0") {
				t.Fatalf("event %+v", e)
			}
			return
		case <-time.After(5 * time.Second):
			log, _ := os.ReadFile(logFile)
			t.Fatalf("no event for the write; audit.log:\n%s", log)
		}
	}
}

// auditField reads "key value" from auditctl -s output.
func auditField(status, key string) string {
	for _, l := range strings.Split(status, "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == key {
			return f[1]
		}
	}
	return ""
}
