package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// maxFileSize caps every file a check reads: configuration files are small,
// and a hostile image must not make the audit read 100 MB.
const maxFileSize = 4 << 20

// maxOutput caps what a command may print.
const maxOutput = 8 << 20

// errNotLive is returned by live probes under --root.
var errNotLive = errors.New("needs the live system (--root audits files only)")

// Runner runs a command and returns its standard output. An *exec.ExitError
// (or any error) comes back with whatever was printed.
type Runner interface {
	Run(ctx context.Context, name string, args ...string) ([]byte, error)
}

// Env is what checks read: a filesystem root and, on a live host, /proc,
// commands and sockets. Construct it with Live or Offline (tests fill the
// fields directly); one Env serves one audit run.
type Env struct {
	// Root is the filesystem the checks read ("/" on a live host).
	Root string
	// Proc is the procfs directory, "" when the live system is not audited.
	Proc string
	// Exec runs commands; nil when the live system is not audited.
	Exec Runner
	// Config holds the facts the admin declared.
	Config Config
	// Now is the time ages are measured against.
	Now time.Time
	// Root privileges: checks that need them skip, saying so, when false.
	Privileged bool
	// RampartSocket is the control socket of rampart's daemon.
	RampartSocket string
	// Fail2banSocket is fail2ban-server's socket.
	Fail2banSocket string
	// Dial opens connections for the live probes (the SSH probe, the
	// control socket); nil means net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Timeout bounds shared loaders (the ruleset, sshd -T, …).
	Timeout time.Duration
	// Host names the audited system in the report; derived when empty.
	Host string

	// rootUID is the owner the ownership checks expect: 0, except in
	// tests that build fixture trees as an ordinary user.
	rootUID uint32

	base context.Context
	mu   sync.Mutex
	memo map[string]*lazy
}

// Live returns an Env for the running host.
func Live(cfg Config, now time.Time) *Env {
	return &Env{
		Root:           "/",
		Proc:           "/proc",
		Exec:           ExecRunner{},
		Config:         cfg,
		Now:            now,
		Privileged:     os.Geteuid() == 0,
		Fail2banSocket: "/var/run/fail2ban/fail2ban.sock",
	}
}

// Offline returns an Env that reads the filesystem under root only.
func Offline(root string, cfg Config, now time.Time) *Env {
	return &Env{Root: root, Config: cfg, Now: now, Privileged: os.Geteuid() == 0}
}

// live reports whether live probes can run.
func (e *Env) live() bool { return e.Proc != "" && e.Exec != nil }

// offline is the skip result of a live-only check under --root.
func offline() Result { return skip("%v", errNotLive) }

// ExecRunner runs real commands with a capped output and a C locale.
type ExecRunner struct{}

// Run implements Runner.
func (ExecRunner) Run(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = []string{"LC_ALL=C", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	var out capped
	out.max = maxOutput
	cmd.Stdout = &out
	var errb capped
	errb.max = 64 << 10
	cmd.Stderr = &errb
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if err != nil && errb.Len() > 0 {
		err = fmt.Errorf("%w: %s", err, firstLine(errb.String()))
	}
	return out.Bytes(), err
}

// capped is a buffer that drops what is written past max.
type capped struct {
	bytes.Buffer
	max int
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - c.Len(); room < len(p) {
		if room > 0 {
			c.Buffer.Write(p[:room])
		}
		return len(p), nil
	}
	return c.Buffer.Write(p)
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// run runs a command, or fails with errNotLive under --root.
func (e *Env) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	if e.Exec == nil {
		return nil, errNotLive
	}
	return e.Exec.Run(ctx, name, args...)
}

// lazy is a value loaded once per run and shared by the checks that need it.
type lazy struct {
	once sync.Once
	done chan struct{}
	v    any
	err  error
}

// load returns the shared value for key, computing it once with fn. fn runs
// in its own goroutine under the run's context and e.Timeout, so a check
// that gives up does not cancel it for the others.
func load[T any](ctx context.Context, e *Env, key string, fn func(ctx context.Context) (T, error)) (T, error) {
	e.mu.Lock()
	if e.memo == nil {
		e.memo = map[string]*lazy{}
	}
	l := e.memo[key]
	if l == nil {
		l = &lazy{done: make(chan struct{})}
		e.memo[key] = l
	}
	base := e.base
	e.mu.Unlock()
	if base == nil {
		base = context.Background()
	}
	l.once.Do(func() {
		go func() {
			defer close(l.done)
			lctx, cancel := context.WithTimeout(base, e.timeout())
			defer cancel()
			defer func() {
				if p := recover(); p != nil {
					l.err = fmt.Errorf("%s: internal error: %v", key, p)
				}
			}()
			l.v, l.err = fn(lctx)
		}()
	})
	var zero T
	select {
	case <-l.done:
		if l.err != nil {
			return zero, l.err
		}
		return l.v.(T), nil
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

func (e *Env) timeout() time.Duration {
	if e.Timeout > 0 {
		return e.Timeout
	}
	return DefaultTimeout
}

// resolve maps p, an absolute path on the audited system, to a path on this
// host. Under a root other than "/" symlinks are followed inside the root
// (an absolute link target starts again at the root), as chroot would.
func (e *Env) resolve(p string) (string, error) {
	p = path.Clean("/" + p)
	if e.Root == "" || e.Root == "/" {
		return p, nil
	}
	rest := strings.Split(strings.TrimPrefix(p, "/"), "/")
	cur := "/"
	hops := 0
	for len(rest) > 0 {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			cur = path.Dir(cur)
			continue
		}
		next := path.Join(cur, c)
		host := filepath.Join(e.Root, next)
		fi, err := os.Lstat(host)
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			cur = next
			if err != nil {
				// Let the caller's open report the error with the path.
				return filepath.Join(e.Root, path.Join(append([]string{cur}, rest...)...)), nil
			}
			continue
		}
		hops++
		if hops > 40 {
			return "", &fs.PathError{Op: "resolve", Path: p, Err: syscall.ELOOP}
		}
		t, err := os.Readlink(host)
		if err != nil {
			return "", err
		}
		if path.IsAbs(t) {
			cur = "/"
		}
		rest = append(strings.Split(t, "/"), rest...)
	}
	return filepath.Join(e.Root, cur), nil
}

// show names p as the audited system sees it, for evidence.
func (e *Env) show(p string) string { return path.Clean("/" + p) }

// pathErr rewrites a host path in err to the audited path p.
func (e *Env) pathErr(p string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", e.show(p), pe.Err)
	}
	return err
}

