package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/rampart-ids/rampart/internal/textpages"

	"github.com/rampart-ids/rampart/internal/config"
	"github.com/rampart-ids/rampart/internal/daemon"
	"github.com/rampart-ids/rampart/internal/filterload"
	"github.com/rampart-ids/rampart/internal/logging"
	"github.com/spf13/cobra"
)

func newRunCmd(g *globals) *cobra.Command {
	var cfgPath, f2bDir, logLevel string
	c := &cobra.Command{
		Use:   "run",
		Short: "Run the rampart daemon in the foreground",
		Long: `Run the daemon in the foreground (systemd runs it from dist/rampart.service).

Without flags it reads /etc/rampart/rampart.toml and /etc/rampart/rampart.d/*.toml
layered over the embedded default configuration, which protects sshd the way
Debian's Fail2ban does: the sshd jail on /var/log/auth.log, or the journal when
there is no such file. A configuration error stops it before anything changes.

--fail2ban DIR runs the enabled jails of an existing Fail2ban configuration
(jail.conf, jail.local, jail.d/, paths-*.conf, filter.d) with rampart's own
firewall backend; what cannot be carried over is named at start.

Signals: SIGTERM/SIGINT stop, SIGHUP reloads the configuration.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			load := func() (*config.Config, []string, error) {
				return loadConfig(cfgPath, f2bDir, cmd.Flags().Changed("config"))
			}
			cfg, _, err := load()
			if err != nil {
				return configErrors(g, err)
			}
			if logLevel == "" {
				logLevel = cfg.Daemon.LogLevel
			}
			log := newLogger(g.stderr, logLevel, cfg.Log.Format)
			tuneGC(os.Getenv)
			// Keep the binary's resident pages to those the running daemon
			// uses (internal/textpages): no fault-around from here on, and
			// what start-up touched is dropped once the daemon has settled.
			if err := textpages.Random(); err != nil {
				log.Debug("binary pages: madvise refused", "err", err)
			}
			// The jails open their sources and compile their filters on
			// their own goroutines after the socket serves: settle first.
			ready := func() {
				time.AfterFunc(3*time.Second, func() {
					if err := textpages.Release(); err != nil {
						log.Debug("binary pages: madvise refused", "err", err)
					}
				})
			}
			// Signals are caught here, before anything starts: a SIGTERM
			// while stored bans are being enforced still stops the daemon
			// in order, and a SIGHUP during start-up waits for the run loop.
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			err = daemon.Run(ctx, daemon.Options{Load: load, Fail2banDir: f2bDir, Log: log, Version: version, Reloads: hangups(ctx), Ready: ready})
			var ce *daemon.ConfigError
			if errors.As(err, &ce) {
				return usageErr(err)
			}
			if err != nil {
				return failErr(err)
			}
			return nil
		},
	}
	c.Flags().StringVar(&cfgPath, "config", config.DefaultPath, "configuration file (drop-ins in rampart.d/ beside it)")
	c.Flags().StringVar(&f2bDir, "fail2ban", "", "run the jails of this Fail2ban configuration directory (e.g. /etc/fail2ban)")
	c.Flags().StringVar(&logLevel, "log-level", "", "debug, info, warn or error (default: the configuration's log_level)")
	return c
}

// loadConfig reads the configuration the daemon and `config check` use.
func loadConfig(path, f2bDir string, explicit bool) (*config.Config, []string, error) {
	opt := config.Options{MissingOK: !explicit && path == config.DefaultPath, FilterExists: filterExistsIn(f2bDir)}
	if f2bDir == "" {
		cfg, err := config.LoadWith(path, opt)
		return cfg, nil, err
	}
	if _, err := os.Stat(filepath.Join(f2bDir, "jail.conf")); err != nil {
		return nil, nil, fmt.Errorf("--fail2ban %s: no jail.conf there (%v)", f2bDir, err)
	}
	data, notes, err := config.FromFail2ban(f2bDir)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := config.LoadBytes("fail2ban:"+f2bDir, data, opt)
	if err != nil {
		return nil, nil, err
	}
	// The jails come from Fail2ban; the [daemon] settings (state, socket,
	// firewall backend, metrics) still come from rampart's own file.
	own, err := config.LoadWith(path, config.Options{MissingOK: opt.MissingOK, SkipFileChecks: true})
	if err != nil {
		return nil, nil, err
	}
	cfg.Daemon = own.Daemon
	return cfg, notes, err
}

// filterExistsIn tells the config loader whether a filter name resolves,
// also in a Fail2ban directory's filter.d.
func filterExistsIn(f2bDir string) func(string) bool {
	return func(name string) bool {
		if filterload.IsDetector(name) {
			return true
		}
		_, _, err := filterload.Definition(name, f2bDir)
		return err == nil || !strings.Contains(err.Error(), "unknown filter")
	}
}

// newLogger makes the daemon's logger: the journal with structured fields
// under systemd (format auto or journal), JSON lines, or "LEVEL message
// key=value…" lines — without a time under systemd (which adds its own).
func newLogger(w io.Writer, level, format string) *slog.Logger {
	var lv slog.Level
	switch strings.ToLower(level) {
	case "debug":
		lv = slog.LevelDebug
	case "warn":
		lv = slog.LevelWarn
	case "error":
		lv = slog.LevelError
	}
	underSystemd := os.Getenv("JOURNAL_STREAM") != "" || os.Getenv("INVOCATION_ID") != ""
	journal := logging.JournalAvailable()
	switch {
	case journal && (format == "journal" || format == "auto" && underSystemd):
		return slog.New(logging.NewJournal(lv))
	case format == "journal":
		fmt.Fprintln(w, "rampart: [log] format = \"journal\", but there is no journal socket (/run/systemd/journal/socket); writing text to stderr")
	case format == "json":
		return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lv}))
	}
	return slog.New(logging.NewHandler(w, lv, os.Getenv("JOURNAL_STREAM") == ""))
}

// hangups turns SIGHUP into reload requests until ctx is done. A SIGHUP
// that arrives while a reload is asked for already is merged with it.
func hangups(ctx context.Context) <-chan struct{} {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	out := make(chan struct{}, 1)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				select {
				case out <- struct{}{}:
				default:
				}
			}
		}
	}()
	return out
}

// daemonGCPercent is the garbage collector's target the daemon runs with
// unless GOGC says otherwise. The daemon's live heap is mostly the jails'
// compact failure tables, which change little between collections, so
// Go's default (100: the heap may grow to twice what is live) mostly buys
// slack: with 1,000,000 tracked addresses 100 peaks at 248 MB RSS, 35 at
// 196 MB, at no measurable cost to a 10,000-address flood (docs/PERFORMANCE.md).
const daemonGCPercent = 35

// tuneGC sets the daemon's GC target unless the GOGC environment variable
// is set (an administrator's GOGC, like GOMEMLIMIT, always wins).
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(daemonGCPercent)
	}
}
