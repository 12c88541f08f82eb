package daemon

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/rampart-ids/rampart/internal/config"
	"github.com/rampart-ids/rampart/internal/detect"
	"github.com/rampart-ids/rampart/internal/event"
	"github.com/rampart-ids/rampart/internal/filter"
	"github.com/rampart-ids/rampart/internal/finding"
	"github.com/rampart-ids/rampart/internal/logsource"
	"github.com/rampart-ids/rampart/internal/metrics"
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
	// Filter is the jail's compiled filter.
	Filter *filter.Filter
}

// builtinSources is the list of source kinds rampart has; a new kind is
// one more entry (Options.Sources adds kinds without changing this file).
func (d *Daemon) builtinSources() []SourceKind {
	return []SourceKind{
		{Name: "log", Sources: d.logSources},
	}
}

// journalLabel is the metrics label and finding source of journal lines.
const journalLabel = "journald"

// logSources reads a jail's log files, or the journal, through its filter.
func (d *Daemon) logSources(env JailEnv) ([]finding.Source, error) {
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
	var out []finding.Source
	var errs []error
	for _, pattern := range src.Files {
		if abs, err := filepath.Abs(pattern); err == nil {
			pattern = abs // as the source names itself, for the metrics label
		}
		f, err := logsource.NewFile(logsource.FileConfig{
			Name: jc.Name, Pattern: pattern, Positions: positions{d.store},
			Start: logsource.StartFindTime, FindTime: jc.FindTime, TimeOf: timeOf(env.Filter),
			Poll: src.Polling, MaxLineBytes: env.Daemon.MaxLineBytes, Logger: d.log, OnError: d.readError(pattern),
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", pattern, err))
			continue
		}
		out = append(out, d.logDetector(f, env.Filter, pattern, rule))
	}
	if len(errs) > 0 {
		return out, fmt.Errorf("log files: %v", errs)
	}
	return out, nil
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