// ReadFile reads a regular file of at most maxFileSize bytes. FIFOs, devices
// and directories are refused without blocking.
func (e *Env) ReadFile(p string) ([]byte, error) {
	h, err := e.resolve(p)
	if err != nil {
		return nil, e.pathErr(p, err)
	}
	return readCapped(h, p, maxFileSize, e.show)
}

// readCapped opens host path h without blocking on FIFOs, refuses anything
// but a regular file, and reads at most max bytes. Errors name p.
func readCapped(h, p string, max int64, show func(string) string) ([]byte, error) {
	f, err := os.OpenFile(h, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("%s: %w", show(p), pe.Err)
		}
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", show(p), err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file (%s)", show(p), fi.Mode().Type())
	}
	if fi.Size() > max {
		return nil, fmt.Errorf("%s: too large (%d bytes, limit %d)", show(p), fi.Size(), max)
	}
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("%s: %w", show(p), pe.Err)
		}
		return nil, fmt.Errorf("%s: %w", show(p), err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s: too large (over %d bytes)", show(p), max)
	}
	return b, nil
}

// Stat follows symlinks (inside the root).
func (e *Env) Stat(p string) (fs.FileInfo, error) {
	h, err := e.resolve(p)
	if err != nil {
		return nil, e.pathErr(p, err)
	}
	fi, err := os.Stat(h)
	if err != nil {
		return nil, e.pathErr(p, err)
	}
	return fi, nil
}

// Lstat does not follow a final symlink.
func (e *Env) Lstat(p string) (fs.FileInfo, error) {
	dir, err := e.resolve(path.Dir(path.Clean("/" + p)))
	if err != nil {
		return nil, e.pathErr(p, err)
	}
	fi, err := os.Lstat(filepath.Join(dir, path.Base(p)))
	if err != nil {
		return nil, e.pathErr(p, err)
	}
	return fi, nil
}

// Readlink reads a symlink's target.
func (e *Env) Readlink(p string) (string, error) {
	dir, err := e.resolve(path.Dir(path.Clean("/" + p)))
	if err != nil {
		return "", e.pathErr(p, err)
	}
	return os.Readlink(filepath.Join(dir, path.Base(p)))
}

// exists reports whether p exists (following symlinks).
func (e *Env) exists(p string) bool {
	_, err := e.Stat(p)
	return err == nil
}

// ReadDir lists the names in directory p, sorted; a missing directory is empty.
func (e *Env) ReadDir(p string) ([]string, error) {
	h, err := e.resolve(p)
	if err != nil {
		return nil, e.pathErr(p, err)
	}
	ents, err := os.ReadDir(h)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, e.pathErr(p, err)
	}
	names := make([]string, 0, len(ents))
	for _, d := range ents {
		names = append(names, d.Name())
	}
	sort.Strings(names)
	return names, nil
}

// Glob matches a pattern whose last element only may hold wildcards.
func (e *Env) Glob(pattern string) ([]string, error) {
	dir, base := path.Split(path.Clean("/" + pattern))
	names, err := e.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range names {
		if ok, _ := path.Match(base, n); ok {
			out = append(out, path.Join(dir, n))
		}
	}
	return out, nil
}

// lines reads a file and splits it into lines.
func (e *Env) lines(p string) ([]string, error) {
	b, err := e.ReadFile(p)
	if err != nil {
		return nil, err
	}
	return strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n"), nil
}

// denied reports whether err is a permission problem.
func denied(err error) bool {
	return errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EPERM)
}

// notExist reports whether err means the file is absent.
func notExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// readErr turns an unexpected read error into a result: on a live host
// without root, a permission error means the check needs root (skip);
// anything else, and any unreadable file in an offline image, is an error
// naming the cause.
func (e *Env) readErr(err error) Result {
	if denied(err) && !e.Privileged && e.live() {
		return skip("needs root: %v", err)
	}
	return errorf("%v", err)
}

// dial opens a connection with e.Dial or a plain dialer.
func (e *Env) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if e.Dial != nil {
		return e.Dial(ctx, network, addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

// age formats a duration for evidence.
func age(d time.Duration) string {
	switch {
	case d < 0:
		return "in the future"
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h", int(d.Hours()))
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}
