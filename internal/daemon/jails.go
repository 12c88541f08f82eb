package daemon

import (
	"context"
	"net/netip"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rampart-ids/rampart/internal/config"
	"github.com/rampart-ids/rampart/internal/filter"
	"github.com/rampart-ids/rampart/internal/logsource"
	"github.com/rampart-ids/rampart/internal/store"
)

// liveSkew is how far a live line's time may be from now before it is
// treated as happening now (Fail2ban does the same: clocks and time zones
// of services are often off).
const liveSkew = time.Minute

// startJails starts every jail's sources; the returned channel closes when
// all have stopped.
func (d *Daemon) startJails(ctx context.Context, jails map[string]*runJail) chan struct{} {
	done := make(chan struct{})
	var wg sync.WaitGroup
	for _, rj := range jails {
		d.log.Info("jail started", "jail", rj.cfg.Name, "filter", rj.cfg.Filter, "reads", sourceSpecs(rj))
		for _, src := range rj.sources {
			wg.Add(1)
			go func(rj *runJail, src source) {
				defer wg.Done()
				d.runSource(ctx, rj, src)
			}(rj, src)
		}
		wg.Add(1)
		go func(rj *runJail) {
			defer wg.Done()
			jm := d.met.Jail(rj.cfg.Name)
			var evicted uint64
			t := time.NewTicker(10 * time.Second)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case now := <-t.C:
					rj.jail.Sweep(now)
					st := rj.jail.Stats()
					jm.SetTracked(st.Tracked)
					jm.Evicted(int(st.Evictions - evicted))
					evicted = st.Evictions
					jm.SetActiveBans(d.bans.ActiveCount(rj.cfg.Name))
				}
			}
		}(rj)
	}
	go func() { wg.Wait(); close(done) }()
	return done
}

// prepareSources builds every jail's log sources, before the jails are
// published to the control API (which reads them for status).
func (d *Daemon) prepareSources(cfg *config.Config, jails map[string]*runJail) {
	for _, rj := range jails {
		rj.sources = d.sourcesFor(cfg, rj)
	}
}

// sourcesFor builds the log sources of a jail.
func (d *Daemon) sourcesFor(cfg *config.Config, rj *runJail) []source {
	src := rj.cfg.Source(filepath.Glob)
	var out []source
	if src.Journal {
		matches := src.JournalMatch
		if len(matches) == 0 && rj.filter.Definition().JournalMatch != "" {
			matches, _ = logsource.ParseJournalMatch(rj.filter.Definition().JournalMatch)
		}
		sm := d.met.Source(journalLabel)
		j, err := logsource.NewJournal(logsource.JournalConfig{
			Name: rj.cfg.Name, Matches: matches, Positions: positions{d.store},
			FindTime: rj.cfg.FindTime, Logger: d.log, OnError: sm.ReadError,
		})
		if err != nil {
			d.log.Error("journal source", "jail", rj.cfg.Name, "err", err)
			return nil
		}
		return append(out, j)
	}
	for _, pattern := range src.Files {
		if abs, err := filepath.Abs(pattern); err == nil {
			pattern = abs // as the source names itself, for the metrics label
		}
		sm := d.met.Source(pattern)
		f, err := logsource.NewFile(logsource.FileConfig{
			Name: rj.cfg.Name, Pattern: pattern, Positions: positions{d.store},
			Start: logsource.StartFindTime, FindTime: rj.cfg.FindTime, TimeOf: timeOf(rj.filter),
			Poll: src.Polling, MaxLineBytes: cfg.Daemon.MaxLineBytes, Logger: d.log, OnError: sm.ReadError,
		})
		if err != nil {
			d.log.Error("log source", "jail", rj.cfg.Name, "pattern", pattern, "err", err)
			continue
		}
		out = append(out, f)
	}
	return out
}

func (d *Daemon) cfg0() configView {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cfg == nil {
		return configView{}
	}
	return configView{Daemon: d.cfg.Daemon}
}

