package daemon

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/rampart-ids/rampart/internal/control"
)

// component is one running part of the daemon. run blocks until ctx is
// done; an error it returns before that stops the daemon (components that
// can go on without themselves log and return nil).
type component struct {
	name string
	run  func(ctx context.Context) error
}

// stageSpec is a named group of components started and stopped together.
type stageSpec struct {
	name  string
	comps []component
}

// stages is the daemon's start order; run stops them in reverse. Each
// stage outlives the ones after it:
//   - events: the subscribers, stopped last so that they see every event,
//     and drain what is queued when they stop;
//   - bans: the ban manager's flusher, which commits what the jails queued
//     last after they stopped;
//   - services: the control socket, the metrics endpoint, the history purge,
//     the web dashboard;
//   - jails: every jail's sources and upkeep, the stage a reload replaces.
func (d *Daemon) stages(subs []component, jails map[string]*runJail) []stageSpec {
	return []stageSpec{
		{"events", subs},
		{"bans", []component{{"ban manager", d.bans.Run}}},
		{"services", d.services()},
		{"jails", d.jailComponents(jails)},
	}
}

// services are the long-lived components beside the pipeline.
func (d *Daemon) services() []component {
	cfg := d.config()
	srv := control.NewServer(d, d.log)
	srv.Version = d.opts.Version
	if cfg.Daemon.SocketGID > 0 {
		srv.ReadGroup = cfg.Daemon.SocketGID
	}
	// Ready for systemd once the firewall is reconciled and the socket
	// accepts requests.
	srv.OnListen = func() {
		notify(d.log, "READY=1")
		if d.opts.Ready != nil {
			d.readyOnce.Do(d.opts.Ready)
		}
	}
	out := []component{
		{"control socket", func(ctx context.Context) error {
			if err := srv.Serve(ctx, cfg.Daemon.Socket); err != nil && ctx.Err() == nil {
				return fmt.Errorf("control socket: %w", err)
			}
			return nil
		}},
		{"event history upkeep", d.eventsUpkeep},
		{"ban history purge", func(ctx context.Context) error {
			t := time.NewTicker(24 * time.Hour)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return nil
				case <-t.C:
					d.purgeHistory(ctx, d.config().Daemon.HistoryKeep, d.offenders())
				}
			}
		}},
	}
	out = append(out, d.webComponents()...)
	out = append(out, d.fleetComponents()...)
	out = append(out, d.baselineComponents()...)
	out = append(out, d.fimComponents()...)
	out = append(out, d.hostComponents()...)
	out = append(out, d.auditdComponents()...)
	out = append(out, d.auditComponents()...)
	out = append(out, d.blocklistComponents()...)
	out = append(out, d.portscanComponents()...)
	out = append(out, d.limitComponents()...)
	if addr := cfg.Daemon.MetricsListen; addr != "" {
		out = append(out, component{"metrics endpoint", func(ctx context.Context) error {
			d.log.Info("metrics listening", "addr", addr)
			if err := d.met.Serve(ctx, addr); err != nil && ctx.Err() == nil {
				d.log.Error("metrics endpoint stopped", "addr", addr, "err", err)
			}
			return nil
		}})
	}
	return out
}

// stage is a started stageSpec.
type stage struct {
	name   string
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// startStage starts comps, each on its own goroutine with a context of the
// stage's; a component's early error goes to fatal (if nothing is there).
func startStage(name string, comps []component, fatal chan<- error) *stage {
	ctx, cancel := context.WithCancel(context.Background())
	s := &stage{name: name, cancel: cancel}
	for _, c := range comps {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := c.run(ctx); err != nil && ctx.Err() == nil {
				select {
				case fatal <- fmt.Errorf("%s: %w", c.name, err):
				default:
				}
			}
		}()
	}
	return s
}

// stop cancels the stage and waits for its components to return.
func (s *stage) stop() {
	s.cancel()
	s.wg.Wait()
}
