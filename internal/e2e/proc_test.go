package e2e

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// proc is a background process a test started: it runs in its own process
// group, its output is kept for failure messages, and it is stopped (the
// whole group) when the test ends.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	err  error // valid after done is closed
}

// syncBuffer is a bytes.Buffer safe for the writer goroutines of exec.Cmd
// and a reading test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startProc starts cmd in a new process group and registers its stop with
// t.Cleanup; on a failed test its output is logged.
func startProc(t *testing.T, name string, cmd *exec.Cmd) *proc {
	t.Helper()
	return startProcOwned(t, t, name, cmd)
}

// startProcOwned is startProc for a process that outlives the subtest t
// starting it: owner (a parent test) stops it.
func startProcOwned(t *testing.T, owner testing.TB, name string, cmd *exec.Cmd) *proc {
	t.Helper()
	p := &proc{name: name, cmd: cmd, out: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: start: %v", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	owner.Cleanup(func() {
		p.stop(syscall.SIGTERM, 5*time.Second)
		if owner.Failed() {
			owner.Logf("%s output:\n%s", name, indent(p.out.String()))
		}
	})
	return p
}

// pid returns the process id.
func (p *proc) pid() int { return p.cmd.Process.Pid }

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// wait waits up to timeout for the process to end and returns its exit
// error, or an error saying it still runs.
func (p *proc) wait(timeout time.Duration) error {
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		return errors.New(p.name + ": still running after " + timeout.String())
	}
}

// signal sends sig to the process (not its group).
func (p *proc) signal(sig syscall.Signal) error {
	if p.exited() {
		return errors.New(p.name + ": already exited")
	}
	return p.cmd.Process.Signal(sig)
}

// stop sends sig to the process group, waits up to grace, then kills the
// group. It returns the process's exit error.
func (p *proc) stop(sig syscall.Signal, grace time.Duration) error {
	if !p.exited() {
		_ = syscall.Kill(-p.cmd.Process.Pid, sig)
		select {
		case <-p.done:
		case <-time.After(grace):
		}
	}
	// Children left in the group (sshd's per-connection processes) go too.
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
	return p.err
}

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return "  (none)"
	}
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}

// waitFor polls cond every 20 ms until it returns true or timeout passes.
func waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// fileExists reports whether path exists.
func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
