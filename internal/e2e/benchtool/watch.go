package main

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/google/nftables"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// watchRcvBuf is the receive buffer of the event socket: the kernel sends
// one message per element, ~120 bytes each, and a flood of 10,000 bans
// arrives within milliseconds.
const watchRcvBuf = 32 << 20

// watcher subscribes to the nftables events of a namespace and records
// when each address was first added to a set: the moment the kernel
// committed the transaction that holds it (the monitor hands a
// transaction's elements over with its closing NEWGEN message). No polling,
// so the measurement costs the daemon no CPU.
type watcher struct {
	ns  *os.File // kept open while the monitor's socket lives
	mon *nftables.Monitor

	mu      sync.Mutex
	seen    map[netip.Addr]time.Time
	batches int           // transactions that added elements
	err     error         // the monitor stopped (ENOBUFS: events were lost)
	changed chan struct{} // closed and replaced at every event batch
}

func watch(ns string) (*watcher, error) {
	fd, err := os.Open("/run/netns/" + ns)
	if err != nil {
		return nil, err
	}
	bigBuf := func(c *netlink.Conn) error {
		rc, err := c.SyscallConn()
		if err != nil {
			return err
		}
		var serr error
		if err := rc.Control(func(s uintptr) {
			serr = unix.SetsockoptInt(int(s), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, watchRcvBuf)
		}); err != nil {
			return err
		}
		return serr
	}
	conn, err := nftables.New(nftables.WithNetNSFd(int(fd.Fd())), nftables.WithSockOptions(bigBuf))
	if err != nil {
		fd.Close()
		return nil, err
	}
	mon := nftables.NewMonitor(
		nftables.WithMonitorAction(nftables.MonitorActionNew),
		nftables.WithMonitorObject(nftables.MonitorObjectElements),
		nftables.WithMonitorEventBuffer(1024))
	events, err := conn.AddGenerationalMonitor(mon)
	if err != nil {
		fd.Close()
		return nil, fmt.Errorf("nftables monitor: %w", err)
	}
	w := &watcher{ns: fd, mon: mon, seen: map[netip.Addr]time.Time{}, changed: make(chan struct{})}
	go w.run(events)
	return w, nil
}

func (w *watcher) run(events chan *nftables.MonitorEvents) {
	for evs := range events {
		now := time.Now()
		w.mu.Lock()
		if evs.GeneratedBy != nil && evs.GeneratedBy.Type == nftables.MonitorEventTypeOOB {
			w.err = fmt.Errorf("nftables monitor: %v", evs.GeneratedBy.Error)
		}
		added := false
		for _, ev := range evs.Changes {
			if ev.Type == nftables.MonitorEventTypeOOB {
				w.err = fmt.Errorf("nftables monitor: %v", ev.Error)
				continue
			}
			elems, ok := ev.Data.([]nftables.SetElement)
			if ev.Type != nftables.MonitorEventTypeNewSetElem || !ok {
				continue
			}
			for _, e := range elems {
				if e.IntervalEnd {
					continue
				}
				a, ok := netip.AddrFromSlice(e.Key)
				if !ok {
					continue
				}
				if _, dup := w.seen[a]; !dup {
					w.seen[a] = now
				}
				added = true
			}
		}
		if added {
			w.batches++
		}
		close(w.changed)
		w.changed = make(chan struct{})
		w.mu.Unlock()
	}
	w.mu.Lock()
	if w.err == nil {
		w.err = errors.New("nftables monitor: closed")
	}
	close(w.changed)
	w.changed = make(chan struct{})
	w.mu.Unlock()
}

// wait returns when the kernel first held a, waiting until deadline.
func (w *watcher) wait(a netip.Addr, deadline time.Time) (time.Time, error) {
	for {
		w.mu.Lock()
		at, ok := w.seen[a]
		err, ch := w.err, w.changed
		w.mu.Unlock()
		switch {
		case ok:
			return at, nil
		case err != nil:
			return time.Time{}, err
		}
		select {
		case <-ch:
		case <-time.After(time.Until(deadline)):
			return time.Time{}, fmt.Errorf("%s not in the kernel by the deadline", a)
		}
	}
}

// waitCount returns when the kernel had received n distinct addresses
// that match (all, with a nil match), waiting until deadline.
func (w *watcher) waitCount(n int, match func(netip.Addr) bool, deadline time.Time) (time.Time, error) {
	for {
		w.mu.Lock()
		got, last := 0, time.Time{}
		for a, at := range w.seen {
			if match == nil || match(a) {
				got++
				if at.After(last) {
					last = at
				}
			}
		}
		err, ch := w.err, w.changed
		w.mu.Unlock()
		switch {
		case got >= n:
			return last, nil
		case err != nil:
			return time.Time{}, fmt.Errorf("%d of %d addresses seen: %w", got, n, err)
		}
		select {
		case <-ch:
		case <-time.After(time.Until(deadline)):
			return time.Time{}, fmt.Errorf("%d of %d addresses in the kernel by the deadline", got, n)
		}
	}
}

// transactions returns how many kernel transactions added elements.
func (w *watcher) transactions() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.batches
}

// count returns how many seen addresses match.
func (w *watcher) count(match func(netip.Addr) bool) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for a := range w.seen {
		if match(a) {
			n++
		}
	}
	return n
}

func (w *watcher) close() {
	w.mon.Close()
	w.ns.Close()
}
