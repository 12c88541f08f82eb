package daemon

import (
	"context"
	"maps"
	"net/netip"
	"slices"
	"sort"
	"time"

	"github.com/rampart-ids/rampart/internal/control"
	"github.com/rampart-ids/rampart/internal/logsource"
	"github.com/rampart-ids/rampart/internal/origin"
	"github.com/rampart-ids/rampart/internal/store"
)

var _ control.API = (*Daemon)(nil)

// Status implements control.API.
func (d *Daemon) Status(ctx context.Context, name string) (control.StatusReply, error) {
	d.mu.Lock()
	jails := d.jails
	d.mu.Unlock()
	var names []string
	for n := range jails {
		if name == "" || n == name {
			names = append(names, n)
		}
	}
	if name != "" && len(names) == 0 && name != ManualJail && d.bans.ActiveCount(name) == 0 {
		return control.StatusReply{}, control.Errorf(control.ErrNotFound, "no jail %q is running", name)
	}
	sort.Strings(names)
	active := d.bans.Active()
	var rep control.StatusReply
	for _, n := range names {
		rj := jails[n]
		st := rj.counter.Stats()
		js := control.JailStatus{
			Name: n, Filter: rj.cfg.FilterSpec(), Sources: sourceNames(rj),
			FailuresNow: st.Tracked, FailuresTotal: int64(st.Failures),
			BannedTotal: d.bans.Total(n),
		}
		for _, b := range active {
			if b.Jail == n {
				js.Banned = append(js.Banned, b.Prefix)
			}
		}
		js.BannedNow = len(js.Banned)
		rep.Jails = append(rep.Jails, js)
	}
	// Bans of jails no longer configured are shown under their jail's name
	// until they end.
	orphans := map[string][]netip.Prefix{}
	for _, b := range active {
		if _, ok := jails[b.Jail]; !ok && b.Jail != ManualJail && (name == "" || name == b.Jail) {
			orphans[b.Jail] = append(orphans[b.Jail], b.Prefix)
		}
	}
	for _, n := range slices.Sorted(maps.Keys(orphans)) {
		rep.Jails = append(rep.Jails, control.JailStatus{Name: n, Filter: "-", Sources: []string{"(not configured: its bans stay in force until they end)"},
			BannedNow: len(orphans[n]), BannedTotal: d.bans.Total(n), Banned: orphans[n]})
	}
	if name == "" || name == ManualJail {
		js := control.JailStatus{Name: ManualJail, Filter: "-", BannedTotal: d.bans.Total(ManualJail)}
		for _, b := range active {
			if b.Jail == ManualJail {
				js.Banned = append(js.Banned, b.Prefix)
			}
		}
		js.BannedNow = len(js.Banned)
		if name == ManualJail || js.BannedNow > 0 || js.BannedTotal > 0 {
			rep.Jails = append(rep.Jails, js)
		}
	}
	rep.StateError, rep.Unstored = d.bans.StoreState()
	return rep, nil
}

// Ban implements control.API: a manual ban, refused for ignoreip addresses
// of the jail unless forced.
func (d *Daemon) Ban(ctx context.Context, req control.BanRequest) (control.BanReply, error) {
	jname := req.Jail
	if jname == "" {
		jname = ManualJail
	}
	d.mu.Lock()
	rj := d.jails[jname]
	d.mu.Unlock()
	if rj == nil && jname != ManualJail {
		return control.BanReply{}, control.Errorf(control.ErrNotFound, "no jail %q is running", jname)
	}
	now := time.Now()
	dur := time.Duration(req.DurationSeconds) * time.Second
	if req.DurationSeconds == 0 {
		dur = 10 * time.Minute
		if rj != nil {
			dur = rj.cfg.BanTime
		}
	}
	if !req.Force {
		for _, r := range d.jailsSnapshot() {
			if a, ok := r.ignoredIn(req.Prefix, now); ok {
				if req.Prefix.IsSingleIP() {
					return control.BanReply{}, control.Errorf(control.ErrRefused, "%s is in jail %q's ignoreip (use --force to ban it anyway)", a, r.cfg.Name)
				}
				return control.BanReply{}, control.Errorf(control.ErrRefused, "%s covers %s, which is in jail %q's ignoreip (ban a narrower network, or use --force to ban it anyway)", req.Prefix, a, r.cfg.Name)
			}
		}
	}
	already := d.bans.IsBanned(jname, req.Prefix)
	b := store.Ban{Jail: jname, Prefix: req.Prefix, Since: now, Count: 1, Origin: origin.OfManual(control.Caller(ctx))}
	if req.DurationSeconds >= 0 && dur > 0 {
		b.Until = now.Add(dur)
	}
	if err := d.bans.Add(ctx, []store.Ban{b}); err != nil {
		return control.BanReply{}, err
	}
	return control.BanReply{Jail: jname, Prefix: req.Prefix, Until: b.Until, Already: already}, nil
}

func (rj *runJail) ignoredIn(p netip.Prefix, now time.Time) (netip.Addr, bool) {
	if rj.ignore == nil {
		return netip.Addr{}, false
	}
	return rj.ignore.Overlaps(p, now)
}

func (d *Daemon) jailsSnapshot() []*runJail {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]*runJail, 0, len(d.jails))
	for _, rj := range d.jails {
		out = append(out, rj)
	}
	return out
}

// Unban implements control.API.
func (d *Daemon) Unban(ctx context.Context, req control.UnbanRequest) (control.UnbanReply, error) {
	removed, err := d.bans.Remove(ctx, req.Jail, req.Prefix, req.All, control.Caller(ctx))
	rep := control.UnbanReply{Removed: []control.BannedEntry{}}
	for _, b := range removed {
		rep.Removed = append(rep.Removed, entry(b))
		for _, rj := range d.jailsSnapshot() {
			if rj.cfg.Name == b.Jail {
				rj.counter.Forget(b.Prefix)
			}
		}
	}
	return rep, err
}

// Banned implements control.API.
func (d *Daemon) Banned(ctx context.Context) ([]control.BannedEntry, error) {
	out := []control.BannedEntry{}
	for _, b := range d.bans.Active() {
		out = append(out, entry(b))
	}
	return out, nil
}

func entry(b store.Ban) control.BannedEntry {
	return control.BannedEntry{Jail: b.Jail, Prefix: b.Prefix, Since: b.Since, Until: b.Until, Count: b.Count, Origin: b.Origin}
}

// positions adapts the store to logsource.PositionStore (same fields).
type positions struct{ s *store.Store }

func (p positions) Position(ctx context.Context, key string) (logsource.Position, bool, error) {
	sp, ok, err := p.s.Position(ctx, key)
	return logsource.Position(sp), ok, err
}

func (p positions) SavePositions(ctx context.Context, ps []logsource.Position) error {
	out := make([]store.Position, len(ps))
	for i, x := range ps {
		out[i] = store.Position(x)
	}
	return p.s.SavePositions(ctx, out)
}
