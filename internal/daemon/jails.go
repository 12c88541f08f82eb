package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/rampart-ids/rampart/internal/config"
	"github.com/rampart-ids/rampart/internal/decide"
	"github.com/rampart-ids/rampart/internal/filter"
	"github.com/rampart-ids/rampart/internal/filter/date"
	"github.com/rampart-ids/rampart/internal/filterload"
	"github.com/rampart-ids/rampart/internal/finding"
	"github.com/rampart-ids/rampart/internal/jail"
	"github.com/rampart-ids/rampart/internal/origin"
)

// runJail is one configured jail at run time.
type runJail struct {
	cfg     config.Jail
	counter *jail.Jail
	stage   *decide.Jail
	filter  *filter.Filter
	sources []finding.Source // built before the jail is published (status reads them)
	ignore  *jail.Ignore
	offs    *jail.Offenders // ban history of this configuration's jails
	// distinct and origin, optional, are the decide.Jail's (a kernel
	// layer's pseudo-jail: [portscan]).
	distinct *decide.Distinct
	origin   origin.Origin
}

// build compiles filters and creates jails for the enabled jails of cfg.
func (d *Daemon) build(cfg *config.Config, offs *jail.Offenders) (map[string]*runJail, error) {
	out := map[string]*runJail{}
	var errs []error
	dates := &date.Cache{}
	for _, jc := range cfg.Enabled() {
		useDNS := jc.UseDNS == "yes" || jc.UseDNS == "warn"
		var f *filter.Filter
		if !filterload.IsDetector(jc.Filter) {
			l, err := filterload.Load(jc.FilterSpec(), d.opts.Fail2banDir, filter.Options{UseDNS: useDNS, Dates: dates})
			if err != nil {
				errs = append(errs, fmt.Errorf("jail %q: filter %q: %w", jc.Name, jc.FilterSpec(), err))
				continue
			}
			f = l.Filter
		}
		ig, err := jail.NewIgnore(jail.IgnoreConfig{
			Entries:   ignoreEntries(jc),
			Self:      jc.IgnoreSelf,
			SelfAddrs: ownAddrs,
			Resolve:   d.dns.Func(),
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("jail %q: ignoreip: %w", jc.Name, err))
			continue
		}
		j, err := jail.New(jailConfig(jc, ig, offs))
		if err != nil {
			errs = append(errs, fmt.Errorf("jail %q: %w", jc.Name, err))
			continue
		}
		out[jc.Name] = &runJail{cfg: jc, counter: j, filter: f, ignore: ig, offs: offs}
	}
	if pj, err := d.portscanJail(cfg, offs); err != nil {
		errs = append(errs, err)
	} else if pj != nil {
		out[pj.cfg.Name] = pj
	}
	errs = append(errs, d.addLimitJails(cfg, offs, out)...)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// jailConfig maps a configured jail to the counter's configuration.
func jailConfig(jc config.Jail, ig *jail.Ignore, offs *jail.Offenders) jail.Config {
	c := jail.Config{
		Name: jc.Name, MaxRetry: jc.MaxRetry, FindTime: jc.FindTime, BanTime: jc.BanTime,
		IPv4Prefix: jc.IPv4Prefix, IPv6Prefix: jc.IPv6Prefix, MaxTracked: jc.MaxTracked, Ignore: ig,
		// History for every jail: it also keeps old log lines read again
		// after a restart from banning a second time.
		History: offs.History(jc.Name),
	}
	if jc.IPv6Prefix == 128 {
		c.IPv6Prefix = 0
	}
	if jc.IPv4Prefix == 32 {
		c.IPv4Prefix = 0
	}
	if jc.Increment.Enabled {
		c.Increment = &jail.Increment{
			Factor: jc.Increment.Factor, Formula: jc.Increment.Formula, Multipliers: jc.Increment.Multipliers,
			MaxTime: jc.Increment.MaxTime, RndTime: jc.Increment.RndTime, OverallJails: jc.Increment.OverallJails,
		}
	}
	return c
}

func ignoreEntries(jc config.Jail) []string {
	var e []string
	for _, p := range jc.IgnoreIP {
		e = append(e, p.String())
	}
	return append(e, jc.IgnoreNames...)
}

// prepareSources connects every jail to the ban manager and builds its
// finding sources from the source kinds, before the jails are published
// to the control API (which reads them for status).
func (d *Daemon) prepareSources(cfg *config.Config, jails map[string]*runJail) {
	for _, rj := range jails {
		rj.stage = &decide.Jail{Name: rj.cfg.Name, Counter: rj.counter, Offenders: rj.offs, Bans: d.bans,
			Events: d.bus, OnFinding: d.met.Jail(rj.cfg.Name).Hit, Log: d.log, Distinct: rj.distinct, Origin: rj.origin}
		if rj.cfg.UseDNS == "yes" || rj.cfg.UseDNS == "warn" {
			rj.stage.Resolve = d.dns.Addrs
		}
		env := JailEnv{Jail: rj.cfg, Daemon: cfg.Daemon, Filter: rj.filter}
		for _, k := range d.kinds {
			srcs, err := k.Sources(env)
			if err != nil {
				d.log.Error("finding source", "jail", rj.cfg.Name, "kind", k.Name, "err", err)
			}
			rj.sources = append(rj.sources, srcs...)
		}
	}
}

// jailComponents are every jail's sources, each feeding the jail, and the
// jail's upkeep (sweeping old failures, refreshing its gauges).
func (d *Daemon) jailComponents(jails map[string]*runJail) []component {
	var out []component
	for _, rj := range jails {
		d.log.Info("jail started", "jail", rj.cfg.Name, "filter", rj.cfg.Filter, "reads", describeSources(rj))
		for _, src := range rj.sources {
			out = append(out, component{"jail " + rj.cfg.Name + " source", func(ctx context.Context) error {
				if err := rj.stage.Run(ctx, src); err != nil && ctx.Err() == nil {
					d.log.Error("finding source stopped", "jail", rj.cfg.Name, "err", err)
				}
				return nil
			}})
		}
		out = append(out, component{"jail " + rj.cfg.Name + " upkeep", func(ctx context.Context) error {
			d.upkeep(ctx, rj)
			return nil
		}})
	}
	return out
}

// upkeep sweeps the jail's failure window and refreshes its gauges every
// 10 s until ctx is done.
func (d *Daemon) upkeep(ctx context.Context, rj *runJail) {
	jm := d.met.Jail(rj.cfg.Name)
	var (
		evicted, unsaid uint64
		said            time.Time
	)
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			rj.counter.Sweep(now)
			if rj.distinct != nil {
				rj.distinct.Sweep(now)
			}
			st := rj.counter.Stats()
			jm.SetTracked(st.Tracked)
			n := st.Evictions - evicted
			evicted = st.Evictions
			jm.Evicted(int(n))
			// Said at most once a minute: under a flood of addresses this
			// would otherwise be a line every 10 s.
			if unsaid += n; unsaid > 0 && now.Sub(said) >= time.Minute {
				d.log.Warn("jail tracks too many addresses; the least recently seen were forgotten",
					"jail", rj.cfg.Name, "evicted", unsaid, "max_tracked", rj.cfg.MaxTracked)
				unsaid, said = 0, now
			}
			jm.SetActiveBans(d.bans.ActiveCount(rj.cfg.Name))
		}
	}
}

// describeSources names what a jail reads; with no sources at all (the
// journal could not be opened) it says so.
func describeSources(rj *runJail) string {
	out := sourceNames(rj)
	if len(out) == 0 {
		return "nothing (see the errors above)"
	}
	return strings.Join(out, ", ")
}

// sourceNames lists what a jail reads, for status.
func sourceNames(rj *runJail) []string {
	var out []string
	for _, s := range rj.sources {
		if ds, ok := s.(finding.Describer); ok {
			out = append(out, ds.Describe()...)
		}
	}
	sort.Strings(out)
	return out
}

// offenders returns the running jails' shared ban history (nil with no
// jails); a reload replaces it.
func (d *Daemon) offenders() *jail.Offenders {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, rj := range d.jails {
		return rj.offs
	}
	return nil
}

// ownAddrs lists this host's interface addresses (ignoreself).
func ownAddrs() ([]netip.Addr, error) {
	ifs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	var out []netip.Addr
	for _, a := range ifs {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			out = append(out, p.Addr().Unmap())
		}
	}
	return out, nil
}
