package daemon

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/rampart-ids/rampart/internal/auditlog"
	"github.com/rampart-ids/rampart/internal/config"
	"github.com/rampart-ids/rampart/internal/event"
	"github.com/rampart-ids/rampart/internal/logsource"
)

// auditdComponents follows auditd's log when [auditd] is enabled: an event
// whose rule key is configured becomes an IntegrityChange event. It takes
// effect at start; a reload does not change it.
func (d *Daemon) auditdComponents() []component {
	cfg := d.config().Auditd
	if !cfg.Enabled {
		return nil
	}
	return []component{{"auditd log", func(ctx context.Context) error { return d.runAuditd(ctx, cfg) }}}
}

const auditdLabel = "auditd"

func (d *Daemon) runAuditd(ctx context.Context, cfg config.Auditd) error {
	f, err := logsource.NewFile(logsource.FileConfig{
		Name: auditdLabel, Pattern: cfg.Log, Positions: positions{d.store}, Start: logsource.StartEnd,
		Logger: d.log, OnError: d.readError(auditdLabel), MaxLineBytes: 1 << 20,
	})
	if err != nil {
		d.log.Error("auditd log: off", "err", err)
		return nil
	}
	var mu sync.Mutex
	asm := auditlog.NewAssembler()
	bad := 0
	handle := func(evs []auditlog.Event) {
		for _, ev := range evs {
			a, ok := auditlog.Describe(ev)
			if !ok {
				continue
			}
			for _, k := range a.Keys {
				if slices.Contains(cfg.Keys, k) {
					d.bus.Publish(auditEvent(cfg.Log, k, a))
					break
				}
			}
		}
	}
	// An event whose end record is late is flushed after a quiet spell.
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				mu.Lock()
				evs := asm.Flush(time.Now())
				mu.Unlock()
				handle(evs)
			}
		}
	}()
	d.log.Info("auditd log: following", "file", cfg.Log, "keys", cfg.Keys)
	err = f.Run(ctx, func(l logsource.Line) {
		r, err := auditlog.Parse(l.Bytes)
		mu.Lock()
		if err != nil {
			bad++
			if bad == 1 || bad%1000 == 0 {
				d.log.Warn("auditd log: unreadable line skipped", "file", l.Path, "offset", l.Offset, "err", err, "skipped", bad)
			}
			mu.Unlock()
			return
		}
		evs := asm.Add(r)
		mu.Unlock()
		handle(evs)
	})
	if err != nil && ctx.Err() == nil {
		d.log.Error("auditd log: stopped", "err", err)
	}
	return nil
}

// auditEvent is the event of one watched access: Path the file, Reason the
// syscall, Rule the key; evidence names the executable, auid and uid.
func auditEvent(source, key string, a auditlog.Access) event.Event {
	sev := "high"
	if a.Success == "no" {
		sev = "medium" // an attempt the kernel refused
	}
	ev := []string{
		fmt.Sprintf("key %s: %s %s (success %s)", key, a.Syscall, a.File(), a.Success),
		"exe " + strconv.QuoteToGraphic(a.Exe) + " comm " + strconv.QuoteToGraphic(a.Comm) + " pid " + strconv.Itoa(a.PID),
		a.Who(),
	}
	if a.Proctitle != "" {
		ev = append(ev, "proctitle "+strconv.QuoteToGraphic(a.Proctitle))
	}
	if a.CWD != "" {
		ev = append(ev, "cwd "+strconv.QuoteToGraphic(a.CWD))
	}
	ev = append(ev, fmt.Sprintf("audit serial %d at %s", a.Serial, a.Time.UTC().Format(time.RFC3339Nano)))
	return event.Event{Kind: event.IntegrityChange, Time: time.Now(), Rule: "auditd " + key, Source: source,
		Path: a.File(), Reason: "audit " + a.Syscall, Severity: sev, Evidence: ev}
}
