package daemon

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/rampart-ids/rampart/internal/config"
	"github.com/rampart-ids/rampart/internal/event"
	"github.com/rampart-ids/rampart/internal/fim"
)

// fimComponents is file integrity in the daemon, when [fim] is enabled: a
// full re-check every fim.schedule and the realtime watcher of
// fim.realtime, both publishing IntegrityChange events. They take effect
// at start; a reload does not change them.
func (d *Daemon) fimComponents() []component {
	cfg := d.config().FIM
	if !cfg.Enabled {
		return nil
	}
	f := &fimRunner{d: d, cfg: fimConfig(cfg), reported: map[string]bool{}}
	return []component{{"fim", f.run}}
}

// fimConfig turns the [fim] section into the fim package's settings.
func fimConfig(c config.FIM) fim.Config {
	return fim.Config{
		Enabled: c.Enabled, Paths: c.Paths, Exclude: c.Exclude, Realtime: c.Realtime,
		Schedule: c.Schedule.String(), Baseline: c.Baseline,
	}
}

// fimRunner runs the schedule and the watcher; reported holds the changes
// already published (path, kind, new value) so that a change still there
// at the next check is not published again until it changes once more.
type fimRunner struct {
	d   *Daemon
	cfg fim.Config

	mu       sync.Mutex
	reported map[string]bool
	// accepts is how many accepts the baseline held when last loaded: a
	// new one (rampart fim accept) is published with who ran it.
	accepts int
}

func (f *fimRunner) options(full bool) fim.Options {
	return fim.Options{
		Config: f.cfg, Full: full, By: "rampart daemon",
		Warn: func(p string, err error) { f.d.log.Debug("fim: file not fully read", "path", p, "err", err) },
	}
}

func (f *fimRunner) run(ctx context.Context) error {
	log := f.d.log
	b, err := f.baseline(ctx)
	if err != nil {
		log.Error("fim: no usable baseline; file integrity is off until it is fixed", "err", err)
		f.d.bus.Publish(event.Event{Kind: event.IntegrityChange, Time: time.Now(), Path: f.cfg.Baseline,
			Rule: "fim", Source: "fim", Reason: "baseline-refused", Severity: "critical", Evidence: []string{err.Error()}})
		return nil
	}
	f.accepts = len(b.Meta.Accepts)
	var wg sync.WaitGroup
	defer wg.Wait()
	if len(f.cfg.Realtime) > 0 {
		w, err := fim.NewWatcher(b, f.options(false))
		if err != nil {
			log.Error("fim: realtime watching is off", "err", err)
		} else {
			w.SetReady(func() {
				log.Info("fim: watching realtime paths", "paths", len(f.cfg.Realtime), "attribution", w.Attribution())
			})
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := w.Run(ctx, func(c fim.Change) { f.publish("fim realtime", []fim.Change{c}) }); err != nil {
					log.Error("fim: realtime watching stopped", "err", err)
				}
			}()
		}
	}
	every, err := time.ParseDuration(f.cfg.Schedule)
	if err != nil || every <= 0 {
		every = time.Hour
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			f.check(ctx)
		}
	}
}

// baseline loads the baseline, taking one first when there is none (an
// event says so). A baseline that fails its checks is refused, never
// replaced.
func (f *fimRunner) baseline(ctx context.Context) (*fim.Baseline, error) {
	file := f.cfg.Baseline
	if _, err := os.Lstat(file); errors.Is(err, os.ErrNotExist) {
		start := time.Now()
		rep, err := fim.Init(ctx, f.options(false))
		if err != nil {
			return nil, err
		}
		f.d.log.Info("fim: no baseline yet; took one", "file", file, "files", rep.Files, "took", time.Since(start).Round(time.Millisecond))
		f.d.bus.Publish(event.Event{Kind: event.IntegrityChange, Time: time.Now(), Path: file, Rule: "fim", Source: "fim",
			Reason: "baseline-created", Severity: "info", Count: rep.Files,
			Evidence: []string{"no baseline existed: the current state of fim.paths was recorded", "digest sha256:" + hex.EncodeToString(rep.Digest[:])}})
	}
	return fim.Load(file)
}

