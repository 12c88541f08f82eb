// Package detect turns what sources read into findings: a log line that a
// filter matches becomes a finding with its time, address or host name,
// rule and evidence. It is the detection stage of the pipeline and knows
// nothing of jails' decisions, the store or the firewall.
package detect

import (
	"context"
	"time"

	"github.com/rampart-ids/rampart/internal/filter"
	"github.com/rampart-ids/rampart/internal/finding"
	"github.com/rampart-ids/rampart/internal/logsource"
)

// LiveSkew is how far a live line's time may be from now before it is
// taken as happening now (Fail2ban does the same: clocks and time zones of
// services are often off).
const LiveSkew = time.Minute

// Observer counts what a log detector reads (metrics). Methods are called
// from the source's goroutine, once per line: keep them cheap.
type Observer interface {
	LineRead(truncated bool)
	// Lag is how far behind the line's own time it was read (live lines).
	Lag(d time.Duration)
}

// Log is a finding source made of a log source and the filter that
// matches its lines.
type Log struct {
	// Lines is the log source (a followed file, the journal).
	Lines logsource.Source
	// Filter matches lines; each Log has its own matcher (per-stream state).
	Filter *filter.Filter
	// Name is the finding's Source: the file pattern, or "journald".
	Name string
	// Rule names the filter in findings.
	Rule string
	// Observer may be nil.
	Observer Observer
	// Now defaults to time.Now.
	Now func() time.Time
}

var _ finding.Source = (*Log)(nil)

// Run reads lines until ctx is done and emits a finding for each line the
// filter reports as a failure.
func (l *Log) Run(ctx context.Context, emit func(finding.Finding)) error {
	m := l.Filter.NewMatcher()
	now := l.Now
	if now == nil {
		now = time.Now
	}
	var res filter.Result
	return l.Lines.Run(ctx, func(line logsource.Line) {
		t0 := now()
		if l.Observer != nil {
			l.Observer.LineRead(line.Truncated)
		}
		if !line.Time.IsZero() {
			res = m.MatchAt(line.Body(), line.Time)
		} else {
			m.MatchInto(line.Bytes, t0, &res)
		}
		if res.HasTime && !line.Backlog && l.Observer != nil {
			l.Observer.Lag(t0.Sub(res.Time))
		}
		if res.Kind != filter.Hit {
			return
		}
		f := finding.Finding{
			Time: when(res, line.Backlog, t0), Addr: res.Addr, Host: res.Host,
			Source: l.Name, Rule: l.Rule, Severity: finding.Medium,
			Evidence: string(line.Bytes), Read: t0, Backlog: line.Backlog,
		}
		emit(f)
	})
}

// when is a failure's time: its own, unless a live line's time is too far
// from now to be trusted.
func when(res filter.Result, backlog bool, now time.Time) time.Time {
	if !res.HasTime {
		return now
	}
	t := res.Time
	if !backlog && (t.Sub(now) > LiveSkew || now.Sub(t) > LiveSkew) {
		return now
	}
	return t
}

// Describe says what the log source reads.
func (l *Log) Describe() []string {
	if d, ok := l.Lines.(finding.Describer); ok {
		return d.Describe()
	}
	return []string{l.Name}
}
