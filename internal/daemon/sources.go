package daemon

import (
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/rampart-ids/rampart/internal/accesslog"
	"github.com/rampart-ids/rampart/internal/config"
	"github.com/rampart-ids/rampart/internal/detect"
	"github.com/rampart-ids/rampart/internal/eve"
	"github.com/rampart-ids/rampart/internal/event"
	"github.com/rampart-ids/rampart/internal/filter"
	"github.com/rampart-ids/rampart/internal/finding"
	"github.com/rampart-ids/rampart/internal/logsource"
	"github.com/rampart-ids/rampart/internal/metrics"
	"github.com/rampart-ids/rampart/internal/webattack"
)

// SourceKind is one kind of finding source: log files and journald today;
// kernel logs, access logs, eve.json, file integrity later. For every jail
// the daemon asks each kind for the jail's sources of that kind.
type SourceKind struct {
	// Name names the kind in errors.
	Name string
	// Sources returns the jail's sources of this kind: none when the kind
	// does not apply to the jail. An error is logged and the jail runs
	// with the sources that could be made.
	Sources func(env JailEnv) ([]finding.Source, error)
}

// JailEnv is what a SourceKind gets to build a jail's sources.
type JailEnv struct {
	Jail   config.Jail
	Daemon config.Daemon
	// Filter is the jail's compiled filter; nil when the jail's filter
	// names a detector (filterload.Detectors).
	Filter *filter.Filter
}

// builtinSources is the list of source kinds rampart has; a new kind is
// one more entry (Options.Sources adds kinds without changing this file).
func (d *Daemon) builtinSources() []SourceKind {
	return []SourceKind{
		{Name: "log", Sources: d.logSources},
		{Name: "suricata", Sources: d.eveSources},
		{Name: "web-attacks", Sources: d.webSources},
		{Name: "kernel limits", Sources: d.limitSources},
	}
}

// journalLabel is the metrics label and finding source of journal lines.
const journalLabel = "journald"

// logSources reads a jail's log files, or the journal, through its filter.
func (d *Daemon) logSources(env JailEnv) ([]finding.Source, error) {
	if env.Filter == nil {
		return nil, nil // a detector's jail
	}
	jc := env.Jail
	src := jc.Source(filepath.Glob)
	rule := jc.FilterSpec()
	if src.Journal {
		matches := src.JournalMatch
		if len(matches) == 0 && env.Filter.Definition().JournalMatch != "" {
			matches, _ = logsource.ParseJournalMatch(env.Filter.Definition().JournalMatch)
		}
		j, err := logsource.NewJournal(logsource.JournalConfig{
			Name: jc.Name, Matches: matches, Positions: positions{d.store},
			FindTime: jc.FindTime, Logger: d.log, OnError: d.readError(journalLabel),
		})
		if err != nil {
			return nil, fmt.Errorf("journal: %w", err)
		}
		return []finding.Source{d.logDetector(j, env.Filter, journalLabel, rule)}, nil
	}
	return d.fileSources(env, src, fileKind{"log files", timeOf(env.Filter), env.Daemon.MaxLineBytes},
		func(f *logsource.File, pattern string) finding.Source {
			return d.logDetector(f, env.Filter, pattern, rule)
		})
}

// fileKind is what differs between the file sources of the source kinds.
type fileKind struct {
	what   string                         // for errors: "log files", "eve.json files"
	timeOf func([]byte) (time.Time, bool) // a line's time, for the findtime seek
	max    int                            // longest line kept whole
}

