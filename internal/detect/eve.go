package detect

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/rampart-ids/rampart/internal/eve"
	"github.com/rampart-ids/rampart/internal/finding"
	"github.com/rampart-ids/rampart/internal/logsource"
)

// Eve is a finding source of Suricata alerts: the lines of an eve.json
// file (followed like any log, with rotation and saved positions) whose
// event_type is "alert". Flow, http, dns and other events are ignored.
type Eve struct {
	Lines logsource.Source
	// Name is the findings' Source (the eve.json path).
	Name string
	// SingleHit is the highest Suricata severity number that bans on one
	// alert (1 is Suricata's most severe); alerts of a larger number count
	// to the jail's maxretry. 0: every alert counts.
	SingleHit int
	// Local reports the host's own addresses: an alert whose source is
	// local (a reply) is about its destination.
	Local func(netip.Addr) bool
	// Observer may be nil; OnBadLine, when set, is told of lines that are
	// not eve JSON.
	Observer  Observer
	OnBadLine func(err error)
	Now       func() time.Time
}

var _ finding.Source = (*Eve)(nil)

// Run reads alerts until ctx is done.
func (e *Eve) Run(ctx context.Context, emit func(finding.Finding)) error {
	now := e.Now
	if now == nil {
		now = time.Now
	}
	return e.Lines.Run(ctx, func(line logsource.Line) {
		t0 := now()
		if e.Observer != nil {
			e.Observer.LineRead(line.Truncated)
		}
		a, ok, err := eve.Parse(line.Bytes)
		if err != nil {
			if e.OnBadLine != nil && !line.Truncated {
				e.OnBadLine(err)
			}
			return
		}
		if !ok {
			return
		}
		if !line.Backlog && e.Observer != nil {
			e.Observer.Lag(t0.Sub(a.Time))
		}
		addr := a.Src
		if e.Local != nil && e.Local(addr) && !e.Local(a.Dst) {
			addr = a.Dst
		}
		t := a.Time
		if !line.Backlog && (t.Sub(t0) > LiveSkew || t0.Sub(t) > LiveSkew) {
			t = t0
		}
		emit(finding.Finding{
			Time: t, Addr: addr, Source: e.Name,
			Rule:      fmt.Sprintf("suricata:%d", a.SignatureID),
			Severity:  severity(a.Severity),
			SingleHit: e.SingleHit > 0 && a.Severity >= 1 && a.Severity <= e.SingleHit,
			Evidence:  fmt.Sprintf("%s [%s] %s:%d -> %s:%d %s", a.Signature, a.Category, a.Src, a.SrcPort, a.Dst, a.DstPort, a.Proto),
			Read:      t0, Backlog: line.Backlog,
		})
	})
}

// severity maps Suricata's severity (1 highest) to a finding's.
func severity(s int) finding.Severity {
	switch s {
	case 1:
		return finding.High
	case 2:
		return finding.Medium
	case 3:
		return finding.Low
	}
	return finding.Info
}

// Describe says what the source reads.
func (e *Eve) Describe() []string {
	if d, ok := e.Lines.(finding.Describer); ok {
		return d.Describe()
	}
	return []string{e.Name}
}
