package daemon

import (
	"context"
	"net/netip"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rampart-ids/rampart/internal/blocklist"
	"github.com/rampart-ids/rampart/internal/config"
	"github.com/rampart-ids/rampart/internal/firewall/nft"
)

// bigList is the size from which a list's load is followed by returning
// the freed memory to the system at once.
const bigList = 100000

// listRepairEvery is how often the kernel is checked for the lists' sets
// (an nft flush ruleset removes them; they are put back from memory).
const listRepairEvery = 30 * time.Second

// blocklists enforces the [blocklists.NAME] lists: each is read from its
// saved copy at start (no window after a restart), fetched at once and
// then every `every`, and replaced in the kernel in one transaction when
// it changed. Every jail's ignoreip is cut out of every list. A reload
// starts the lists added, stops the ones removed (their rules and sets
// leave the kernel) and restarts the ones changed (a changed ignoreip
// changes them all); a list left as it was goes on untouched.
type blocklists struct {
	d *Daemon
	k blocklist.Kernel

	mu    sync.Mutex
	ctx   context.Context // the component's, once it runs
	state map[string]*listState
	runs  map[string]*listRun
}

// listState is what the daemon knows of one list.
type listState struct {
	ranges  []blocklist.Range
	entries int
	updated time.Time
	err     string
}

// listRun is one list's running fetcher and what it was started with.
type listRun struct {
	spec   config.Blocklist
	allow  []netip.Prefix
	cancel context.CancelFunc
	done   chan struct{}
}

// blocklistComponents returns the lists' component. It runs even without
// lists, so that a reload can add some.
func (d *Daemon) blocklistComponents() []component {
	b := &blocklists{d: d, state: map[string]*listState{}, runs: map[string]*listRun{}}
	d.lists = b
	return []component{{"blocklists", b.serve}}
}

// serve puts the configured lists in force and stops them when ctx is
// done (their sets stay in the kernel until on_stop flushes the table).
func (b *blocklists) serve(ctx context.Context) error {
	b.mu.Lock()
	b.ctx = ctx
	b.mu.Unlock()
	b.configure(b.d.config(), "start")
	<-ctx.Done()
	b.mu.Lock()
	runs := b.runs
	b.runs = map[string]*listRun{}
	b.mu.Unlock()
	for _, r := range runs {
		r.cancel()
		<-r.done
	}
	return nil
}

// reloadBlocklists applies a reloaded configuration's lists.
func (d *Daemon) reloadBlocklists(cfg *config.Config) {
	if d.lists != nil {
		d.lists.configure(cfg, "reload")
	}
}

// allowOf is what no list may block: every jail's ignoreip and the
// fleet's.
func allowOf(cfg *config.Config) []netip.Prefix {
	var allow []netip.Prefix
	for _, j := range cfg.Jails {
		allow = append(allow, j.IgnoreIP...)
	}
	return append(allow, cfg.Fleet.IgnoreIP...)
}

// configure makes the running lists those of cfg.
func (b *blocklists) configure(cfg *config.Config, when string) {
	if _, ok := b.d.fw.(*nft.Backend); !ok {
		if len(cfg.Blocklists) > 0 {
			var names []string
			for _, l := range cfg.Blocklists {
				names = append(names, l.Name)
			}
			b.d.log.Error("blocklists: REFUSED, not enforced: they are nftables interval sets and the firewall backend is not nftables; set [daemon] firewall = \"nftables\" (a restart), or remove the [blocklists] sections",
				"backend", cfg.Daemon.Firewall, "lists", strings.Join(names, ","), "at", when)
		}
		return
	}
	allow := allowOf(cfg)
	want := map[string]config.Blocklist{}
	for _, l := range cfg.Blocklists {
		want[l.Name] = l
	}
	b.mu.Lock()
	ctx := b.ctx
	if ctx == nil || ctx.Err() != nil {
		b.mu.Unlock()
		return
	}
	var removed, stopped []*listRun
	var removedNames []string
	moved := map[string]bool{} // lists whose source changed: their saved copy is another list's
	for name, r := range b.runs {
		l, ok := want[name]
		switch {
		case !ok:
			removed = append(removed, r)
			removedNames = append(removedNames, name)
			delete(b.runs, name)
		case l != r.spec || !slices.Equal(allow, r.allow):
			stopped = append(stopped, r)
			delete(b.runs, name)
			moved[name] = l.URL != r.spec.URL || l.File != r.spec.File
		}
	}
	b.mu.Unlock()
	for _, r := range append(removed, stopped...) {
		r.cancel()
		<-r.done
	}
	for _, name := range removedNames {
		if err := b.k.Remove(name); err != nil {
			b.d.log.Error("blocklist: removing its sets from the kernel", "list", name, "err", err)
		} else {
			b.d.log.Info("blocklist removed", "list", name, "at", when)
		}
		b.mu.Lock()
		delete(b.state, name)
		b.mu.Unlock()
		b.d.met.ForgetBlocklist(name)
	}
	for _, r := range stopped {
		b.d.log.Info("blocklist changed; reading it again", "list", r.spec.Name, "at", when)
	}
	dir := filepath.Join(cfg.Daemon.StateDir, "blocklists")
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, l := range cfg.Blocklists {
		if _, ok := b.runs[l.Name]; ok {
			continue
		}
		src := &blocklist.Source{Name: l.Name, URL: l.URL, File: l.File, Format: blocklist.Format(l.Format), MaxEntries: l.MaxEntries, Dir: dir}
		rctx, cancel := context.WithCancel(ctx)
		r := &listRun{spec: l, allow: allow, cancel: cancel, done: make(chan struct{})}
		b.runs[l.Name] = r
		// A changed list is applied whole again (the new version replaces
		// the old one in the kernel in one transaction: no window).
		if st := b.state[l.Name]; st != nil {
			st.updated = time.Time{}
		}
		saved := !moved[l.Name]
		go func() {
			defer close(r.done)
			b.run(rctx, src, l.Every, allow, saved)
		}()
	}
}

// run keeps one list in force until ctx is done: the saved copy first
// (unless saved is false: the list's source changed), then what each
// fetch brings.
func (b *blocklists) run(ctx context.Context, src *blocklist.Source, every time.Duration, allow []netip.Prefix, saved bool) {
	log := b.d.log.With("list", src.Name)
	if r, err := src.Cached(); err == nil && src.File == "" && saved {
		b.apply(src.Name, r, "saved copy", allow)
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
			b.apply(src.Name, f.Result, f.From, allow)
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
			return
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
func (b *blocklists) apply(name string, r blocklist.Result, from string, allow []netip.Prefix) {
	start := time.Now()
	entries := r.Len()
	ranges := r.Ranges(allow)
	if err := b.k.Replace(name, ranges); err != nil {
		b.d.log.Error("blocklist: the kernel refused it; the previous version stays", "list", name, "err", err)
		b.fail(name, err)
		return
	}
	b.mu.Lock()
	b.state[name] = &listState{ranges: ranges, entries: entries, updated: time.Now()}
	b.mu.Unlock()
	b.d.met.Blocklist(name, entries, len(ranges), time.Now())
	b.d.log.Info("blocklist in force", "list", name, "from", from, "entries", entries, "ranges", len(ranges), "took", time.Since(start).Round(time.Millisecond))
	if entries >= bigList {
		// A big list's parse and load leave tens of MB of garbage the
		// runtime would return to the system only slowly; one forced
		// collection (a few ms with the daemon's small heap) returns
		// them now. It lowers the RSS after the load, not its peak.
		debug.FreeOSMemory()
	}
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
