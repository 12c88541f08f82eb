// Package daemon wires rampart's parts into one pipeline and runs it:
//
//	sources -> findings -> jails -> decisions (typed origins) -> ban manager -> firewall
//	                 events bus -> subscribers (metrics, log, …)
//
// It builds the components from the configuration, starts them in the
// order stages() states, stops them in reverse, and swaps the jails on a
// reload while the ban state stays. It is the one package that imports all
// the others; nothing imports it but the CLI.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rampart-ids/rampart/internal/alert"
	"github.com/rampart-ids/rampart/internal/ban"
	"github.com/rampart-ids/rampart/internal/config"
	"github.com/rampart-ids/rampart/internal/event"
	"github.com/rampart-ids/rampart/internal/firewall"
	"github.com/rampart-ids/rampart/internal/fleet"
	"github.com/rampart-ids/rampart/internal/jail"
	"github.com/rampart-ids/rampart/internal/metrics"
	"github.com/rampart-ids/rampart/internal/resolve"
	"github.com/rampart-ids/rampart/internal/store"
	"github.com/rampart-ids/rampart/internal/web"
	"github.com/rampart-ids/rampart/internal/webattack"
)

// ConfigError is a configuration or filter that does not load: nothing was
// started (the CLI exits with status 2).
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// ManualJail is the jail of bans made with `rampart ban` without --jail.
// Its sets (all ports, drop) also enforce bans whose jail is no longer
// configured, until they end.
const ManualJail = "manual"

// Options are what `rampart run` passes in.
type Options struct {
	// Load reads the configuration; it is called at start and on reload.
	Load func() (*config.Config, []string, error)
	// Fail2banDir, when set, is searched for filters that are not built in.
	Fail2banDir string
	Log         *slog.Logger
	Version     string
	// Reloads asks for a reload with every value received (the CLI sends
	// one per SIGHUP).
	Reloads <-chan struct{}
	// Sources adds kinds of finding source to the built-in ones.
	Sources []SourceKind
	// Subscribers adds event subscribers to the built-in ones.
	Subscribers []Subscriber
	// Ready, when set, is called once, when the daemon first tells systemd
	// it is ready (firewall reconciled, control socket serving).
	Ready func()
}

// Daemon is a running rampart.
type Daemon struct {
	opts Options
	// readyOnce runs Options.Ready once (the control socket may be served again).
	readyOnce sync.Once
	log       *slog.Logger
	store     *store.Store
	fw        firewall.Backend
	// lists are the blocklists in force (nil without any).
	lists   *blocklists
	bans    *ban.Manager
	met     *metrics.Metrics
	bus     *event.Bus
	dns     *resolve.Resolver
	fleet   *fleet.Fleet // nil unless [fleet] is enabled
	kinds   []SourceKind
	started time.Time

	reload chan chan error
	dash   atomic.Pointer[web.Server] // the dashboard, when [web] listen is set

	alertStage *stage              // the alerts' senders; replaced when [alerts] changes
	alertSub   *event.Subscription // the alerts' subscription, whose kinds follow [alerts]

	baseline baseline // the baseline policy it enforces (policy.go)

	limits *limitLayer // the [limits] layer (limits.go); nil unless the backend is nftables

	webMu sync.Mutex                    // guards web
	web   map[string]*webattack.Ruleset // the web-attack rules, by a jail's web_text_params

	mu     sync.Mutex
	cfg    *config.Config
	jails  map[string]*runJail
	alerts []*alert.Alert
}

// Run loads the configuration, starts everything, and blocks until ctx is
// done; a value on opts.Reloads reloads. A configuration that does not load
// is refused before anything is touched.
func Run(ctx context.Context, opts Options) error {
	log := opts.Log
	if log == nil {
		log = slog.Default()
	}
	cfg, notes, err := opts.Load()
	if err != nil {
		return &ConfigError{err}
	}
	d := &Daemon{opts: opts, log: log, reload: make(chan chan error), met: metrics.New(), bus: event.New(), dns: &resolve.Resolver{}}
	d.kinds = append(d.builtinSources(), opts.Sources...)
	offs := jail.NewOffenders()
	// Compile every filter before touching state or the firewall: a bad
	// filter must not half-start the daemon.
	jails, err := d.build(cfg, offs)
	if err != nil {
		return &ConfigError{err}
	}
	if d.alerts, err = d.buildAlerts(cfg.Alerts, cfg.Web); err != nil {
		return &ConfigError{err}
	}
	for _, n := range notes {
		log.Warn("configuration note", "note", n)
	}
	for _, w := range cfg.Warnings {
		log.Warn("configuration warning", "warning", w.Error())
	}
	if err := os.MkdirAll(cfg.Daemon.StateDir, 0o700); err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	d.store, err = store.Open(filepath.Join(cfg.Daemon.StateDir, "rampart.db"))
	if err != nil {
		return err
	}
	defer d.store.Close()
	d.fw, err = newBackend(cfg.Daemon.Firewall, log)
	if err != nil {
		return err
	}
	d.bans = ban.New(ban.Config{Store: d.store, Firewall: d.fw, Log: log, Events: d.bus, Fallback: ManualJail})
	d.newLimitLayer(cfg)
	if d.fleet, err = d.newFleet(cfg.Fleet); err != nil {
		return &ConfigError{err}
	}
	// Subscribers first, so that they see the events of the start.
	subs := d.subscribe(append(d.builtinSubscribers(cfg), opts.Subscribers...))
	d.purgeHistory(ctx, cfg.Daemon.HistoryKeep, nil)
	if err := d.seedOffenders(ctx, offs, jails); err != nil {
		return err
	}
	start := time.Now()
	if err := d.bans.Start(ctx, firewallSpecs(jails)); err != nil {
		if ctx.Err() != nil {
			log.Info("stopped while starting")
			return nil
		}
		return err
	}
	// Start-up garbage (configuration, compiled filters' scratch, the
	// stored-ban list) is large next to the daemon's steady state: give it
	// back to the system now rather than at the next GC cycles.
	debug.FreeOSMemory()
	log.Info("firewall ready", "backend", cfg.Daemon.Firewall, "bans", d.bans.ActiveCount(""), "took", time.Since(start).Round(time.Millisecond))
	d.applyKernelLayers(ctx, cfg, "start")
	d.prepareSources(cfg, jails)
	d.mu.Lock()
	d.cfg, d.jails = cfg, jails
	d.mu.Unlock()
	d.started = time.Now()
	return d.run(ctx, subs, jails)
}

