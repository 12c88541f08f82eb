package daemon

import (
	"context"
	"net/netip"
	"time"

	"github.com/rampart-ids/rampart/internal/control"
	"github.com/rampart-ids/rampart/internal/web"
)

var _ control.WebLogin = (*Daemon)(nil)

// webRole is the dashboard's role in the control API: it reads bans,
// events and explanations, and lifts single bans. It cannot ban, unban
// everything, reload or reconfigure: it has no such method.
type webRole struct{ d *Daemon }

var _ web.Backend = webRole{}

func (r webRole) Banned(ctx context.Context) ([]control.BannedEntry, error) { return r.d.Banned(ctx) }

func (r webRole) Events(ctx context.Context, req control.EventsRequest) ([]control.Event, error) {
	return r.d.Events(ctx, req)
}

func (r webRole) Follow(ctx context.Context, req control.EventsRequest, send func(control.Event) error) error {
	return r.d.Follow(ctx, req, send)
}

func (r webRole) Why(ctx context.Context, a netip.Addr) (control.WhyReply, error) {
	return r.d.Why(ctx, a)
}

// webUnbanBy is who an unban from the dashboard names in its event.
const webUnbanBy = "web dashboard"

// Unban lifts the ban on one prefix (never every ban), recorded as the
// dashboard's.
func (r webRole) Unban(ctx context.Context, req control.UnbanRequest) (control.UnbanReply, error) {
	if req.All || !req.Prefix.IsValid() {
		return control.UnbanReply{}, control.Errorf(control.ErrRefused, "the web dashboard lifts one ban at a time")
	}
	removed, err := r.d.bans.Remove(ctx, req.Jail, req.Prefix, false, webUnbanBy)
	rep := control.UnbanReply{Removed: []control.BannedEntry{}}
	for _, b := range removed {
		rep.Removed = append(rep.Removed, entry(b))
		for _, rj := range r.d.jailsSnapshot() {
			if rj.cfg.Name == b.Jail {
				rj.counter.Forget(b.Prefix)
			}
		}
	}
	return rep, err
}

// webComponents returns the dashboard's component when [web] listen is
// set (read at start: a reload does not move it).
func (d *Daemon) webComponents() []component {
	wc := d.config().Web
	if wc.Listen == "" {
		return nil
	}
	srv, err := web.New(web.Config{Listen: wc.Listen, TLSCert: wc.TLSCert, TLSKey: wc.TLSKey, Session: wc.Session, Log: d.log}, webRole{d})
	if err != nil {
		d.log.Error("web dashboard not started", "err", err)
		return nil
	}
	d.dash.Store(srv)
	// The dashboard is not protection: if it cannot listen, the daemon
	// goes on without it.
	return []component{{"web dashboard", func(ctx context.Context) error {
		if err := srv.Serve(ctx); err != nil && ctx.Err() == nil {
			d.dash.Store(nil)
			d.log.Error("web dashboard stopped", "addr", wc.Listen, "err", err)
		}
		return nil
	}}}
}

// WebLogin implements control.WebLogin.
func (d *Daemon) WebLogin(context.Context) (control.WebLoginReply, error) {
	srv := d.dash.Load()
	if srv == nil {
		return control.WebLoginReply{}, control.Errorf(control.ErrNotFound, "the web dashboard is off: set [web] listen (e.g. \"127.0.0.1:9191\") and restart rampart")
	}
	url, exp := srv.LoginURL()
	return control.WebLoginReply{URL: url, Expires: exp.Truncate(time.Second)}, nil
}

// FleetStatus is the fleet page's read (control.ErrNotFound when [fleet]
// is off).
func (r webRole) FleetStatus(ctx context.Context) (control.FleetStatus, error) {
	return r.d.FleetStatus(ctx)
}

// FollowReady is Follow that calls ready once subscribed, so that the
// dashboard's live stream opens only when no event can slip past it.
func (r webRole) FollowReady(ctx context.Context, req control.EventsRequest, ready func(), send func(control.Event) error) error {
	sub := r.d.bus.Subscribe("follow", followLimit)
	defer sub.Close()
	ready()
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
