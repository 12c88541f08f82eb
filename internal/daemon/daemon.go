// Package daemon wires rampart's parts together: configuration to filters,
// jails, log sources, the ban manager, the firewall, the store and the
// control socket, started and stopped in order. It is the one package that
// imports all the others.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"github.com/rampart-ids/rampart/internal/ban"
	"github.com/rampart-ids/rampart/internal/config"
	"github.com/rampart-ids/rampart/internal/control"
	"github.com/rampart-ids/rampart/internal/filter"
	"github.com/rampart-ids/rampart/internal/filter/date"
	"github.com/rampart-ids/rampart/internal/filterload"
	"github.com/rampart-ids/rampart/internal/firewall"
	"github.com/rampart-ids/rampart/internal/firewall/dryrun"
	"github.com/rampart-ids/rampart/internal/firewall/iptables"
	"github.com/rampart-ids/rampart/internal/firewall/nft"
	"github.com/rampart-ids/rampart/internal/jail"
	"github.com/rampart-ids/rampart/internal/logsource"
	"github.com/rampart-ids/rampart/internal/metrics"
	"github.com/rampart-ids/rampart/internal/store"
)

// banMetrics feeds ban events to the Prometheus collectors.
type banMetrics struct{ m *metrics.Metrics }

// Banned counts the ban and, for a ban a filter decided (Since is when its
// deciding line was read), how long it took to reach the firewall.
func (b banMetrics) Banned(x store.Ban) {
	b.m.Ban(x.Jail)
	if x.Source == store.SourceFilter {
		b.m.BanLatency(time.Since(x.Since))
	}
}

func (b banMetrics) Unbanned(x store.Ban) {}
func (b banMetrics) Batch(adds, removes int, took time.Duration, err error) {
	b.m.FirewallBatch(adds, removes, took, err)
}

// ConfigError is a configuration or filter that does not load: nothing was
// started (the CLI exits with status 2).
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// ManualJail is the jail of bans made with `rampart ban` without --jail.
const ManualJail = "manual"

// Options are what `rampart run` passes in.
type Options struct {
	// Load reads the configuration; it is called at start and on reload.
	Load func() (*config.Config, []string, error)
	// Fail2banDir, when set, is searched for filters that are not built in.
	Fail2banDir string
	Log         *slog.Logger
	Version     string
}

// Daemon is a running rampart.
type Daemon struct {
	opts  Options
	log   *slog.Logger
	store *store.Store
	fw    firewall.Backend
	bans  *ban.Manager
	met   *metrics.Metrics

	reload chan chan error

	dnsMu sync.Mutex
	dns   map[string]dnsEntry

	mu    sync.Mutex
	cfg   *config.Config
	jails map[string]*runJail
}

// runJail is one configured jail at run time.
type runJail struct {
	cfg     config.Jail
	jail    *jail.Jail
	filter  *filter.Filter
	sources []source // built before the jail is published (status reads them)
	useDNS  bool
	ignore  *jail.Ignore
	offs    *jail.Offenders // ban history of this configuration's jails
}

type source interface {
	Run(ctx context.Context, emit func(logsource.Line)) error
}

