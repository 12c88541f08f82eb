package daemon

import (
	"cmp"
	"context"
	"net/netip"
	"slices"
	"time"

	"github.com/rampart-ids/rampart/internal/config"
	"github.com/rampart-ids/rampart/internal/control"
	"github.com/rampart-ids/rampart/internal/event"
	"github.com/rampart-ids/rampart/internal/store"
)

var _ control.History = (*Daemon)(nil)

// historyEvents stores every event in the event history, in one
// transaction per batch the bus hands over (a flood makes large batches).
func (d *Daemon) historyEvents(ctx context.Context, evs []event.Event) {
	if err := d.store.AddEvents(ctx, evs); err != nil {
		d.log.Error("storing events in the history", "events", len(evs), "err", err)
	}
}

// trimEvents applies [events] keep and max_size.
func (d *Daemon) trimEvents(ctx context.Context, ev config.Events) {
	n, err := d.store.PurgeEvents(ctx, time.Now().Add(-ev.Keep))
	if err != nil {
		d.log.Warn("purging the event history", "err", err)
		return
	}
	m, err := d.store.TrimEvents(ctx, ev.MaxSize)
	if err != nil {
		d.log.Warn("trimming the event history to max_size", "err", err)
	}
	if n+m > 0 {
		d.log.Info("event history purged", "older", n, "over_size", m)
	}
}

// eventsUpkeep trims the event history at start and hourly.
func (d *Daemon) eventsUpkeep(ctx context.Context) error {
	d.trimEvents(ctx, d.config().Events)
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			d.trimEvents(ctx, d.config().Events)
		}
	}
}

// Events implements control.History.
func (d *Daemon) Events(ctx context.Context, req control.EventsRequest) ([]control.Event, error) {
	q := store.EventQuery{Since: req.Since, Jail: req.Jail, Limit: req.Limit}
	for _, k := range req.Kinds {
		q.Kinds = append(q.Kinds, k.String())
	}
	if req.Addr.IsValid() {
		q.Prefix = netip.PrefixFrom(req.Addr, req.Addr.BitLen())
	}
	evs, err := d.store.Events(ctx, q)
	out := make([]control.Event, len(evs))
	for i, e := range evs {
		out[i] = control.Event{ID: e.ID, Event: e.Event}
	}
	return out, err
}

// followLimit bounds a follower's queue: a follower that cannot keep up
// loses events, counted like any subscriber's.
const followLimit = 4096

// Follow implements control.History: a subscription of its own for each
// follower, closed when the follower goes.
func (d *Daemon) Follow(ctx context.Context, req control.EventsRequest, send func(control.Event) error) error {
	sub := d.bus.Subscribe("follow", followLimit)
	defer sub.Close()
	for {
		evs, err := sub.Next(ctx)
		if err != nil {
			return nil
		}
		for _, e := range evs {
			if req.Matches(e) {
				if err := send(control.Event{Event: e}); err != nil {
					return err
				}
			}
		}
	}
}

// whyEvents is how many of an address's last events `why` shows.
const whyEvents = 100

// Why implements control.History.
func (d *Daemon) Why(ctx context.Context, a netip.Addr) (control.WhyReply, error) {
	now := time.Now()
	rep := control.WhyReply{Addr: a, Bans: []control.BannedEntry{}, History: []control.BannedEntry{}, Next: []control.NextBan{}}
	for _, b := range d.bans.Active() {
		if b.Prefix.Contains(a) {
			rep.Bans = append(rep.Bans, entry(b))
		}
	}
	rep.Blocklists = d.lists.containing(a)
	single := netip.PrefixFrom(a, a.BitLen())
	prefixes := []netip.Prefix{single}
	jails := d.jailsSnapshot()
	slices.SortFunc(jails, func(x, y *runJail) int { return cmp.Compare(x.cfg.Name, y.cfg.Name) })
	for _, rj := range jails {
		if rj.ignore != nil {
			if _, ok := rj.ignore.Overlaps(single, now); ok {
				rep.Ignored = append(rep.Ignored, rj.cfg.Name)
			}
		}
		p := rj.counter.Prefix(a)
		if !slices.Contains(prefixes, p) {
			prefixes = append(prefixes, p) // the jail counts and bans a network
		}
		count, _ := rj.offs.Lookup(rj.cfg.Name, p, rj.cfg.Increment.OverallJails)
		nb := control.NextBan{Jail: rj.cfg.Name, Count: count, DurationSeconds: int64(rj.counter.BanDuration(count) / time.Second)}
		if rj.counter.BanDuration(count) == config.Permanent {
			nb.DurationSeconds = -1
		}
		rep.Next = append(rep.Next, nb)
	}
	for _, p := range prefixes {
		hist, err := d.store.History(ctx, store.HistoryQuery{Prefix: p, Limit: whyEvents})
		if err != nil {
			return rep, err
		}
		for _, b := range hist {
			rep.History = append(rep.History, entry(b))
		}
	}
	evs, err := d.store.Events(ctx, store.EventQuery{Prefix: single, Limit: whyEvents})
	for _, e := range evs {
		rep.Events = append(rep.Events, control.Event{ID: e.ID, Event: e.Event})
	}
	if rep.Events == nil {
		rep.Events = []control.Event{}
	}
	return rep, err
}
