package daemon

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/google/nftables"
	"github.com/rampart-ids/rampart/internal/config"
	"github.com/rampart-ids/rampart/internal/event"
	"github.com/rampart-ids/rampart/internal/finding"
	"github.com/rampart-ids/rampart/internal/firewall/nft"
	"github.com/rampart-ids/rampart/internal/jail"
	"github.com/rampart-ids/rampart/internal/limits"
	"github.com/rampart-ids/rampart/internal/origin"
	"github.com/rampart-ids/rampart/internal/store"
)

// limitFilter is the filter name of a limit's pseudo-jail in status.
const limitFilter = "kernel-limit"

// limitRepairEvery is how often the kernel is checked for the limits'
// chain (an `nft flush ruleset` removes it; it is applied again).
const limitRepairEvery = 10 * time.Second

// limitLayer is the daemon's side of [limits.NAME] (docs/FIREWALL.md,
// "Limits"): the kernel counts and bans; the daemon
//   - applies the limits at start and on reload (limits.Kernel.Apply, one
//     netlink batch) and picks up the bans the kernel made meanwhile
//     (listing the kban sets);
//   - reads NFLOG group limits.Group and hands each kernel-made ban to the
//     limit's pseudo-jail "limit-NAME" as a single-hit finding, so that it
//     becomes a rampart ban with origin "kernel limit NAME", bantime.increment
//     for repeat offenders, history, metrics, status and unban;
//   - on unban of such a ban deletes the element from the kban set too.
//
// The pseudo-jails are built with the jails (build) and their sources
// (limitSource) register with the layer while the jails stage runs.
type limitLayer struct {
	k limits.Kernel
	// isBanned is the ban manager's IsBanned: a hit for a source banned
	// already is not handed on.
	isBanned func(jail string, p netip.Prefix) bool

	mu      sync.Mutex
	emit    map[string]func(finding.Finding) // per limit, while its jail runs
	current []limits.Limit                   // what the kernel was given last
	seen    map[netip.Prefix]time.Time       // recent hits, not handed on twice
}

// limitJailName is a limit's pseudo-jail.
func limitJailName(name string) string { return limits.JailName(name) }

// addLimitJails builds a pseudo-jail per limit into out: maxretry 1,
// the limit's bantime and prefixes, [defaults] bantime.increment.
func (d *Daemon) addLimitJails(cfg *config.Config, offs *jail.Offenders, out map[string]*runJail) []error {
	var errs []error
	for _, l := range cfg.Limits {
		name := limitJailName(l.Name)
		if _, clash := out[name]; clash {
			errs = append(errs, fmt.Errorf("[limits.%s]: its bans are kept as jail %q, which [jails.%s] also names: rename one", l.Name, name, name))
			continue
		}
		jc := config.Jail{
			Name: name, Enabled: true, Filter: limitFilter, MaxRetry: 1, FindTime: time.Minute, BanTime: l.BanTime,
			Ports: []config.PortRange{{First: l.Port, Last: l.Port}}, Protocols: []string{l.Protocol},
			IPv4Prefix: l.IPv4Prefix, IPv6Prefix: l.IPv6Prefix, Increment: l.Increment, MaxTracked: 1000,
		}
		j, err := jail.New(jailConfig(jc, nil, offs))
		if err != nil {
			errs = append(errs, fmt.Errorf("[limits.%s]: %w", l.Name, err))
			continue
		}
		out[name] = &runJail{cfg: jc, counter: j, offs: offs, origin: limitOrigin(jc)}
	}
	return errs
}

// limitOrigin is the origin of a jail's bans: "kernel limit NAME" for a
// limit's pseudo-jail, zero (the jail's own) for the others.
func limitOrigin(jc config.Jail) origin.Origin {
	if jc.Filter != limitFilter {
		return origin.Origin{}
	}
	return origin.Origin{Kind: origin.Kernel, Name: limits.OriginName(strings.TrimPrefix(jc.Name, "limit-"))}
}

// limitSources is the source kind of the limits' pseudo-jails.
func (d *Daemon) limitSources(env JailEnv) ([]finding.Source, error) {
	if env.Jail.Filter != limitFilter || d.limits == nil {
		return nil, nil
	}
	jc := env.Jail
	desc := fmt.Sprintf("kernel: limit on %d/%s (nflog group %d)", jc.Ports[0].First, jc.Protocols[0], limits.Group)
	return []finding.Source{&limitSource{layer: d.limits, limit: strings.TrimPrefix(jc.Name, "limit-"), desc: desc}}, nil
}