// Run loads the configuration, starts everything, and blocks until ctx is
// done or SIGTERM/SIGINT; SIGHUP reloads. A configuration that does not
// load is refused before anything is touched.
func Run(ctx context.Context, opts Options) error {
	log := opts.Log
	if log == nil {
		log = slog.Default()
	}
	// Signals first: a SIGTERM while stored bans are being enforced must
	// still stop the daemon in order.
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP) // queued until the run loop reads it
	defer signal.Stop(hup)
	cfg, notes, err := opts.Load()
	if err != nil {
		return &ConfigError{err}
	}
	d := &Daemon{opts: opts, log: log, reload: make(chan chan error), met: metrics.New()}
	offs := jail.NewOffenders()
	// Compile every filter before touching state or the firewall: a bad
	// filter must not half-start the daemon.
	jails, err := d.build(cfg, offs)
	if err != nil {
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
	d.bans = ban.New(ban.Config{Store: d.store, Firewall: d.fw, Log: log, Listener: banMetrics{d.met}})
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
	d.prepareSources(cfg, jails)
	d.mu.Lock()
	d.cfg, d.jails = cfg, jails
	d.mu.Unlock()

	var wg sync.WaitGroup
	errc := make(chan error, 2)
	wg.Add(1)
	// The ban flusher outlives the log readers: it stops after them and
	// commits what they queued last.
	banCtx, stopBans := context.WithCancel(context.Background())
	defer stopBans()
	go func() { defer wg.Done(); _ = d.bans.Run(banCtx) }()
	srv := control.NewServer(d, log)
	srv.Version = opts.Version
	// Ready for systemd once the firewall is reconciled and the socket
	// accepts requests.
	srv.OnListen = func() { _ = control.Notify("READY=1") }
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := srv.Serve(ctx, cfg.Daemon.Socket); err != nil && ctx.Err() == nil {
			errc <- fmt.Errorf("control socket: %w", err)
		}
	}()
	if addr := cfg.Daemon.MetricsListen; addr != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := d.met.Serve(ctx, addr); err != nil && ctx.Err() == nil {
				log.Error("metrics endpoint stopped", "addr", addr, "err", err)
			}
		}()
		log.Info("metrics listening", "addr", addr)
	}
	runCtx, cancelRun := context.WithCancel(ctx)
	runDone := d.startJails(runCtx, jails)
	// The sources' first reads (catching up, seeking to findtime) leave
	// garbage too; hand it back once they have settled.
	settle := time.AfterFunc(3*time.Second, debug.FreeOSMemory)
	defer settle.Stop()
	log.Info("rampart running", "jails", len(jails), "socket", cfg.Daemon.Socket, "version", opts.Version)

	purge := time.NewTicker(24 * time.Hour)
	defer purge.Stop()
	var runErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-purge.C:
			d.purgeHistory(ctx, d.cfg0().Daemon.HistoryKeep, d.offenders())
		case err := <-errc:
			runErr = err
			break loop
		case <-hup:
			if err := d.doReload(ctx, &cancelRun, &runDone); err != nil {
				log.Error("reload failed; keeping the running configuration", "err", err)
			}
		case reply := <-d.reload:
			err := d.doReload(ctx, &cancelRun, &runDone)
			if err != nil {
				log.Error("reload failed; keeping the running configuration", "err", err)
			}
			reply <- err
		}
	}
	_ = control.Notify("STOPPING=1")
	cancelRun()
	d.mu.Lock()
	cur := d.cfg
	d.mu.Unlock()
	<-runDone
	stopBans()
	stop()
	wg.Wait()
	if cur.Daemon.OnStop == "flush" {
		if err := d.bans.Teardown(context.Background()); err != nil {
			log.Error("removing firewall table", "err", err)
		}
	}
	log.Info("rampart stopped")
	return runErr
}

