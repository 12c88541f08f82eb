package detect

import (
	"context"
	"fmt"
	"time"

	"github.com/rampart-ids/rampart/internal/accesslog"
	"github.com/rampart-ids/rampart/internal/finding"
	"github.com/rampart-ids/rampart/internal/logsource"
	"github.com/rampart-ids/rampart/internal/webattack"
)

// Web is a finding source of web attacks: the lines of an access log
// (nginx, Apache, Caddy, Traefik; followed like any log) scanned by the
// web-attack rules. A request whose score reaches webattack's single-hit
// score bans on its own; weaker ones count to the jail's maxretry.
type Web struct {
	Lines logsource.Source
	// Rules are the compiled rules; each Web makes its own detector.
	Rules  *webattack.Ruleset
	Format accesslog.Format
	// Name is the findings' Source (the log path).
	Name      string
	Observer  Observer
	OnBadLine func(err error)
	Now       func() time.Time
}

var _ finding.Source = (*Web)(nil)

// Run reads requests until ctx is done.
func (w *Web) Run(ctx context.Context, emit func(finding.Finding)) error {
	now := w.Now
	if now == nil {
		now = time.Now
	}
	d := w.Rules.NewDetector(w.Format)
	var res webattack.Result
	return w.Lines.Run(ctx, func(line logsource.Line) {
		t0 := now()
		if w.Observer != nil {
			w.Observer.LineRead(line.Truncated)
		}
		skipped := d.Stats.Skipped
		hit := d.Scan(line.Bytes, &res)
		if d.Stats.Skipped != skipped {
			if w.OnBadLine != nil {
				w.OnBadLine(d.LastError())
			}
			return
		}
		if !hit {
			return
		}
		r := d.Request()
		addr, err := r.IP()
		if err != nil {
			return
		}
		t, ok := r.When()
		if !ok || !line.Backlog && (t.Sub(t0) > LiveSkew || t0.Sub(t) > LiveSkew) {
			t = t0
		}
		top := res.Top()
		emit(finding.Finding{
			Time: t, Addr: addr.Unmap(), Source: w.Name,
			Rule:      top.Rule.ID + " " + top.Rule.Category,
			Severity:  webSeverity(res.Severity),
			SingleHit: res.SingleHit,
			Evidence:  fmt.Sprintf("%s %s=%q score %d: %s", top.Rule.ID, top.Field, top.Fragment, res.Score, line.Bytes),
			Read:      t0, Backlog: line.Backlog,
		})
	})
}

// webSeverity maps a web rule's severity to a finding's.
func webSeverity(s webattack.Severity) finding.Severity {
	switch s {
	case webattack.Low:
		return finding.Low
	case webattack.Medium:
		return finding.Medium
	case webattack.High:
		return finding.High
	}
	return finding.Critical
}

// Describe says what the source reads.
func (w *Web) Describe() []string {
	if d, ok := w.Lines.(finding.Describer); ok {
		return d.Describe()
	}
	return []string{w.Name}
}
