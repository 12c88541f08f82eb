package fim

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

func TestWatcherReportsWithinASecond(t *testing.T) {
	root := t.TempDir()
	etc := filepath.Join(root, "data", "etc")
	writeFile(t, filepath.Join(etc, "passwd"), "root:x:0:0::/root:/bin/sh\n", 0o644)
	writeFile(t, filepath.Join(etc, "group"), "root:x:0:\n", 0o644)
	writeFile(t, filepath.Join(etc, "ssh", "sshd_config"), "PermitRootLogin no\n", 0o644)
	writeFile(t, filepath.Join(etc, "ssh", "moduli"), "x\n", 0o644)
	opts := testOpts(t, root)
	opts.Config.Realtime = []string{"/data/etc/passwd", "/data/etc/ssh"}
	b := initAndLoad(t, opts)
	w, err := NewWatcher(b, opts)
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	w.ready = func() { close(ready) }
	changes := make(chan Change, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, func(c Change) { changes <- c }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("watcher not ready")
	}
	expect := func(what string, kind Kind, p string) {
		t.Helper()
		start := time.Now()
		deadline := time.After(time.Second)
		for {
			select {
			case c := <-changes:
				if c.Kind == kind && c.Path == p {
					t.Logf("%s: %s %s after %v", what, kind, p, time.Since(start))
					return
				}
				t.Logf("%s: also %s %s", what, c.Kind, c.Path)
			case <-deadline:
				t.Fatalf("%s: no %s change of %s within 1s", what, kind, p)
			}
		}
	}
	// An editor's way: write a new file and rename it over the old one.
	tmp := filepath.Join(etc, ".passwd.tmp")
	writeFile(t, tmp, "root:x:0:0::/root:/bin/sh\nevil:x:0:0::/:/bin/sh\n", 0o644)
	if err := os.Rename(tmp, filepath.Join(etc, "passwd")); err != nil {
		t.Fatal(err)
	}
	expect("passwd replaced", KindContent, "/data/etc/passwd")
	if err := os.Chmod(filepath.Join(etc, "ssh", "sshd_config"), os.ModeSetgid|0o644); err != nil {
		t.Fatal(err)
	}
	expect("sgid", KindSGID, "/data/etc/ssh/sshd_config")
	if err := os.Mkdir(filepath.Join(etc, "ssh", "sshd_config.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	expect("new directory", KindNew, "/data/etc/ssh/sshd_config.d")
	writeFile(t, filepath.Join(etc, "ssh", "sshd_config.d", "backdoor.conf"), "PermitRootLogin yes\n", 0o644)
	expect("file in the new directory", KindNew, "/data/etc/ssh/sshd_config.d/backdoor.conf")
	if err := os.Remove(filepath.Join(etc, "ssh", "moduli")); err != nil {
		t.Fatal(err)
	}
	expect("removed", KindRemoved, "/data/etc/ssh/moduli")
	// Outside the realtime paths: nothing.
	writeFile(t, filepath.Join(etc, "group"), "root:x:0:evil\n", 0o644)
	select {
	case c := <-changes:
		if c.Path == "/data/etc/group" {
			t.Errorf("watcher reported %v outside fim.realtime", c)
		}
	case <-time.After(300 * time.Millisecond):
	}
}

// TestWatcherNamesTheProcess: with fanotify (root, CAP_SYS_ADMIN), a change
// names the process that made it.
func TestWatcherNamesTheProcess(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("fanotify needs root (CAP_SYS_ADMIN)")
	}
	root := t.TempDir()
	etc := filepath.Join(root, "etc")
	writeFile(t, filepath.Join(etc, "passwd"), "root:x:0:0::/root:/bin/sh\n", 0o644)
	opts := testOpts(t, root)
	opts.Config.Paths = []string{"/etc"}
	opts.Config.Realtime = []string{"/etc/passwd"}
	b := initAndLoad(t, opts)
	w, err := NewWatcher(b, opts)
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	w.SetReady(func() { close(ready) })
	changes := make(chan Change, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, func(c Change) { changes <- c }) }()
	t.Cleanup(func() { cancel(); <-done })
	<-ready
	if a := w.Attribution(); a != "fanotify" {
		t.Skipf("fanotify unavailable here: %s", a)
	}
	// The writer stays alive a moment so that /proc still has it when the
	// event is read (a process that exits at once is named by pid only).
	cmd := exec.Command("/bin/sh", "-c", "echo >> "+filepath.Join(etc, "passwd")+"; sleep 0.5")
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	select {
	case c := <-changes:
		t.Logf("%v after %v", c, time.Since(start))
		if c.Path != "/etc/passwd" || c.Kind != KindContent {
			t.Fatalf("got %v, want a content change of /etc/passwd", c)
		}
		if c.Proc == nil || c.Proc.PID != cmd.Process.Pid || c.Proc.Exe == "" || c.Proc.UID != 0 {
			t.Fatalf("process = %+v, want pid %d with its exe", c.Proc, cmd.Process.Pid)
		}
	case <-time.After(time.Second):
		t.Fatal("no change within 1s")
	}
}
