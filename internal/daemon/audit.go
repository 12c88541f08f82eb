package daemon

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/rampart-ids/rampart/internal/audit"
	"github.com/rampart-ids/rampart/internal/event"
)

// auditComponents runs the audit's checks against the live host every
// [audit] schedule (the first time [audit] delay after start), publishing
// an AuditResult event and the score's metrics. It takes effect at start;
// a reload does not change it.
func (d *Daemon) auditComponents() []component {
	cfg := d.config()
	if cfg.Audit.Schedule <= 0 {
		return nil
	}
	a := cfg.Audit
	socket := cfg.Daemon.Socket
	return []component{{"audit", func(ctx context.Context) error {
		t := time.NewTimer(a.Delay)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
			d.auditOnce(ctx, a.Config, socket)
			t.Reset(a.Schedule)
		}
	}}}
}

// auditOnce runs every check once and publishes the result.
func (d *Daemon) auditOnce(ctx context.Context, cfgPath, socket string) {
	ac, err := loadAuditFile(cfgPath)
	if err != nil {
		d.log.Error("audit: configuration refused; the scheduled audit did not run", "err", err)
		d.bus.Publish(event.Event{Kind: event.AuditResult, Time: time.Now(), Rule: "audit", Severity: "high", Err: err.Error()})
		return
	}
	env := audit.Live(ac, time.Now())
	env.RampartSocket = socket
	rep := audit.Run(ctx, env, audit.Checks(), audit.Options{})
	if ctx.Err() != nil {
		return // stopping: a cut-off run is no result
	}
	e, counts := auditRunEvent(rep)
	statuses := []string{string(audit.Pass), string(audit.Fail), string(audit.Warn), string(audit.Skip), string(audit.Error)}
	d.met.AuditRun(rep.Score, statuses, counts, e.Time)
	d.log.Info("audit: done", "score", rep.Score, "failing", e.Count, "took", rep.Duration.Round(time.Millisecond))
	d.bus.Publish(e)
}

// auditRunEvent is the event of one audit run: Score, Count failing checks,
// Evidence their IDs with severity and title; and the count per status.
func auditRunEvent(rep *audit.Report) (event.Event, map[string]int) {
	counts := map[string]int{}
	e := event.Event{Kind: event.AuditResult, Time: rep.Time, Rule: "audit", Score: rep.Score, Source: "rampart audit", Severity: "info"}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	for _, f := range rep.Checks {
		counts[string(f.Status)]++
		if f.Status == audit.Fail {
			e.Count++
			e.Evidence = append(e.Evidence, f.ID+" ("+f.Severity.String()+"): "+f.Title)
		}
	}
	if e.Count > 0 {
		e.Severity = "medium"
	}
	return e, counts
}

// loadAuditFile reads the audit's configuration: path, or the default
// path when that exists, or none.
func loadAuditFile(path string) (audit.Config, error) {
	if path != "" {
		return audit.LoadConfig(path)
	}
	if _, err := os.Stat(audit.DefaultConfigPath); errors.Is(err, os.ErrNotExist) {
		return audit.Config{}, nil
	}
	return audit.LoadConfig(audit.DefaultConfigPath)
}
