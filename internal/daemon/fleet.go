package daemon

import (
	"context"
	"net/netip"
	"time"

	"github.com/rampart-ids/rampart/internal/config"
	"github.com/rampart-ids/rampart/internal/control"
	"github.com/rampart-ids/rampart/internal/event"
	"github.com/rampart-ids/rampart/internal/fleet"
	"github.com/rampart-ids/rampart/internal/metrics"
)

// newFleet builds the fleet link when [fleet] is enabled (nil otherwise),
// with its metrics. It takes effect at start; a reload does not change it.
func (d *Daemon) newFleet(c config.Fleet) (*fleet.Fleet, error) {
	if !c.Enabled {
		return nil, nil
	}
	fc := fleet.Config{
		Enabled: true, Servers: c.Servers, User: c.User, PasswordFile: c.PasswordFile, CredsFile: c.CredsFile,
		NKeyFile: c.NKeyFile, CA: c.CA, Cert: c.Cert, Key: c.Key, Node: c.Node, Share: c.Share,
		AcceptFrom: c.AcceptFrom, Stream: c.Stream, Replicas: c.Replicas, MaxAge: c.MaxAge,
		MinPrefixV4: c.MinPrefixV4, MinPrefixV6: c.MinPrefixV6, MaxPerMinute: c.MaxPerMinute,
		IgnoreIP: c.IgnoreIP, Outbox: c.Outbox,
	}.WithDefaults()
	if err := fc.Validate(); err != nil {
		return nil, err
	}
	f := fleet.New(fleet.Options{Config: fc, Bans: d.bans, Cursor: d.store, Ignored: d.ignoredAnywhere, Log: d.log})
	d.met.Fleet(func() metrics.FleetSnapshot { return fleetSnapshot(f.Snapshot()) })
	return f, nil
}

// ignoredAnywhere reports whether p overlaps any running jail's ignoreip:
// such addresses are never banned from the fleet.
func (d *Daemon) ignoredAnywhere(p netip.Prefix) bool {
	now := time.Now()
	for _, r := range d.jailsSnapshot() {
		if _, ok := r.ignoredIn(p, now); ok {
			return true
		}
	}
	return false
}

// fleetSubscribers is the fleet publisher, when the fleet is on.
func (d *Daemon) fleetSubscribers() []Subscriber {
	if d.fleet == nil {
		return nil
	}
	return []Subscriber{{Name: "fleet", Kinds: []event.Kind{event.BanAdded, event.BanRemoved, event.BanExpired},
		Handle: func(ctx context.Context, evs []event.Event) { d.fleet.Handle(ctx, evs) }}}
}

// fleetComponents is the fleet link, when the fleet is on.
func (d *Daemon) fleetComponents() []component {
	if d.fleet == nil {
		return nil
	}
	return []component{{"fleet", d.fleet.Run}}
}

// FleetStatus implements control.FleetAPI.
func (d *Daemon) FleetStatus(ctx context.Context) (control.FleetStatus, error) {
	if d.fleet == nil {
		return control.FleetStatus{}, control.Errorf(control.ErrNotFound, "the fleet is off ([fleet] enabled = false)")
	}
	return d.fleet.Status(ctx), nil
}

func fleetSnapshot(s fleet.Status) metrics.FleetSnapshot {
	out := metrics.FleetSnapshot{Connected: s.Connected, Lag: s.Lag, LastSeq: s.LastSeq, Outbox: s.Outbox, OutboxDropped: s.OutboxDropped, FleetBans: s.FleetBans}
	for _, n := range s.Nodes {
		out.Nodes = append(out.Nodes, metrics.FleetNode{Node: n.Node, Sent: n.Sent, Received: n.Received, Rejected: n.Rejected})
	}
	return out
}
