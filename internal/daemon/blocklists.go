package daemon

import (
	"context"
	"net/netip"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/rampart-ids/rampart/internal/blocklist"
	"github.com/rampart-ids/rampart/internal/firewall/nft"
)

// listRepairEvery is how often the kernel is checked for the lists' sets
// (an nft flush ruleset removes them; they are put back from memory).
const listRepairEvery = 30 * time.Second

// blocklists enforces the [blocklists.NAME] lists: each is read from its
// saved copy at start (no window after a restart), fetched at once and
// then every `every`, and replaced in the kernel in one transaction when
// it changed. Every jail's ignoreip is cut out of every list.
type blocklists struct {
	d     *Daemon
	k     blocklist.Kernel
	allow []netip.Prefix

	mu    sync.Mutex
	state map[string]*listState
}

// listState is what the daemon knows of one list.
type listState struct {
	ranges  []blocklist.Range
	entries int
	updated time.Time
	err     string
}

// blocklistComponents runs the lists, when some are configured and the
// firewall is nftables (the lists are nftables interval sets). It takes
// effect at start; a reload does not change it.
func (d *Daemon) blocklistComponents() []component {
	cfg := d.config()
	if len(cfg.Blocklists) == 0 {
		return nil
	}
	if _, ok := d.fw.(*nft.Backend); !ok {
		d.log.Error("blocklists: off: they are enforced as nftables interval sets, and the firewall backend is not nftables", "backend", cfg.Daemon.Firewall)
		return nil
	}
	b := &blocklists{d: d, state: map[string]*listState{}}
	for _, j := range cfg.Jails {
		b.allow = append(b.allow, j.IgnoreIP...)
	}
	b.allow = append(b.allow, cfg.Fleet.IgnoreIP...)
	d.lists = b
	var out []component
	for _, l := range cfg.Blocklists {
		src := &blocklist.Source{Name: l.Name, URL: l.URL, File: l.File, Format: blocklist.Format(l.Format), MaxEntries: l.MaxEntries,
			Dir: filepath.Join(cfg.Daemon.StateDir, "blocklists")}
		every := l.Every
		out = append(out, component{"blocklist " + l.Name, func(ctx context.Context) error { return b.run(ctx, src, every) }})
	}
	return out
}

func (b *blocklists) run(ctx context.Context, src *blocklist.Source, every time.Duration) error {
	log := b.d.log.With("list", src.Name)
	if r, err := src.Cached(); err == nil && src.File == "" {
		b.apply(src.Name, r, "saved copy")
	}
	fetch := func() {
		f, err := src.Fetch(ctx)
		if err != nil {
			if ctx.Err() == nil {
				log.Error("blocklist: not updated", "err", err)
				b.fail(src.Name, err)
			}
			return
		}
		if f.Changed || !b.has(src.Name) {
			b.apply(src.Name, f.Result, f.From)
		}
		if f.Skipped > 0 {
			log.Warn("blocklist: entries skipped", "skipped", f.Skipped, "first", f.Errors[0].Error())
		}
	}
	fetch()
	tick := time.NewTicker(every)
	defer tick.Stop()
	repair := time.NewTicker(listRepairEvery)
	defer repair.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			fetch()
		case <-repair.C:
			if ok, err := b.k.Present(src.Name); err == nil && !ok {
				b.mu.Lock()
				st := b.state[src.Name]
				b.mu.Unlock()
				if st != nil {
					log.Warn("blocklist: its sets were removed from the kernel; restoring", "ranges", len(st.ranges))
					if err := b.k.Replace(src.Name, st.ranges); err != nil {
						log.Error("blocklist: restore failed", "err", err)
					}
				}
			}
		}
	}
}

// apply puts a list in force: its ranges, minus every ignoreip, replace
// the kernel's in one transaction.
func (b *blocklists) apply(name string, r blocklist.Result, from string) {
	start := time.Now()
	ranges := blocklist.Ranges(r.Prefixes, b.allow)
	if err := b.k.Replace(name, ranges); err != nil {
		b.d.log.Error("blocklist: the kernel refused it; the previous version stays", "list", name, "err", err)
		b.fail(name, err)
		return
	}
	b.mu.Lock()
	b.state[name] = &listState{ranges: ranges, entries: len(r.Prefixes), updated: time.Now()}
	b.mu.Unlock()
	b.d.met.Blocklist(name, len(r.Prefixes), len(ranges), time.Now())
	b.d.log.Info("blocklist in force", "list", name, "from", from, "entries", len(r.Prefixes), "ranges", len(ranges), "took", time.Since(start).Round(time.Millisecond))
}

func (b *blocklists) fail(name string, err error) {
	b.d.met.BlocklistError(name)
	b.mu.Lock()
	defer b.mu.Unlock()
	if st := b.state[name]; st != nil {
		st.err = err.Error()
	} else {
		b.state[name] = &listState{err: err.Error()}
	}
}

func (b *blocklists) has(name string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := b.state[name]
	return st != nil && !st.updated.IsZero()
}

// containing names the lists in force that hold a, sorted.
func (b *blocklists) containing(a netip.Addr) []string {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for name, st := range b.state {
		if blocklist.Contains(st.ranges, a) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