// limitSource feeds a limit's pseudo-jail with the bans the kernel logs.
type limitSource struct {
	layer *limitLayer
	limit string
	desc  string
}

func (s *limitSource) Describe() []string { return []string{s.desc} }

func (s *limitSource) Run(ctx context.Context, emit func(finding.Finding)) error {
	s.layer.mu.Lock()
	s.layer.emit[s.limit] = emit
	s.layer.mu.Unlock()
	<-ctx.Done()
	s.layer.mu.Lock()
	delete(s.layer.emit, s.limit)
	s.layer.mu.Unlock()
	return nil
}

// manageLimits reports whether the limits apply: only with the nftables
// backend, whose table they share.
func (d *Daemon) manageLimits() bool {
	_, ok := d.fw.(*nft.Backend)
	return ok
}

// applyLimits puts cfg's limits in force by themselves (at start and on
// reload when the baseline is not applied with them, and after a flush)
// and records the bans the kernel holds that rampart does not know.
func (d *Daemon) applyLimits(ctx context.Context, cfg *config.Config, why string) {
	if d.limits == nil {
		return
	}
	ls := limits.FromConfig(cfg.Limits)
	start := time.Now()
	if err := d.limits.k.Apply(ls); err != nil {
		d.log.Error("limits: the kernel refused them; the limits are NOT enforced", "why", why, "err", err)
		return
	}
	d.limitsApplied(ctx, cfg, why, ls, start)
}

// limitsStage returns the limits' part of a transaction another layer
// sends (nil when this daemon has no limit layer), and what to do once it
// was committed.
func (d *Daemon) limitsStage(cfg *config.Config, why string) (func(*nftables.Conn) error, func(context.Context)) {
	if d.limits == nil {
		return nil, func(context.Context) {}
	}
	ls := limits.FromConfig(cfg.Limits)
	start := time.Now()
	stage := func(c *nftables.Conn) error {
		_, err := limits.Stage(c, ls)
		return err
	}
	return stage, func(ctx context.Context) { d.limitsApplied(ctx, cfg, why, ls, start) }
}

func (d *Daemon) limitsApplied(ctx context.Context, cfg *config.Config, why string, ls []limits.Limit, start time.Time) {
	d.limits.mu.Lock()
	d.limits.current = ls
	d.limits.mu.Unlock()
	if len(ls) > 0 {
		d.log.Info("limits in force", "why", why, "limits", len(ls), "took", time.Since(start).Round(time.Microsecond))
	}
	d.pickUpKernelBans(ctx, cfg, ls)
}

// pickUpKernelBans records the kban sets' elements rampart has no ban
// for (made while the daemon was stopped or reloading), with the time the
// kernel keeps them.
func (d *Daemon) pickUpKernelBans(ctx context.Context, cfg *config.Config, ls []limits.Limit) {
	kb, err := d.limits.k.Bans(ls)
	if err != nil {
		d.log.Error("limits: listing the kernel's bans", "err", err)
		return
	}
	byName := map[string]config.Limit{}
	for _, l := range cfg.Limits {
		byName[l.Name] = l
	}
	now := time.Now()
	var add []store.Ban
	for _, b := range kb {
		l, ok := byName[b.Limit]
		if !ok {
			continue
		}
		name := limitJailName(b.Limit)
		if d.bans.IsBanned(name, b.Prefix) {
			continue
		}
		add = append(add, store.Ban{Jail: name, Prefix: b.Prefix, Since: now.Add(b.Expires - l.BanTime), Until: now.Add(b.Expires),
			Count: 1, Origin: origin.Origin{Kind: origin.Kernel, Name: limits.OriginName(b.Limit)}})
	}
	if len(add) == 0 {
		return
	}
	if err := d.bans.Add(ctx, add); err != nil {
		d.log.Error("limits: recording the kernel's bans", "bans", len(add), "err", err)
		return
	}
	d.log.Info("limits: bans the kernel made while rampart was not listening are recorded", "bans", len(add))
}

// limitComponents reads the NFLOG group and follows unbans, when limits
// are configured (or were: a reload may add them) and the backend is
// nftables.
func (d *Daemon) limitComponents() []component {
	if d.limits == nil {
		return nil
	}
	return []component{
		{"limits: kernel bans", d.limits.listen(d)},
		{"limits: unbans and repair", d.limits.follow(d)},
	}
}

// hitMemory is how long a logged source is not handed on again (a few
// packets in flight cross the limit rule together).
const hitMemory = 5 * time.Second