// run starts the stages and serves reloads until ctx is done or a
// component fails; then it stops the stages in reverse order.
func (d *Daemon) run(ctx context.Context, subs []component, jails map[string]*runJail) error {
	fatal := make(chan error, 1)
	stages := d.stages(subs, jails)
	running := make([]*stage, 0, len(stages))
	for _, s := range stages {
		running = append(running, startStage(s.name, s.comps, fatal))
	}
	jailStage := len(running) - 1 // the last stage, replaced on reload
	d.alertStage = startStage("alerts", alertComponents(d.alerts), fatal)
	settle := time.AfterFunc(3*time.Second, debug.FreeOSMemory)
	defer settle.Stop()
	d.log.Info("rampart running", "jails", len(jails), "socket", d.config().Daemon.Socket, "version", d.opts.Version)

	var runErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case err := <-fatal:
			runErr = err
			break loop
		case <-d.opts.Reloads:
			if err := d.doReload(ctx, &running[jailStage], fatal); err != nil {
				d.log.Error("reload failed; keeping the running configuration", "err", err)
			}
		case reply := <-d.reload:
			err := d.doReload(ctx, &running[jailStage], fatal)
			if err != nil {
				d.log.Error("reload failed; keeping the running configuration", "err", err)
			}
			reply <- err
		}
	}
	notify(d.log, "STOPPING=1")
	for i := len(running) - 1; i >= 0; i-- {
		running[i].stop()
	}
	// Last: the alerts send what the subscribers handed them.
	d.mu.Lock()
	alerts := d.alertStage
	d.mu.Unlock()
	alerts.stop()
	if d.config().Daemon.OnStop == "flush" {
		if err := d.bans.Teardown(context.Background()); err != nil {
			d.log.Error("removing firewall table", "err", err)
		}
	}
	d.log.Info("rampart stopped")
	return runErr
}

// config returns the running configuration.
func (d *Daemon) config() *config.Config {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cfg
}

// Reload implements control.API: the run loop re-reads the configuration
// and swaps the jails; a configuration that does not load leaves the
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

// doReload runs in the run loop. The new jails are built and the firewall
// set up for them while the old jails still run, so a reload that fails
// leaves everything as it was. Failure counts inside findtime start over
// (the logs are not read again: positions are kept); bans stay.
func (d *Daemon) doReload(ctx context.Context, jailStage **stage, fatal chan<- error) (err error) {
	notifyReloading(d.log)
	defer func() {
		notify(d.log, "READY=1")
		e := event.Event{Kind: event.Reload, Time: time.Now()}
		if err != nil {
			e.Err = err.Error()
		}
		d.bus.Publish(e)
	}()
	cfg, notes, err := d.opts.Load()
	if err != nil {
		return err
	}
	cur := d.config().Daemon
	if cfg.Daemon.Socket != cur.Socket || cfg.Daemon.StateDir != cur.StateDir || cfg.Daemon.Firewall != cur.Firewall {
		return errors.New("reload: [daemon] socket, state_dir and firewall take effect only at restart")
	}
	offs := jail.NewOffenders()
	jails, err := d.build(cfg, offs)
	if err != nil {
		return err
	}
	oldAlerts := d.config().Alerts
	var alerts []*alert.Alert
	if !reflect.DeepEqual(oldAlerts, cfg.Alerts) {
		if alerts, err = d.buildAlerts(cfg.Alerts, cfg.Web); err != nil {
			return err
		}
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
	(*jailStage).stop()
	d.mu.Lock()
	old := d.jails
	d.cfg, d.jails = cfg, jails
	d.mu.Unlock()
	for name := range old {
		if _, ok := jails[name]; !ok {
			d.met.Forget(name)
		}
	}
	*jailStage = startStage("jails", d.jailComponents(jails), fatal)
	d.applyKernelLayers(ctx, cfg, "reload")
	d.reloadBlocklists(cfg)
	if !reflect.DeepEqual(oldAlerts, cfg.Alerts) {
		d.swapAlerts(alerts, alertKinds(cfg.Alerts), fatal)
	}
	d.log.Info("configuration reloaded", "jails", len(jails), "took", time.Since(start).Round(time.Millisecond))
	return nil
}