// timeOf finds a line's time with the jail's own date detection, for the
// source's findtime seek at first start.
func timeOf(f *filter.Filter) func([]byte) (time.Time, bool) {
	m := f.NewMatcher()
	return func(b []byte) (time.Time, bool) { return m.Time(b, time.Now()) }
}

// runSource feeds a source's lines through the jail's filter and jail.
// Each source has its own matcher (per-stream state); the jail and the
// ban manager are shared and safe for concurrent use.
func (d *Daemon) runSource(ctx context.Context, rj *runJail, src source) {
	m := rj.filter.NewMatcher()
	sm := d.met.Source(sourceLabel(src))
	jm := d.met.Jail(rj.cfg.Name)
	emit := func(l logsource.Line) {
		now := time.Now()
		sm.LineRead()
		if l.Truncated {
			sm.LineTruncated()
		}
		var res filter.Result
		if !l.Time.IsZero() {
			res = m.MatchAt(l.Body(), l.Time)
		} else {
			res = m.Match(l.Bytes, now)
		}
		if res.HasTime && !l.Backlog {
			d.met.Lag(now.Sub(res.Time))
		}
		if res.Kind != filter.Hit {
			return
		}
		jm.Hit()
		t := now
		if res.HasTime {
			t = res.Time
			if !l.Backlog && (t.Sub(now) > liveSkew || now.Sub(t) > liveSkew) {
				t = now
			}
		}
		addrs := []netip.Addr{res.Addr}
		if !res.Addr.IsValid() {
			if !rj.useDNS || res.Host == "" {
				return
			}
			ips, err := d.resolveCached(ctx, res.Host)
			if err != nil {
				d.log.Debug("cannot resolve host name of a failure", "jail", rj.cfg.Name, "host", res.Host, "err", err)
				return
			}
			addrs = ips
		}
		for _, a := range addrs {
			dec, ok := rj.jail.Fail(a, t)
			if !ok {
				continue
			}
			until, timed := dec.Until()
			if timed && !until.After(now) {
				continue // an old ban read back from the log: already over
			}
			b := store.Ban{Jail: rj.cfg.Name, Prefix: dec.Prefix, Since: now, Count: dec.Count + 1, Source: store.SourceFilter}
			if timed {
				b.Until = until
			}
			rj.offs.Record(rj.cfg.Name, dec.Prefix, now)
			d.bans.Enqueue(ctx, b)
		}
	}
	if err := src.Run(ctx, emit); err != nil && ctx.Err() == nil {
		d.log.Error("log source stopped", "jail", rj.cfg.Name, "err", err)
	}
}

// journalLabel is the metrics label of journal sources.
const journalLabel = "journald"

// sourceLabel is a source's label in the metrics: its file pattern, or
// journald.
func sourceLabel(src source) string {
	if f, ok := src.(*logsource.File); ok {
		return f.Pattern()
	}
	return journalLabel
}

// sourceSpecs names what a jail was set up to read: file patterns, or
// journald with its matches. With no sources at all (the journal could not
// be opened) it says so.
func sourceSpecs(rj *runJail) string {
	var out []string
	for _, s := range rj.sources {
		switch v := s.(type) {
		case *logsource.File:
			out = append(out, v.Pattern())
		case *logsource.Journal:
			out = append(out, "journald")
		}
	}
	if len(out) == 0 {
		return "nothing (see the errors above)"
	}
	return strings.Join(out, ", ")
}

// sourceNames lists what a jail reads, for status.
func sourceNames(rj *runJail) []string {
	var out []string
	for _, s := range rj.sources {
		switch v := s.(type) {
		case *logsource.File:
			for _, st := range v.Status() {
				out = append(out, st.Path+" ("+string(st.State)+")")
			}
			if len(v.Status()) == 0 {
				out = append(out, v.Pattern()+" (no file yet)")
			}
		case *logsource.Journal:
			out = append(out, "journald")
		}
	}
	sort.Strings(out)
	return out
}