// listen binds the NFLOG group once limits are in force (at start, or
// after the reload that adds the first) and reads it until ctx is done.
func (ll *limitLayer) listen(d *Daemon) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			ll.mu.Lock()
			n := len(ll.current)
			ll.mu.Unlock()
			if n > 0 {
				break
			}
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
		}
		err := limits.Listen(ctx, ll.hit, func(err error) {
			d.log.Debug("limits: unreadable nflog message", "err", err)
		})
		if err != nil && ctx.Err() == nil {
			d.log.Error("limits: cannot read the kernel's bans (nflog); the kernel still enforces them, and they are recorded at the next reload or start", "err", err)
		}
		return nil
	}
}

// hit hands one logged ban to its limit's pseudo-jail.
func (ll *limitLayer) hit(h limits.Hit) {
	ll.mu.Lock()
	var lim *limits.Limit
	for i := range ll.current {
		if ll.current[i].Name == h.Limit {
			lim = &ll.current[i]
		}
	}
	emit := ll.emit[h.Limit]
	if lim == nil || emit == nil {
		ll.mu.Unlock()
		return
	}
	p := lim.Prefix(h.Addr)
	now := time.Now()
	if at, ok := ll.seen[p]; ok && now.Sub(at) < hitMemory {
		ll.mu.Unlock()
		return
	}
	if len(ll.seen) > 10000 {
		clear(ll.seen)
	}
	ll.seen[p] = now
	ll.mu.Unlock()
	if ll.isBanned(limitJailName(h.Limit), p) {
		return
	}
	what := "max_conn"
	if h.Reason == limits.ReasonRate {
		what = "rate"
	}
	emit(finding.Finding{Time: h.Time, Addr: h.Addr, Source: fmt.Sprintf("nflog group %d", limits.Group),
		Rule: "limit " + h.Limit + " " + what, Severity: finding.High, SingleHit: true,
		Evidence: fmt.Sprintf("%s over the %s of limit %s: banned by the kernel", h.Addr, what, h.Limit)})
}

// follow deletes unbanned limit bans from the kban sets, and applies the
// limits again when their chain disappears.
func (ll *limitLayer) follow(d *Daemon) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		sub := d.bus.Subscribe("limits", 1024)
		sub.SetKinds(event.BanRemoved)
		defer sub.Close()
		evs := make(chan []event.Event)
		go func() {
			defer close(evs)
			for {
				batch, err := sub.Next(ctx)
				if err != nil {
					return
				}
				select {
				case evs <- batch:
				case <-ctx.Done():
					return
				}
			}
		}()
		t := time.NewTicker(limitRepairEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case batch, ok := <-evs:
				if !ok {
					return nil
				}
				for _, e := range batch {
					ll.unban(d, e)
				}
			case <-t.C:
				ll.mu.Lock()
				cur := ll.current
				ll.mu.Unlock()
				if len(cur) == 0 {
					continue
				}
				if ok, err := ll.k.Present(); err == nil && !ok {
					d.log.Warn("limits: their chain was removed from the kernel; applying them again", "limits", len(cur))
					d.applyLimits(ctx, d.config(), "restore")
				}
			}
		}
	}
}

func (ll *limitLayer) unban(d *Daemon, e event.Event) {
	name, ok := strings.CutPrefix(e.Jail, "limit-")
	if !ok || e.Kind != event.BanRemoved {
		return
	}
	ll.mu.Lock()
	var lim *limits.Limit
	for i := range ll.current {
		if ll.current[i].Name == name {
			lim = &ll.current[i]
		}
	}
	ll.mu.Unlock()
	if lim == nil {
		return
	}
	if err := ll.k.Unban(*lim, e.Prefix); err != nil {
		d.log.Error("limits: unban: the kernel's ban stays until it ends", "limit", name, "ip", e.Prefix, "err", err)
		return
	}
	ll.mu.Lock()
	delete(ll.seen, lim.Prefix(e.Prefix.Addr()))
	ll.mu.Unlock()
}

// newLimitLayer makes the layer when the backend is nftables; with limits
// configured and another backend it says they are not enforced.
func (d *Daemon) newLimitLayer(cfg *config.Config) {
	if !d.manageLimits() {
		if len(cfg.Limits) > 0 {
			d.log.Error("[limits] need the nftables firewall backend; the limits are NOT enforced", "backend", cfg.Daemon.Firewall)
		}
		return
	}
	d.limits = &limitLayer{emit: map[string]func(finding.Finding){}, seen: map[netip.Prefix]time.Time{}, isBanned: d.bans.IsBanned}
}
