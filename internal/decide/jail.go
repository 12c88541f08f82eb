// Package decide is the jails' stage of the pipeline: findings come in, a
// jail counts them (maxretry within findtime) or bans on one (a single-hit
// rule), and each ban it decides goes to the ban manager with the jail as
// its origin.
package decide

import (
	"context"
	"log/slog"
	"net/netip"
	"time"

	"github.com/rampart-ids/rampart/internal/event"
	"github.com/rampart-ids/rampart/internal/finding"
	"github.com/rampart-ids/rampart/internal/jail"
	"github.com/rampart-ids/rampart/internal/origin"
	"github.com/rampart-ids/rampart/internal/store"
)

// Bans takes decided bans (*ban.Manager has it). Enqueue must not block for
// long: it is called on the sources' goroutines.
type Bans interface {
	Enqueue(ctx context.Context, b store.Ban)
}

// Publisher takes events (*event.Bus has it).
type Publisher interface {
	Publish(e event.Event)
}

// Jail is one configured jail at run time: its counter, its share of the
// ban history, and where its decisions go. Handle is safe for concurrent
// use by the jail's sources.
type Jail struct {
	// Name is the jail's name: its bans' set and origin.
	Name    string
	Counter *jail.Jail
	// Offenders records the jail's bans for bantime.increment.
	Offenders *jail.Offenders
	// Resolve, when set, looks up findings that name a host instead of an
	// address (usedns); without it such findings are dropped.
	Resolve func(ctx context.Context, host string) ([]netip.Addr, error)
	Bans    Bans
	// Events, optional, receives a Finding event per finding.
	Events Publisher
	// OnFinding, optional, counts findings (metrics).
	OnFinding func()
	Log       *slog.Logger
	// Now defaults to time.Now.
	Now func() time.Time
	// Origin, optional, is the origin of the jail's bans; zero means
	// "jail NAME". A kernel limit's pseudo-jail sets "kernel limit NAME".
	Origin origin.Origin
	// Distinct, optional, counts a finding with a Key once per address and
	// key within its window (a port scan's distinct ports).
	Distinct *Distinct
}

// Handle counts one finding and enqueues the ban it decides, if any.
func (j *Jail) Handle(ctx context.Context, f finding.Finding) {
	now := time.Now
	if j.Now != nil {
		now = j.Now
	}
	t := now()
	if j.OnFinding != nil {
		j.OnFinding()
	}
	if j.Events != nil && !f.Backlog {
		j.Events.Publish(event.Event{
			Kind: event.Finding, Time: f.Time, Jail: j.Name, Prefix: prefixOf(f.Addr), Rule: f.Rule,
			Severity: f.Severity.String(), Source: f.Source, Evidence: []string{f.Evidence},
		})
	}
	addrs := []netip.Addr{f.Addr}
	if !f.Addr.IsValid() {
		if j.Resolve == nil || f.Host == "" {
			return
		}
		ips, err := j.Resolve(ctx, f.Host)
		if err != nil {
			if j.Log != nil {
				j.Log.Debug("cannot resolve host name of a finding", "jail", j.Name, "host", f.Host, "err", err)
			}
			return
		}
		addrs = ips
	}
	since := f.Read
	if since.IsZero() {
		since = t
	}
	for _, a := range addrs {
		var (
			dec jail.Decision
			ok  bool
		)
		if f.SingleHit {
			dec, ok = j.Counter.BanNow(a, f.Time)
		} else if j.Distinct != nil && f.Key != "" && !j.Distinct.First(a, f.Key, f.Time) {
			continue // this key was counted for a already
		} else {
			dec, ok = j.Counter.Fail(a, f.Time)
		}
		if !ok {
			continue
		}
		until, timed := dec.Until()
		if timed && !until.After(t) {
			continue // an old ban read back from the log: already over
		}
		if j.Distinct != nil {
			j.Distinct.Forget(dec.Prefix)
		}
		o := j.Origin
		if o.IsZero() {
			o = origin.OfJail(j.Name)
		}
		b := store.Ban{Jail: j.Name, Prefix: dec.Prefix, Since: since, Count: dec.Count + 1, Origin: o}
		if timed {
			b.Until = until
		}
		if j.Offenders != nil {
			j.Offenders.Record(j.Name, dec.Prefix, t)
		}
		j.Bans.Enqueue(ctx, b)
	}
}

// Run feeds a source's findings to the jail until ctx is done.
func (j *Jail) Run(ctx context.Context, src finding.Source) error {
	return src.Run(ctx, func(f finding.Finding) { j.Handle(ctx, f) })
}

func prefixOf(a netip.Addr) netip.Prefix {
	if !a.IsValid() {
		return netip.Prefix{}
	}
	return netip.PrefixFrom(a, a.BitLen())
}
