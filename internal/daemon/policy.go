package daemon

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/google/nftables"
	"github.com/rampart-ids/rampart/internal/config"
	"github.com/rampart-ids/rampart/internal/event"
	"github.com/rampart-ids/rampart/internal/firewall/nft"
	"github.com/rampart-ids/rampart/internal/policy"
)

// baselineCheckEvery is how often the daemon compares the kernel's
// baseline with the one it enforces (restoring it after `nft flush
// ruleset`) and looks at the deadline of an unconfirmed change.
const baselineCheckEvery = time.Second

// baseline is the daemon's side of the baseline policy (docs/FIREWALL.md):
//   - at start and on reload it applies [baseline] with the lock-out guard
//     (sshd's ports; the daemon has no SSH session). A refused baseline is
//     logged as an error and not applied; the daemon keeps running with
//     the kernel's policy as it was: never lock the administrator out;
//   - while a commit-confirmed change is pending it leaves the kernel
//     alone, and rolls the change back itself when the deadline passes
//     (in case the detached watcher was killed);
//   - when the baseline disappears or is changed from outside it restores
//     the last policy rampart kept (policy.AppliedFile: the daemon's own
//     apply, or the CLI's apply, confirm or rollback);
//   - on stop (and on a crash) the kernel keeps the baseline: the host is
//     neither left open nor locked (sshd's port passed the guard).
type baseline struct {
	mu   sync.Mutex
	want *policy.Policy // nil: the daemon does not manage the baseline
}

// manageBaseline reports whether the baseline applies: only with the
// nftables backend, whose table it shares.
func (d *Daemon) manageBaseline() bool {
	_, ok := d.fw.(*nft.Backend)
	return ok
}

// applyKernelLayers puts cfg's baseline and limits in force (at start and
// on reload), in one netlink transaction when the baseline is applied;
// the limits alone when it is not (off and absent, refused, a confirm
// pending).
func (d *Daemon) applyKernelLayers(ctx context.Context, cfg *config.Config, why string) {
	stage, done := d.limitsStage(cfg, why)
	if d.applyBaseline(ctx, cfg, why, stage) {
		done(ctx)
		return
	}
	d.applyLimits(ctx, cfg, why)
}

// applyBaseline applies cfg's baseline. also, when set, is queued in the
// same transaction; applyBaseline reports whether it was committed with it.
func (d *Daemon) applyBaseline(ctx context.Context, cfg *config.Config, why string, also func(*nftables.Conn) error) bool {
	if !d.manageBaseline() {
		if cfg.Baseline.Enabled {
			d.log.Error("[baseline] needs the nftables firewall backend; the baseline is NOT enforced", "backend", cfg.Daemon.Firewall)
		}
		return false
	}
	p := policy.Build(cfg.Baseline, policy.Env{UsesDHCP: policy.UsesDHCP("")})
	k := policy.Kernel{Also: also}
	if pend, err := policy.ReadPending(cfg.Daemon.StateDir); err != nil || pend != nil {
		if err != nil {
			d.log.Error("baseline: unreadable pending change; not touching the kernel's policy", "err", err)
		} else {
			d.log.Warn("baseline: a commit-confirmed change is pending; the configuration's baseline waits for 'rampart firewall confirm' or the rollback", "deadline", pend.Deadline)
		}
		d.setBaseline(p)
		return false
	}
	if !p.Enabled {
		a, err := k.Read()
		if err != nil || !a.Present {
			d.setBaseline(nil)
			return false
		}
	}
	res, err := policy.Apply(ctx, p, policy.Options{StateDir: cfg.Daemon.StateDir, Kernel: k})
	var gerr *policy.GuardError
	if err != nil && also != nil && !errors.As(err, &gerr) {
		// What the kernel refused may be the other layer's part: the
		// baseline alone, and the caller sends the rest by itself.
		d.log.Warn("baseline and limits refused as one transaction; applying the baseline alone", "why", why, "err", err)
		k.Also, also = nil, nil
		res, err = policy.Apply(ctx, p, policy.Options{StateDir: cfg.Daemon.StateDir, Kernel: k})
	}
	switch {
	case errors.As(err, &gerr):
		for _, v := range gerr.Violations {
			d.log.Error("BASELINE REFUSED: it would lock you out; the kernel keeps its current policy", "why", why, "problem", v.Msg)
		}
		d.setBaseline(nil)
		return false
	case err != nil:
		d.log.Error("baseline not applied", "why", why, "err", err)
		d.setBaseline(nil)
		return false
	}
	for _, n := range res.Plan.Neighbours {
		d.log.Warn("baseline: another firewall or forwarding tool", "note", n)
	}
	if !p.Enabled {
		d.setBaseline(nil)
	} else {
		d.setBaseline(p)
	}
	if !res.Plan.Empty() {
		d.log.Info("baseline applied", "why", why, "enabled", p.Enabled, "rules", len(p.Rules), "added", len(res.Plan.Add), "removed", len(res.Plan.Remove))
		d.bus.Publish(event.Event{Kind: event.PolicyApplied, Time: time.Now(), Reason: "applied (" + why + ")", Count: len(p.Rules)})
	}
	return also != nil
}