// check runs one full re-check against the baseline as it is now on disk
// (an accept since is taken into account) and publishes what is new.
func (f *fimRunner) check(ctx context.Context) {
	b, err := fim.Load(f.cfg.Baseline)
	if err != nil {
		f.d.log.Error("fim: scheduled check: baseline refused", "err", err)
		f.d.bus.Publish(event.Event{Kind: event.IntegrityChange, Time: time.Now(), Path: f.cfg.Baseline,
			Rule: "fim", Source: "fim schedule", Reason: "baseline-refused", Severity: "critical", Evidence: []string{err.Error()}})
		return
	}
	f.publishAccepts(b.Meta.Accepts)
	start := time.Now()
	rep, err := fim.Check(ctx, b, f.options(true))
	if err != nil {
		if ctx.Err() == nil {
			f.d.log.Error("fim: scheduled check failed", "err", err)
		}
		return
	}
	f.d.log.Info("fim: scheduled check", "files", rep.Files, "changes", len(rep.Changes), "tampering", rep.Tampering(), "took", time.Since(start).Round(time.Millisecond))
	now := make(map[string]bool, len(rep.Changes))
	var fresh []fim.Change
	f.mu.Lock()
	for _, c := range rep.Changes {
		k := changeKey(c)
		now[k] = true
		if !f.reported[k] {
			fresh = append(fresh, c)
		}
	}
	f.reported = now
	f.mu.Unlock()
	f.publishEvents("fim schedule", fresh)
}

// publishAccepts publishes the accepts made since the baseline was last
// loaded (an integrity-change event with reason baseline-accepted).
func (f *fimRunner) publishAccepts(all []fim.AcceptRecord) {
	n := f.accepts
	f.accepts = len(all)
	if n > len(all) {
		n = 0 // a new baseline (fim init): its accepts are all new
	}
	for _, a := range all[n:] {
		paths := "all of fim.paths"
		if len(a.Paths) > 0 {
			paths = strings.Join(a.Paths, ", ")
		}
		f.d.bus.Publish(event.Event{Kind: event.IntegrityChange, Time: time.Now(), Path: f.cfg.Baseline, Rule: "fim", Source: "fim schedule",
			Reason: "baseline-accepted", Severity: "info", Count: a.Changes,
			Evidence: []string{fmt.Sprintf("accepted by %s at %s: %s (%d changes)", a.By, a.Time.UTC().Format(time.RFC3339), paths, a.Changes)}})
	}
}

func changeKey(c fim.Change) string {
	return c.Path + "\x00" + string(c.Kind) + "\x00" + c.Attr + "\x00" + c.New
}

// publish records cs as reported and publishes them.
func (f *fimRunner) publish(source string, cs []fim.Change) {
	f.mu.Lock()
	for _, c := range cs {
		f.reported[changeKey(c)] = true
	}
	f.mu.Unlock()
	f.publishEvents(source, cs)
}

func (f *fimRunner) publishEvents(source string, cs []fim.Change) {
	for _, c := range cs {
		e := integrityEvent(source, c)
		if source == "fim realtime" && e.Severity == "medium" {
			// The realtime paths are the ones chosen as sensitive
			// (accounts, sudoers, SSH): a change there is high.
			e.Severity = "high"
		}
		f.d.log.Warn("fim: file changed", "path", e.Path, "reason", e.Reason, "severity", e.Severity, "source", source)
		f.d.bus.Publish(e)
	}
}

// integrityEvent is the event of one change: Reason is the kind of change,
// or package-upgrade (-install, -reinstall) when dpkg explains it.
func integrityEvent(source string, c fim.Change) event.Event {
	e := event.Event{Kind: event.IntegrityChange, Time: time.Now(), Rule: "fim", Source: source, Path: c.Path,
		Reason: string(c.Kind), Severity: fimSeverity(c), Evidence: []string{c.String()}}
	if c.Old != "" {
		e.Evidence = append(e.Evidence, "old "+c.Old)
	}
	if c.New != "" {
		e.Evidence = append(e.Evidence, "new "+c.New)
	}
	if p := c.Package; p != nil {
		switch p.Verdict {
		case fim.VerdictUpgrade, fim.VerdictInstall, fim.VerdictReinstall:
			e.Reason = p.Verdict
		case fim.VerdictTampered:
			e.Reason = string(c.Kind) + " (tampered)"
		}
		e.Evidence = append(e.Evidence, "package "+p.Name+" "+p.OldVersion+" -> "+p.NewVersion+": "+p.Verdict)
	}
	if c.Proc != nil {
		e.Evidence = append(e.Evidence, "process "+c.Proc.String())
	}
	return e
}

// fimSeverity: what a package run explains is info; privilege (SUID, SGID,
// a capability) and a packaged file that differs from its package are
// critical; a changed owner, type or link high; the rest medium.
func fimSeverity(c fim.Change) string {
	if p := c.Package; p != nil && p.Verdict != fim.VerdictTampered && p.Verdict != fim.VerdictRestored {
		return "info"
	}
	switch c.Kind {
	case fim.KindSUID, fim.KindSGID, fim.KindCapability:
		return "critical"
	}
	if c.Package != nil && c.Package.Verdict == fim.VerdictTampered {
		return "critical"
	}
	switch c.Kind {
	case fim.KindOwner, fim.KindGroup, fim.KindType, fim.KindLink:
		return "high"
	}
	return "medium"
}
