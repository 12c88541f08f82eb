package main

import (
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"time"

	"golang.org/x/sys/unix"
)

// portscan times port-scan bans: from each of n source addresses (held by
// the attacker namespace: -from, -from+1, …) it opens TCP connections to
// -ports closed ports of -dst, one every -interval, and waits for the
// address to be in the server's kernel sets (nftables events). The time
// counted is from the scan's first SYN (the first connect call) to the
// transaction that adds the ban.
//
//	benchtool portscan -ns SERVER -atk ATTACKER -dst ADDR -from ADDR -n 200 -ports 20 -interval 0 -gap 150ms
func portscan(args []string) error {
	fs := flag.NewFlagSet("portscan", flag.ExitOnError)
	ns := fs.String("ns", "", "the server's network namespace (where rampart runs)")
	atk := fs.String("atk", "", "the attacker's network namespace")
	dst := fs.String("dst", "", "the server's address")
	from := fs.String("from", "", "the attacker's first address")
	n := fs.Int("n", 200, "scans (one source address each)")
	ports := fs.Int("ports", 20, "closed ports each scan tries")
	first := fs.Int("first-port", 1000, "the first closed port")
	interval := fs.Duration("interval", 0, "pause between two probes of a scan (0: as fast as connect(2) goes)")
	gap := fs.Duration("gap", 150*time.Millisecond, "pause between two scans (the kernel's log rate limit is shared by all sources: back-to-back scans would measure it)")
	fs.Parse(args)
	dstA, err := netip.ParseAddr(*dst)
	if err != nil {
		return err
	}
	src, err := netip.ParseAddr(*from)
	if err != nil {
		return err
	}
	w, err := watch(*ns)
	if err != nil {
		return err
	}
	defer w.close()
	nsf, err := os.Open("/run/netns/" + *atk)
	if err != nil {
		return err
	}
	defer nsf.Close()
	var lat []time.Duration
	for i := range *n {
		start, fds, err := scan(int(nsf.Fd()), src, dstA, *first, *ports, *interval)
		if err != nil {
			return fmt.Errorf("scan %d from %s: %w", i, src, err)
		}
		at, err := w.wait(src, start.Add(10*time.Second))
		for _, fd := range fds {
			unix.Close(fd)
		}
		if err != nil {
			return fmt.Errorf("scan %d: %w", i, err)
		}
		lat = append(lat, at.Sub(start))
		src = src.Next()
		time.Sleep(*gap)
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	fmt.Printf("portscan: %d scans of %d closed ports, one probe every %v: first SYN -> ban in the kernel (nftables events): p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms\n",
		len(lat), *ports, *interval, ms(pct(0.50)), ms(pct(0.90)), ms(pct(0.99)), ms(lat[len(lat)-1]))
	return nil
}

// scan opens non-blocking TCP connections from src to ports of dst inside
// the namespace nsfd and returns when it sent the first SYN; the caller
// closes the sockets.
func scan(nsfd int, src, dst netip.Addr, first, ports int, interval time.Duration) (time.Time, []int, error) {
	type result struct {
		start time.Time
		fds   []int
		err   error
	}
	done := make(chan result, 1)
	go func() {
		// This thread enters the attacker's namespace and is never given
		// back to the runtime's pool (it ends with the goroutine).
		runtime.LockOSThread()
		if err := unix.Setns(nsfd, unix.CLONE_NEWNET); err != nil {
			done <- result{err: err}
			return
		}
		var r result
		var (
			fam = unix.AF_INET6
			sa  unix.Sockaddr
		)
		if src.Is4() {
			fam, sa = unix.AF_INET, &unix.SockaddrInet4{Addr: src.As4()}
		} else {
			sa = &unix.SockaddrInet6{Addr: src.As16()}
		}
		for p := range ports {
			fd, err := unix.Socket(fam, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				r.err = err
				break
			}
			r.fds = append(r.fds, fd)
			if err := unix.Bind(fd, sa); err != nil {
				r.err = err
				break
			}
			var to unix.Sockaddr
			if dst.Is4() {
				to = &unix.SockaddrInet4{Addr: dst.As4(), Port: first + p}
			} else {
				to = &unix.SockaddrInet6{Addr: dst.As16(), Port: first + p}
			}
			if p == 0 {
				r.start = time.Now()
			}
			if err := unix.Connect(fd, to); err != nil && !errors.Is(err, unix.EINPROGRESS) {
				r.err = err
				break
			}
			if interval > 0 {
				time.Sleep(interval)
			}
		}
		done <- r
	}()
	r := <-done
	return r.start, r.fds, r.err
}