func (d *Daemon) setBaseline(p *policy.Policy) {
	d.baseline.mu.Lock()
	d.baseline.want = p
	d.baseline.mu.Unlock()
}

// Baseline returns the policy the daemon enforces (nil: none); the
// port-scan layer asks it for OpenPorts.
func (d *Daemon) Baseline() *policy.Policy {
	d.baseline.mu.Lock()
	defer d.baseline.mu.Unlock()
	return d.baseline.want
}

// baselineComponents is the upkeep loop: pending deadlines and self-healing.
func (d *Daemon) baselineComponents() []component {
	if !d.manageBaseline() {
		return nil
	}
	return []component{{"baseline upkeep", func(ctx context.Context) error {
		t := time.NewTicker(baselineCheckEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
				d.baselineTick()
			}
		}
	}}}
}

// baselineTick runs once per baselineCheckEvery.
func (d *Daemon) baselineTick() {
	dir := d.config().Daemon.StateDir
	k := policy.Kernel{}
	pend, err := policy.ReadPending(dir)
	if err != nil {
		return
	}
	if pend != nil {
		// The watcher rolls back at the deadline; the daemon does it a
		// moment later if the watcher is gone.
		if time.Now().After(pend.Deadline.Add(2 * time.Second)) {
			if p, err := policy.Rollback(dir, pend.ID, k); err != nil {
				d.log.Error("baseline: rollback of an unconfirmed change failed", "err", err)
			} else if p != nil {
				d.log.Warn("baseline: unconfirmed change rolled back by the daemon (its watcher did not)", "deadline", pend.Deadline)
				d.bus.Publish(event.Event{Kind: event.PolicyApplied, Time: time.Now(), Reason: "rolled back", Count: len(p.Previous.Rules)})
			}
		}
		return
	}
	// What to keep: the last policy rampart kept (the CLI's apply and
	// confirm record it too, so the daemon does not undo them), else the
	// configuration's.
	want, err := policy.ReadApplied(dir)
	if err != nil || want == nil {
		want = d.Baseline()
	}
	if want == nil || !want.Enabled {
		return
	}
	a, err := k.Read()
	if err != nil {
		return
	}
	if a.Present && a.Drop && slices.Equal(a.Policy().Strings(), want.Strings()) {
		return
	}
	if err := k.Apply(want); err != nil {
		d.log.Error("baseline: restoring it failed", "err", err)
		return
	}
	d.log.Warn("baseline was removed or changed from outside; restored", "rules", len(want.Rules))
	d.bus.Publish(event.Event{Kind: event.FirewallRestored, Time: time.Now(), Reason: "baseline restored", Count: len(want.Rules)})
}
