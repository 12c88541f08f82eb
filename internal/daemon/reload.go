package daemon

import (
	"context"
	"fmt"
	"time"
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

// doReload runs in the run loop. Failure counts inside findtime start over
// (the logs are not read again: positions are kept); bans stay.
func (d *Daemon) doReload(ctx context.Context, cancelRun *context.CancelFunc, runDone *chan struct{}) error {
	cfg, notes, err := d.opts.Load()
	if err != nil {
		return err
	}
	jails, err := d.build(cfg)
	if err != nil {
		return err
	}
	if cfg.Daemon.Socket != d.cfg0().Daemon.Socket || cfg.Daemon.StateDir != d.cfg0().Daemon.StateDir || cfg.Daemon.Firewall != d.cfg0().Daemon.Firewall {
		return fmt.Errorf("reload: [daemon] socket, state_dir and firewall take effect only at restart")
	}
	for _, n := range notes {
		d.log.Warn("configuration note", "note", n)
	}
	if err := d.seedOffenders(ctx, jails); err != nil {
		return err
	}
	start := time.Now()
	(*cancelRun)()
	<-*runDone
	if err := d.bans.Start(ctx, firewallSpecs(jails)); err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	d.mu.Lock()
	d.cfg, d.jails = cfg, jails
	d.mu.Unlock()
	runCtx, cancel := context.WithCancel(ctx)
	*cancelRun = cancel
	*runDone = d.startJails(runCtx, jails)
	d.log.Info("configuration reloaded", "jails", len(jails), "took", time.Since(start).Round(time.Millisecond))
	return nil
}
