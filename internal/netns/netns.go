// Package netns gives tests throw-away Linux network namespaces: create one,
// wire namespaces together with veth pairs carrying documentation addresses,
// run a command or a Go function inside, and delete everything on cleanup.
//
// It shells out to iproute2 (`ip`) for setup, which is what an administrator
// would type and what Debian installs by default. Every helper needs root;
// callers skip first with [SkipUnlessRoot].
package netns

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// SkipUnlessRoot skips t with a clear message unless the test runs as root,
// which creating network namespaces needs.
func SkipUnlessRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: needs root to create network namespaces (CI runs as root)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("skipping: iproute2 (`ip`) is not installed; run scripts/deps.sh")
	}
}

// NS is one named network namespace owned by a test.
type NS struct {
	// Name is the namespace's name under /run/netns, usable with `ip netns exec`.
	Name string

	fd int // open handle on /run/netns/Name, closed on cleanup

	mu    sync.Mutex
	links int // interfaces created so far, to name the next one
}

// New creates the namespace "rampart-<name>-<pid>-<hash of the test's
// name>", brings its loopback up and registers its deletion with t.Cleanup.
// Parallel tests get distinct namespaces; within one test, names must
// differ. A leftover namespace of the same name (from a crashed run) is
// deleted first.
func New(t testing.TB, name string) *NS {
	t.Helper()
	h := fnv.New32a()
	h.Write([]byte(t.Name()))
	full := fmt.Sprintf("rampart-%s-%d-%08x", name, os.Getpid(), h.Sum32())
	if _, err := os.Stat("/run/netns/" + full); err == nil {
		_ = run(context.Background(), "ip", "netns", "del", full)
	}
	if err := run(context.Background(), "ip", "netns", "add", full); err != nil {
		t.Fatalf("netns %q: %v", full, err)
	}
	ns := &NS{Name: full, fd: -1}
	t.Cleanup(func() {
		if ns.fd >= 0 {
			_ = unix.Close(ns.fd)
		}
		if err := run(context.Background(), "ip", "netns", "del", full); err != nil {
			t.Errorf("netns %q: delete: %v", full, err)
		}
	})
	fd, err := unix.Open("/run/netns/"+full, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("netns %q: open: %v", full, err)
	}
	ns.fd = fd
	if err := run(context.Background(), "ip", "-n", full, "link", "set", "lo", "up"); err != nil {
		t.Fatalf("netns %q: loopback up: %v", full, err)
	}
	return ns
}

// Fd returns a file descriptor referring to the namespace, valid until the
// test ends; netlink libraries accept it to talk to the namespace without
// switching threads (for example nftables.WithNetNSFd).
func (ns *NS) Fd() int { return ns.fd }

// Prefix returns the argv prefix that runs a command inside the namespace:
// `ip netns exec NAME`.
func (ns *NS) Prefix() []string { return []string{"ip", "netns", "exec", ns.Name} }

// Command returns an *exec.Cmd that runs argv inside the namespace. The
// caller starts it and owns the process (kill it in t.Cleanup).
func (ns *NS) Command(ctx context.Context, argv ...string) *exec.Cmd {
	args := append(ns.Prefix(), argv...)
	return exec.CommandContext(ctx, args[0], args[1:]...)
}

// Exec runs argv inside the namespace to completion and returns its combined
// output; a non-zero exit is an error that includes the output.
func (ns *NS) Exec(ctx context.Context, argv ...string) (string, error) {
	cmd := ns.Command(ctx, argv...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("netns %s: %s: %w: %s", ns.Name, strings.Join(argv, " "), err, strings.TrimSpace(out.String()))
	}
	return out.String(), nil
}

// MustExec is Exec that fails the test on error.
func (ns *NS) MustExec(t testing.TB, argv ...string) string {
	t.Helper()
	out, err := ns.Exec(context.Background(), argv...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Do runs f on an OS thread switched into the namespace and returns f's
// error. Sockets f creates stay in the namespace after Do returns, so a
// listener opened in Do can be served from any goroutine. Goroutines that f
// starts run outside the namespace. The thread is discarded if it cannot be
// switched back.
func (ns *NS) Do(f func() error) error {
	type result struct{ err error }
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{fmt.Errorf("netns %s: open own namespace: %w", ns.Name, err)}
			return
		}
		defer unix.Close(orig)
		if err := unix.Setns(ns.fd, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			done <- result{fmt.Errorf("netns %s: setns: %w", ns.Name, err)}
			return
		}
		ferr := f()
		if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
			// Leave the thread locked: the runtime destroys it when this
			// goroutine exits, so no other goroutine runs in the namespace.
			done <- result{errors.Join(ferr, fmt.Errorf("netns %s: restore namespace: %w", ns.Name, err))}
			return
		}
		runtime.UnlockOSThread()
		done <- result{ferr}
	}()
	return (<-done).err
}

// Link connects namespaces a and b with a veth pair, assigns aAddrs to a's
// end and bAddrs to b's end (prefixes such as 192.0.2.1/24 or
// 2001:db8::1/64; IPv6 duplicate address detection is skipped so they are
// usable at once), brings both ends up and returns the interface names.
func Link(t testing.TB, a, b *NS, aAddrs, bAddrs []netip.Prefix) (aIf, bIf string) {
	t.Helper()
	aIf, bIf = a.nextIf(), b.nextIf()
	ctx := context.Background()
	steps := [][]string{
		{"ip", "-n", a.Name, "link", "add", aIf, "type", "veth", "peer", "name", bIf, "netns", b.Name},
	}
	for _, s := range steps {
		if err := run(ctx, s...); err != nil {
			t.Fatalf("netns link %s-%s: %v", a.Name, b.Name, err)
		}
	}
	for _, side := range []struct {
		ns    *NS
		ifc   string
		addrs []netip.Prefix
	}{{a, aIf, aAddrs}, {b, bIf, bAddrs}} {
		for _, p := range side.addrs {
			args := []string{"ip", "-n", side.ns.Name, "addr", "add", p.String(), "dev", side.ifc}
			if p.Addr().Is6() {
				args = append(args, "nodad")
			}
			if err := run(ctx, args...); err != nil {
				t.Fatalf("netns link: %v", err)
			}
		}
		if err := run(ctx, "ip", "-n", side.ns.Name, "link", "set", side.ifc, "up"); err != nil {
			t.Fatalf("netns link: %v", err)
		}
	}
	return aIf, bIf
}

// nextIf names the namespace's next veth end: eth0, eth1, ...
func (ns *NS) nextIf() string {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	name := fmt.Sprintf("eth%d", ns.links)
	ns.links++
	return name
}

func run(ctx context.Context, argv ...string) error {
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
