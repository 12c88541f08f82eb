package audit

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"time"
)

// DefaultTimeout bounds one check; the audit as a whole finishes in about
// this long even when a probe hangs.
const DefaultTimeout = 6 * time.Second

// DefaultParallel is how many checks run at once. Most checks wait on files,
// commands or sockets rather than the CPU.
const DefaultParallel = 8

// Options tune a run.
type Options struct {
	Timeout  time.Duration // per check; DefaultTimeout when zero
	Parallel int           // concurrent checks; DefaultParallel when zero
}

// Run runs checks against e concurrently, each under its own timeout, and
// returns the report. A check that panics or overruns its timeout gets status
// error with the reason; it never stalls the others.
func Run(ctx context.Context, e *Env, checks []Check, opt Options) *Report {
	if opt.Timeout <= 0 {
		opt.Timeout = DefaultTimeout
	}
	if opt.Parallel <= 0 {
		opt.Parallel = DefaultParallel
	}
	if e.Timeout <= 0 {
		e.Timeout = opt.Timeout
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	e.mu.Lock()
	e.base = ctx
	e.mu.Unlock()

	start := time.Now()
	findings := make([]Finding, len(checks))
	sem := make(chan struct{}, opt.Parallel)
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			t0 := time.Now()
			r := runOne(ctx, e, c, opt.Timeout)
			findings[i] = newFinding(c, r, time.Since(t0))
		}()
	}
	wg.Wait()
	rep := &Report{
		Host:     e.host(),
		Time:     e.Now.UTC(),
		Checks:   findings,
		Duration: time.Since(start),
	}
	if e.Root != "" && e.Root != "/" {
		rep.Root = e.Root
	}
	rep.summarize()
	return rep
}

// runOne runs c with a deadline; the check's goroutine is abandoned (its
// commands are killed through ctx) if it does not return in time.
func runOne(parent context.Context, e *Env, c Check, timeout time.Duration) Result {
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	done := make(chan Result, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- errorf("internal error: %v\n%s", p, firstFrames(debug.Stack()))
			}
		}()
		done <- c.Run(ctx, e)
	}()
	select {
	case r := <-done:
		if r.Status == "" {
			r = errorf("internal error: check returned no status")
		}
		return r
	case <-ctx.Done():
		if parent.Err() != nil {
			return errorf("audit cancelled")
		}
		return errorf("timed out after %v", timeout)
	}
}

func firstFrames(stack []byte) string {
	lines := strings.Split(string(stack), "\n")
	if len(lines) > 12 {
		lines = lines[:12]
	}
	return strings.Join(lines, "\n")
}

func newFinding(c Check, r Result, d time.Duration) Finding {
	rem := r.Remediation
	if rem == "" && (r.Status == Fail || r.Status == Warn) {
		rem = c.Remediation
	}
	return Finding{
		ID: c.ID, Area: c.Area, Severity: c.Severity, Status: r.Status,
		Title: c.Title, Evidence: r.Evidence, Remediation: rem, Duration: d,
	}
}

// host names the audited system: its /etc/hostname under --root, the kernel's
// hostname otherwise.
func (e *Env) host() string {
	if e.Host != "" {
		return e.Host
	}
	if e.Root != "" && e.Root != "/" {
		if b, err := e.ReadFile("/etc/hostname"); err == nil {
			if h := strings.TrimSpace(string(b)); h != "" && len(h) < 256 {
				return h
			}
		}
		return "(" + e.Root + ")"
	}
	h, err := os.Hostname()
	if err != nil {
		return fmt.Sprintf("(unknown: %v)", err)
	}
	return h
}
