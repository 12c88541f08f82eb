package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/rampart-ids/rampart/internal/event"
	"github.com/rampart-ids/rampart/internal/hostwatch"
)

// hostComponents runs the host-change collectors every host.interval when
// [host] is enabled, publishing a HostChange event per change. It takes
// effect at start; a reload does not change it.
func (d *Daemon) hostComponents() []component {
	cfg := d.config()
	if !cfg.Host.Enabled {
		return nil
	}
	cs, err := hostwatch.Select(cfg.Host.HostCollectors())
	if err != nil { // the config checked the names
		d.log.Error("host collectors: off", "err", err)
		return nil
	}
	h := &hostRunner{d: d, cs: cs, accepts: -1, file: cfg.Host.Baseline, every: cfg.Host.Interval, reported: map[string]bool{},
		env: hostwatch.Env{SUIDPaths: cfg.Host.SUIDPaths, ConfigFiles: cfg.Files[1:]}}
	return []component{{"host collectors", h.run}}
}

// hostRunner publishes each change once: a change still there at the next
// run is not published again, until it changes further or is accepted and
// happens anew.
type hostRunner struct {
	d     *Daemon
	cs    []hostwatch.Collector
	env   hostwatch.Env
	file  string
	every time.Duration

	mu       sync.Mutex
	reported map[string]bool
	// accepts is how many accepts the baseline held when last loaded (-1:
	// not loaded yet); a new one is published with who ran it.
	accepts int
}

func (h *hostRunner) run(ctx context.Context) error {
	if h.every <= 0 {
		h.every = 5 * time.Minute
	}
	h.once(ctx)
	t := time.NewTicker(h.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			h.once(ctx)
		}
	}
}

// once runs the collectors: against the baseline on disk (an accept since
// counts), taking one first when there is none.
func (h *hostRunner) once(ctx context.Context) {
	log := h.d.log
	b, err := hostwatch.Load(h.file)
	if errors.Is(err, os.ErrNotExist) {
		nb, rep, err := hostwatch.Accept(ctx, h.env, h.cs, nil, "rampart daemon", time.Now())
		if err == nil {
			err = nb.Save(h.file)
		}
		if err != nil {
			log.Error("host collectors: could not take a baseline", "file", h.file, "err", err)
			return
		}
		log.Info("host collectors: no baseline yet; took one", "file", h.file, "items", rep.Items)
		h.accepts = len(nb.Accepts)
		h.d.bus.Publish(event.Event{Kind: event.HostChange, Time: time.Now(), Rule: "host", Source: "host", Path: h.file,
			Reason: "baseline-created", Severity: "info", Count: rep.Items,
			Evidence: []string{"no host baseline existed: what the collectors see now was recorded"}})
		return
	}
	if err != nil {
		log.Error("host collectors: baseline refused", "err", err)
		h.d.bus.Publish(event.Event{Kind: event.HostChange, Time: time.Now(), Rule: "host", Source: "host", Path: h.file,
			Reason: "baseline-refused", Severity: "critical", Evidence: []string{err.Error()}})
		return
	}
	if h.accepts >= 0 && len(b.Accepts) > h.accepts {
		for _, a := range b.Accepts[h.accepts:] {
			h.d.bus.Publish(event.Event{Kind: event.HostChange, Time: time.Now(), Rule: "host", Source: "host", Path: h.file,
				Reason: "baseline-accepted", Severity: "info", Count: a.Changes,
				Evidence: []string{fmt.Sprintf("accepted by %s at %s: %s (%d changes)", a.By, a.Time.UTC().Format(time.RFC3339), strings.Join(a.Collectors, ", "), a.Changes)}})
		}
	}
	h.accepts = len(b.Accepts)
	rep, err := hostwatch.Check(ctx, h.env, h.cs, b)
	if err != nil {
		if ctx.Err() == nil {
			log.Error("host collectors: check failed", "err", err)
		}
		return
	}
	for name, err := range rep.Errors {
		log.Warn("host collector could not read", "collector", name, "err", err)
	}
	now := map[string]bool{}
	var fresh []hostwatch.Change
	h.mu.Lock()
	for _, c := range rep.Changes {
		k := c.Collector + "\x00" + c.Kind + "\x00" + c.Key + "\x00" + c.New
		now[k] = true
		if !h.reported[k] {
			fresh = append(fresh, c)
		}
	}
	h.reported = now
	h.mu.Unlock()
	for _, c := range fresh {
		e := hostEvent(c)
		log.Warn("host change", "collector", c.Collector, "kind", c.Kind, "object", c.Key, "severity", c.Severity)
		h.d.bus.Publish(e)
	}
}

// hostEvent is the event of one change: Rule names the collector, Path the
// object, Reason the kind (new, changed, removed).
func hostEvent(c hostwatch.Change) event.Event {
	e := event.Event{Kind: event.HostChange, Time: time.Now(), Rule: c.Collector, Source: "host " + c.Collector,
		Path: c.Key, Reason: c.Kind, Severity: c.Severity, Evidence: []string{c.String()}}
	if c.Old != "" {
		e.Evidence = append(e.Evidence, "old "+c.Old)
	}
	if c.New != "" {
		e.Evidence = append(e.Evidence, "new "+c.New)
	}
	if c.Note != "" {
		e.Evidence = append(e.Evidence, c.Note)
	}
	return e
}
