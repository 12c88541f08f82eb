package daemon

import (
	"context"
	"fmt"
	"time"

	"github.com/rampart-ids/rampart/internal/jail"
)

// Reload implements control.API: the run loop re-reads the configuration
// and restarts the jails; a configuration that does not load leaves the
// running one in place.
func (d *Daemon) Reload(ctx context.Context) error {
	reply := make(chan error, 1)
	select {
	case d.reload <- reply:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// doReload runs in the run loop. The new configuration is built and the
// firewall set up for it while the old jails still run, so a reload that
// fails leaves everything as it was. Failure counts inside findtime start
// over (the logs are not read again: positions are kept); bans stay.
func (d *Daemon) doReload(ctx context.Context, cancelRun *context.CancelFunc, runDone *chan struct{}) error {
	cfg, notes, err := d.opts.Load()
	if err != nil {
		return err
	}
	cur := d.cfg0().Daemon
	if cfg.Daemon.Socket != cur.Socket || cfg.Daemon.StateDir != cur.StateDir || cfg.Daemon.Firewall != cur.Firewall {
		return fmt.Errorf("reload: [daemon] socket, state_dir and firewall take effect only at restart")
	}
	offs := jail.NewOffenders()
	jails, err := d.build(cfg, offs)
	if err != nil {
		return err
	}
	for _, n := range notes {
		d.log.Warn("configuration note", "note", n)
	}
	if err := d.seedOffenders(ctx, offs, jails); err != nil {
		return err
	}
	d.prepareSources(cfg, jails)
	start := time.Now()
	if err := d.bans.Reconfigure(ctx, firewallSpecs(jails)); err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	(*cancelRun)()
	<-*runDone
	d.mu.Lock()
	old := d.jails
	d.cfg, d.jails = cfg, jails
	d.mu.Unlock()
	for name := range old {
		if _, ok := jails[name]; !ok {
			d.met.Forget(name)
		}
	}
	runCtx, cancel := context.WithCancel(ctx)
	*cancelRun = cancel
	*runDone = d.startJails(runCtx, jails)
	d.log.Info("configuration reloaded", "jails", len(jails), "took", time.Since(start).Round(time.Millisecond))
	return nil
}
