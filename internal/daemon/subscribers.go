package daemon

import (
	"context"
	"errors"
	"net/netip"
	"time"

	"github.com/rampart-ids/rampart/internal/config"
	"github.com/rampart-ids/rampart/internal/event"
)

// Subscriber consumes the daemon's events. Handle gets them in batches, in
// publication order, on the subscriber's own goroutine: a slow Handle
// delays only itself, and what does not fit in its queue of Limit events is
// dropped and counted (rampart_events_dropped_total{subscriber}).
type Subscriber struct {
	Name string
	// Limit bounds the queue; 0 means defaultLimit.
	Limit int
	// Kinds, when set, are the only kinds queued for the subscriber.
	Kinds  []event.Kind
	Handle func(ctx context.Context, evs []event.Event)
}

// defaultLimit is a subscriber's queue bound: a 10,000-address flood fits
// (its bans and batches), and the queue holds nothing when idle.
const defaultLimit = 65536

// builtinSubscribers is the list of subscribers rampart has; a new one is
// one more entry (Options.Subscribers adds subscribers without changing
// this file).
func (d *Daemon) builtinSubscribers(cfg *config.Config) []Subscriber {
	return append([]Subscriber{
		{Name: "metrics", Handle: d.metricsEvents, Kinds: []event.Kind{event.BanAdded, event.FirewallBatch, event.FirewallRestored, event.IntegrityChange, event.HostChange}},
		{Name: "log", Handle: d.logEvents, Kinds: []event.Kind{event.BanAdded, event.BanRemoved, event.BanExpired}},
		// The history takes every event; a flood of findings beyond its
		// queue is dropped (and counted) rather than held in memory.
		{Name: "history", Handle: d.historyEvents, Limit: 16384},
		{Name: "alerts", Handle: d.alertsEvents, Kinds: alertKinds(cfg.Alerts)},
	}, d.fleetSubscribers()...)
}

// subscribe subscribes every subscriber to the bus now (so that none
// misses the events of the start) and returns the components that run
// them.
func (d *Daemon) subscribe(subs []Subscriber) []component {
	out := make([]component, 0, len(subs))
	for _, s := range subs {
		limit := s.Limit
		if limit <= 0 {
			limit = defaultLimit
		}
		sub := d.bus.Subscribe(s.Name, limit)
		sub.SetKinds(s.Kinds...)
		if s.Name == "alerts" {
			d.alertSub = sub
		}
		d.met.EventsDropped(s.Name, sub.Dropped)
		out = append(out, component{"subscriber " + s.Name, func(ctx context.Context) error {
			var reported uint64
			var said time.Time
			for {
				// After ctx is done, Next still returns what is queued:
				// a stopping subscriber drains its queue first.
				evs, err := sub.Next(ctx)
				if err != nil {
					return nil
				}
				// A stopping subscriber still finishes its work (the
				// history writes its last events).
				s.Handle(context.WithoutCancel(ctx), evs)
				if n := sub.Dropped(); n > reported && time.Since(said) >= time.Minute {
					d.log.Warn("event subscriber fell behind; events were dropped", "subscriber", s.Name, "dropped", n-reported)
					reported, said = n, time.Now()
				}
			}
		}})
	}
	return out
}

// metricsEvents feeds bans and firewall batches to the collectors.
func (d *Daemon) metricsEvents(_ context.Context, evs []event.Event) {
	for _, e := range evs {
		switch e.Kind {
		case event.BanAdded:
			d.met.Ban(e.Jail)
			if e.Latency > 0 {
				d.met.BanLatency(e.Latency)
			}
		case event.FirewallBatch:
			var err error
			if e.Err != "" {
				err = errors.New(e.Err)
			}
			d.met.FirewallBatch(e.Adds, e.Removes, e.Took, err)
		case event.FirewallRestored:
			d.met.FirewallRestored(e.Count)
		case event.IntegrityChange:
			d.met.IntegrityChange(e.Rule, e.Severity)
		case event.HostChange:
			d.met.HostChange(e.Rule, e.Severity)
		}
	}
}

// logEvents writes bans and unbans to the daemon's log. The ban line's
// exact shape is what the built-in recidive filter reads.
func (d *Daemon) logEvents(_ context.Context, evs []event.Event) {
	for _, e := range evs {
		switch e.Kind {
		case event.BanAdded:
			until := "never"
			if !e.Until.IsZero() {
				until = e.Until.UTC().Format(time.RFC3339)
			}
			d.log.Info("ban", "jail", e.Jail, "ip", prefixString(e.Prefix), "until", until, "count", e.Count)
		case event.BanRemoved, event.BanExpired:
			d.log.Info("unban", "jail", e.Jail, "ip", prefixString(e.Prefix), "reason", e.Reason, "origin", e.Origin)
		}
	}
}

// prefixString prints single addresses without their /32 or /128.
func prefixString(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}