// fileSources follows each file of the jail's logpath and wraps it in the
// kind's finding source.
func (d *Daemon) fileSources(env JailEnv, src config.Source, k fileKind, wrap func(f *logsource.File, pattern string) finding.Source) ([]finding.Source, error) {
	jc := env.Jail
	var out []finding.Source
	var errs []error
	for _, pattern := range src.Files {
		if abs, err := filepath.Abs(pattern); err == nil {
			pattern = abs // as the source names itself, for the metrics label
		}
		f, err := logsource.NewFile(logsource.FileConfig{
			Name: jc.Name, Pattern: pattern, Positions: positions{d.store},
			Start: logsource.StartFindTime, FindTime: jc.FindTime, TimeOf: k.timeOf,
			Poll: src.Polling, MaxLineBytes: k.max, Logger: d.log, OnError: d.readError(pattern),
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", pattern, err))
			continue
		}
		out = append(out, wrap(f, pattern))
	}
	if len(errs) > 0 {
		return out, fmt.Errorf("%s: %v", k.what, errs)
	}
	return out, nil
}

// eveSources reads Suricata's alerts from the eve.json files of a jail
// whose filter is "suricata".
func (d *Daemon) eveSources(env JailEnv) ([]finding.Source, error) {
	jc := env.Jail
	if jc.Filter != "suricata" {
		return nil, nil
	}
	src := jc.Source(filepath.Glob)
	if src.Journal {
		return nil, fmt.Errorf("filter suricata reads eve.json files: set logpath (e.g. /var/log/suricata/eve.json) and backend = \"auto\" or \"polling\"")
	}
	local := localAddrs(d.log)
	return d.fileSources(env, src, fileKind{"eve.json files", eveTime, max(env.Daemon.MaxLineBytes, 1<<20)},
		func(f *logsource.File, pattern string) finding.Source {
			return &detect.Eve{Lines: f, Name: pattern, SingleHit: jc.SuricataSingleHit, Local: local,
				Observer: sourceObserver{d.met.Source(pattern), d.met}, OnBadLine: d.badLines(jc.Name, pattern)}
		})
}

// badLines logs lines a source cannot read, at most once a minute.
func (d *Daemon) badLines(jail, path string) func(error) {
	var said time.Time
	skipped := 0
	return func(err error) {
		skipped++
		if time.Since(said) >= time.Minute {
			d.log.Warn("skipping lines that are not in the source's format", "jail", jail, "path", path, "skipped", skipped, "last", err)
			said, skipped = time.Now(), 0
		}
	}
}

// webSources scans the access logs of a jail whose filter is
// "web-attacks" with the built-in web-attack rules.
func (d *Daemon) webSources(env JailEnv) ([]finding.Source, error) {
	jc := env.Jail
	if jc.Filter != "web-attacks" {
		return nil, nil
	}
	src := jc.Source(filepath.Glob)
	if src.Journal {
		return nil, fmt.Errorf("filter web-attacks reads access log files: set logpath (e.g. /var/log/nginx/access.log) and backend = \"auto\" or \"polling\"")
	}
	rules, err := d.webRules(jc.WebTextParams)
	if err != nil {
		return nil, err
	}
	return d.fileSources(env, src, fileKind{"access logs", accessTime, env.Daemon.MaxLineBytes},
		func(f *logsource.File, pattern string) finding.Source {
			return &detect.Web{Lines: f, Rules: rules, Format: accesslog.Auto, Name: pattern,
				Observer: sourceObserver{d.met.Source(pattern), d.met}, OnBadLine: d.badLines(jc.Name, pattern)}
		})
}

// webRules compiles the built-in web-attack rules, with a jail's own text
// parameters (web_text_params) added to the free-text ones; once for each
// list of them.
func (d *Daemon) webRules(textParams []string) (*webattack.Ruleset, error) {
	key := strings.Join(textParams, "\x00")
	d.webMu.Lock()
	defer d.webMu.Unlock()
	if rs := d.web[key]; rs != nil {
		return rs, nil
	}
	rules, err := webattack.BuiltinRules()
	if err != nil {
		return nil, err
	}
	ft, err := webattack.BuiltinFreeText()
	if err != nil {
		return nil, err
	}
	ft.Always = textParams
	rs, err := webattack.Compile(rules, webattack.WithFreeText(ft))
	if err != nil {
		return nil, err
	}
	if d.web == nil {
		d.web = map[string]*webattack.Ruleset{}
	}
	d.web[key] = rs
	return rs, nil
}

// accessTime finds an access-log line's time, for the findtime seek.
func accessTime(b []byte) (time.Time, bool) {
	var r accesslog.Request
	if accesslog.NewParser(accesslog.Auto).Parse(b, &r) != nil {
		return time.Time{}, false
	}
	return r.When()
}

// eveTime finds an eve.json line's time, for the findtime seek at start.
func eveTime(b []byte) (time.Time, bool) {
	a, ok, err := eve.Parse(b)
	if err != nil || !ok {
		return time.Time{}, false
	}
	return a.Time, true
}

// localAddrs reports the host's own addresses (read once).
func localAddrs(log *slog.Logger) func(netip.Addr) bool {
	addrs, err := ownAddrs()
	if err != nil {
		log.Warn("listing this host's addresses", "err", err)
	}
	return func(a netip.Addr) bool { return slices.Contains(addrs, a) || a.IsLoopback() }
}

// logDetector turns a log source's lines into findings through f.
func (d *Daemon) logDetector(src logsource.Source, f *filter.Filter, name, rule string) *detect.Log {
	return &detect.Log{Lines: src, Filter: f, Name: name, Rule: rule, Observer: sourceObserver{d.met.Source(name), d.met}}
}

// readError counts a source's read error and publishes it.
func (d *Daemon) readError(name string) func() {
	sm := d.met.Source(name)
	return func() {
		sm.ReadError()
		d.bus.Publish(event.Event{Kind: event.SourceError, Time: time.Now(), Source: name})
	}
}

// timeOf finds a line's time with the jail's own date detection, for the
// source's findtime seek at first start.
func timeOf(f *filter.Filter) func([]byte) (time.Time, bool) {
	m := f.NewMatcher()
	return func(b []byte) (time.Time, bool) { return m.Time(b, time.Now()) }
}

// sourceObserver feeds a log detector's counts to the metrics.
type sourceObserver struct {
	sm  *metrics.SourceMetrics
	met *metrics.Metrics
}

func (o sourceObserver) LineRead(truncated bool) {
	o.sm.LineRead()
	if truncated {
		o.sm.LineTruncated()
	}
}

func (o sourceObserver) Lag(d time.Duration) { o.met.Lag(d) }