// build compiles filters and creates jails for the enabled jails of cfg.
func (d *Daemon) build(cfg *config.Config, offs *jail.Offenders) (map[string]*runJail, error) {
	out := map[string]*runJail{}
	var errs []error
	dates := &date.Cache{}
	for _, jc := range cfg.Enabled() {
		useDNS := jc.UseDNS == "yes" || jc.UseDNS == "warn"
		l, err := filterload.Load(jc.FilterSpec(), d.opts.Fail2banDir, filter.Options{UseDNS: useDNS, Dates: dates})
		if err != nil {
			errs = append(errs, fmt.Errorf("jail %q: filter %q: %w", jc.Name, jc.FilterSpec(), err))
			continue
		}
		ig, err := jail.NewIgnore(jail.IgnoreConfig{
			Entries:   ignoreEntries(jc),
			Self:      jc.IgnoreSelf,
			SelfAddrs: ownAddrs,
			Resolve:   resolve,
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("jail %q: ignoreip: %w", jc.Name, err))
			continue
		}
		jcfg := jail.Config{
			Name: jc.Name, MaxRetry: jc.MaxRetry, FindTime: jc.FindTime, BanTime: jc.BanTime,
			IPv4Prefix: jc.IPv4Prefix, IPv6Prefix: jc.IPv6Prefix, MaxTracked: jc.MaxTracked, Ignore: ig,
		}
		if jc.IPv6Prefix == 128 {
			jcfg.IPv6Prefix = 0
		}
		if jc.IPv4Prefix == 32 {
			jcfg.IPv4Prefix = 0
		}
		if jc.Increment.Enabled {
			jcfg.Increment = &jail.Increment{
				Factor: jc.Increment.Factor, Formula: jc.Increment.Formula, Multipliers: jc.Increment.Multipliers,
				MaxTime: jc.Increment.MaxTime, RndTime: jc.Increment.RndTime, OverallJails: jc.Increment.OverallJails,
			}
		}
		// History for every jail: it also keeps old log lines read again
		// after a restart from banning a second time.
		jcfg.History = offs.History(jc.Name)
		j, err := jail.New(jcfg)
		if err != nil {
			errs = append(errs, fmt.Errorf("jail %q: %w", jc.Name, err))
			continue
		}
		out[jc.Name] = &runJail{cfg: jc, jail: j, filter: l.Filter, useDNS: useDNS, ignore: ig, offs: offs}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

func ignoreEntries(jc config.Jail) []string {
	var e []string
	for _, p := range jc.IgnoreIP {
		e = append(e, p.String())
	}
	return append(e, jc.IgnoreNames...)
}

// purgeHistory drops ban history older than keep from the store and from
// offs (when given), as Fail2ban's dbpurgeage does.
func (d *Daemon) purgeHistory(ctx context.Context, keep time.Duration, offs *jail.Offenders) {
	if keep <= 0 || keep == config.Permanent {
		return
	}
	before := time.Now().Add(-keep)
	n, err := d.store.PurgeHistory(ctx, before)
	if err != nil {
		d.log.Warn("purging ban history", "err", err)
		return
	}
	if offs != nil {
		offs.Purge(before)
	}
	if n > 0 {
		d.log.Info("ban history purged", "entries", n, "before", before.UTC().Format(time.RFC3339))
	}
}

// offenders returns the running jails' shared ban history (nil with no
// jails); a reload replaces it.
func (d *Daemon) offenders() *jail.Offenders {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, rj := range d.jails {
		return rj.offs
	}
	return nil
}

// seedOffenders loads ban history for bantime.increment.
func (d *Daemon) seedOffenders(ctx context.Context, offs *jail.Offenders, jails map[string]*runJail) error {
	for name := range jails {
		hist, err := d.store.Offenders(ctx, name)
		if err != nil {
			return fmt.Errorf("jail %q: reading ban history: %w", name, err)
		}
		for p, o := range hist {
			offs.Add(name, p, o.Count, o.Last)
		}
	}
	return nil
}

// firewallSpecs maps jails to the firewall's view, plus the manual jail.
func firewallSpecs(jails map[string]*runJail) []firewall.JailSpec {
	specs := []firewall.JailSpec{{Name: ManualJail, Action: firewall.Drop}}
	for _, rj := range jails {
		s := firewall.JailSpec{Name: rj.cfg.Name, Action: firewall.Drop}
		if rj.cfg.Reject {
			s.Action = firewall.Reject
		}
		if !rj.cfg.AllPorts {
			for _, p := range rj.cfg.Ports {
				s.Ports = append(s.Ports, firewall.PortRange{First: p.First, Last: p.Last})
			}
			s.Protocols = rj.cfg.Protocols
		}
		specs = append(specs, s)
	}
	return specs
}

// newBackend picks the firewall backend.
func newBackend(name string, log *slog.Logger) (firewall.Backend, error) {
	switch name {
	case "nftables":
		return nft.New(nft.Options{}), nil
	case "iptables":
		return iptables.New(iptables.Options{}), nil
	case "dryrun":
		return dryrun.New(os.Stderr, time.Now), nil
	case "", "auto":
		nerr := nft.Supported(nft.Options{})
		if nerr == nil || !isUnsupported(nerr) {
			return nft.New(nft.Options{}), nil
		}
		if err := iptables.Supported(context.Background(), iptables.Options{}); err != nil {
			return nil, fmt.Errorf("no firewall backend: %v; and %v (install nftables, or iptables and ipset)", nerr, err)
		}
		log.Warn("nftables is not available; using iptables and ipset", "err", nerr)
		return iptables.New(iptables.Options{}), nil
	}
	return nil, fmt.Errorf("unknown firewall backend %q (use nftables, iptables, dryrun or auto)", name)
}

func isUnsupported(err error) bool {
	return errors.Is(err, syscall.EPROTONOSUPPORT) || errors.Is(err, syscall.EAFNOSUPPORT)
}

// ownAddrs lists this host's interface addresses (ignoreself).
func ownAddrs() ([]netip.Addr, error) {
	ifs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	var out []netip.Addr
	for _, a := range ifs {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			out = append(out, p.Addr().Unmap())
		}
	}
	return out, nil
}

// resolve looks a host name up with a short timeout (ignoreip names, and
// <HOST> names when usedns allows).
func resolve(name string) ([]netip.Addr, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", name)
	if err != nil {
		return nil, err
	}
	for i := range ips {
		ips[i] = ips[i].Unmap()
	}
	return ips, nil
}
