package decide

import (
	"net/netip"
	"sync"
	"time"
)

// Distinct makes a jail count findings of one address by their Key: a key
// seen again from the same address inside Window does not count a second
// time. A port-scan jail counts distinct destination ports this way, so
// that a client retrying one closed port is never a scanner.
type Distinct struct {
	// Window is how long a key is remembered (the jail's findtime).
	Window time.Duration
	// MaxAddrs bounds the addresses remembered; 0 means 100,000. When
	// full, every address whose keys are all older than Window is dropped,
	// and if none is, the whole memory starts over.
	MaxAddrs int

	mu   sync.Mutex
	seen map[netip.Addr]map[string]time.Time
}

// First reports whether key is new for addr within the window ending at
// t, and remembers it.
func (d *Distinct) First(addr netip.Addr, key string, t time.Time) bool {
	addr = addr.Unmap().WithZone("")
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.seen == nil {
		d.seen = map[netip.Addr]map[string]time.Time{}
	}
	keys, ok := d.seen[addr]
	if !ok {
		if max := d.maxAddrs(); len(d.seen) >= max {
			d.sweep(t)
			if len(d.seen) >= max {
				clear(d.seen)
			}
		}
		keys = map[string]time.Time{}
		d.seen[addr] = keys
	}
	for k, at := range keys {
		if t.Sub(at) > d.Window {
			delete(keys, k)
		}
	}
	if at, ok := keys[key]; ok && t.Sub(at) <= d.Window {
		return false
	}
	keys[key] = t
	return true
}

// Forget drops what is remembered of the addresses in p (after a ban).
func (d *Distinct) Forget(p netip.Prefix) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for a := range d.seen {
		if p.Contains(a) {
			delete(d.seen, a)
		}
	}
}

// Sweep drops addresses whose keys are all older than the window.
func (d *Distinct) Sweep(now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sweep(now)
}

func (d *Distinct) sweep(now time.Time) {
	for a, keys := range d.seen {
		live := false
		for _, at := range keys {
			live = live || now.Sub(at) <= d.Window
		}
		if !live {
			delete(d.seen, a)
		}
	}
}

func (d *Distinct) maxAddrs() int {
	if d.MaxAddrs > 0 {
		return d.MaxAddrs
	}
	return 100_000
}
