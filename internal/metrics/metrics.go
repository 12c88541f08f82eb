// Package metrics holds rampart's Prometheus collectors. Each daemon
// creates its own registry with New (never the global default one) and
// serves it on the address [daemon] metrics_listen names.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is the daemon's set of collectors. Its methods are safe for
// concurrent use; label values are source paths and jail names, which the
// configuration bounds.
type Metrics struct {
	reg *prometheus.Registry

	linesRead      *prometheus.CounterVec
	linesTruncated *prometheus.CounterVec
	readErrors     *prometheus.CounterVec
	lag            prometheus.Histogram

	hits       *prometheus.CounterVec
	bans       *prometheus.CounterVec
	activeBans *prometheus.GaugeVec
	tracked    *prometheus.GaugeVec
	evictions  *prometheus.CounterVec
	banLatency prometheus.Histogram

	fwBatches      prometheus.Counter
	fwBatchErrors  prometheus.Counter
	fwChanges      *prometheus.CounterVec
	fwBatchSeconds prometheus.Histogram

	alertMessages *prometheus.CounterVec
	alertDropped  *prometheus.CounterVec

	fwRestores prometheus.Counter
	fwRestored prometheus.Counter

	integrity   *prometheus.CounterVec
	hostChanges *prometheus.CounterVec

	listEntries *prometheus.GaugeVec
	listRanges  *prometheus.GaugeVec
	listUpdated *prometheus.GaugeVec
	listErrors  *prometheus.CounterVec

	auditScore   prometheus.Gauge
	auditChecks  *prometheus.GaugeVec
	auditLastRun prometheus.Gauge
}

// latencyBuckets run from 0.5 ms to about 65 s.
func latencyBuckets() []float64 { return prometheus.ExponentialBuckets(0.0005, 2, 18) }

// New creates the collectors in a fresh registry, with the Go runtime and
// process collectors beside them.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		linesRead: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rampart_logsource_lines_read_total", Help: "Log lines read, per source (file path or journal).",
		}, []string{"source"}),
		linesTruncated: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rampart_logsource_lines_truncated_total", Help: "Log lines longer than max_line_bytes, cut to that length.",
		}, []string{"source"}),
		readErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rampart_logsource_read_errors_total", Help: "Errors opening or reading a log source (it is retried).",
		}, []string{"source"}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "rampart_logsource_lag_seconds", Help: "Time from a line being appended (or its timestamp) to rampart matching it.",
			Buckets: latencyBuckets(),
		}),
		hits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rampart_jail_hits_total", Help: "Failures the jail's filter matched.",
		}, []string{"jail"}),
		bans: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rampart_jail_bans_total", Help: "Bans the jail issued (including manual bans in it).",
		}, []string{"jail"}),
		activeBans: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "rampart_jail_active_bans", Help: "Bans in force now.",
		}, []string{"jail"}),
		tracked: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "rampart_jail_tracked_addresses", Help: "Addresses with failures inside findtime.",
		}, []string{"jail"}),
		evictions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rampart_jail_evictions_total", Help: "Tracked addresses dropped because the jail reached max_tracked.",
		}, []string{"jail"}),
		banLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "rampart_ban_latency_seconds", Help: "Time from reading the failure that reached maxretry to the ban being in the firewall.",
			Buckets: latencyBuckets(),
		}),
		fwBatches: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rampart_firewall_batches_total", Help: "Batches of changes sent to the firewall.",
		}),
		fwBatchErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rampart_firewall_batch_errors_total", Help: "Batches the firewall refused (their changes are retried).",
		}),
		fwChanges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rampart_firewall_changes_total", Help: "Ban elements added to or removed from the firewall.",
		}, []string{"op"}),
		fwBatchSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "rampart_firewall_batch_duration_seconds", Help: "Time to apply one batch of firewall changes.",
			Buckets: latencyBuckets(),
		}),
		fwRestores: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rampart_firewall_restores_total", Help: "Times rampart found its firewall state removed from outside (nft flush ruleset, a deleted table, set or elements) and put it back.",
		}),
		fwRestored: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rampart_firewall_restored_bans_total", Help: "Bans put back into the kernel after their state was removed from outside.",
		}),
		alertMessages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rampart_alert_messages_total", Help: "Alert messages sent, or given up after their retries (result=failed).",
		}, []string{"alert", "result"}),
		integrity: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rampart_integrity_changes_total", Help: "File-integrity changes reported (fim's checks and realtime watch, auditd records), by rule and severity.",
		}, []string{"rule", "severity"}),
		hostChanges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rampart_host_changes_total", Help: "Host changes the collectors reported (a new SUID file, account, listening socket, unit, module…), by collector and severity.",
		}, []string{"collector", "severity"}),
		listEntries: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "rampart_blocklist_entries", Help: "Entries of a blocklist in force, as listed.",
		}, []string{"list"}),
		listRanges: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "rampart_blocklist_ranges", Help: "Ranges a blocklist's entries became in the kernel (merged, ignoreip cut out).",
		}, []string{"list"}),
		listUpdated: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "rampart_blocklist_updated_timestamp_seconds", Help: "When a blocklist's current version was put in force (Unix time).",
		}, []string{"list"}),
		listErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rampart_blocklist_errors_total", Help: "Fetches or kernel updates of a blocklist that failed (the previous version stays).",
		}, []string{"list"}),
		auditScore: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rampart_audit_score", Help: "The hardening score (0-100) of the daemon's last audit run ([audit] schedule).",
		}),
		auditChecks: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "rampart_audit_checks", Help: "Checks of the last audit run, by status (pass, fail, warn, skip, error).",
		}, []string{"status"}),
		auditLastRun: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rampart_audit_last_run_timestamp_seconds", Help: "When the daemon's last audit run finished (Unix time).",
		}),
		alertDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rampart_alert_dropped_total", Help: "Events or messages an alert dropped because its queue was full or it was stopping.",
		}, []string{"alert"}),
	}
	m.reg.MustRegister(
		m.alertMessages, m.alertDropped, m.fwRestores, m.fwRestored, m.integrity, m.hostChanges,
		m.auditScore, m.auditChecks, m.auditLastRun,
		m.listEntries, m.listRanges, m.listUpdated, m.listErrors,
		m.linesRead, m.linesTruncated, m.readErrors, m.lag,
		m.hits, m.bans, m.activeBans, m.tracked, m.evictions, m.banLatency,
		m.fwBatches, m.fwBatchErrors, m.fwChanges, m.fwBatchSeconds,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Registry returns the registry, for tests and for adding collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// LineRead counts one line read from source.
func (m *Metrics) LineRead(source string) { m.linesRead.WithLabelValues(source).Inc() }

// LinesRead counts n lines read from source; sources that read in blocks
// call it once per block to keep the hot path cheap.
func (m *Metrics) LinesRead(source string, n int) {
	m.linesRead.WithLabelValues(source).Add(float64(n))
}

// LineTruncated counts a line cut to max_line_bytes.
func (m *Metrics) LineTruncated(source string) { m.linesTruncated.WithLabelValues(source).Inc() }

// ReadError counts a failure to open or read source.
func (m *Metrics) ReadError(source string) { m.readErrors.WithLabelValues(source).Inc() }

// Lag records how long after being written a line was processed.
func (m *Metrics) Lag(d time.Duration) { m.lag.Observe(d.Seconds()) }

// Hit counts a failure matched in jail.
func (m *Metrics) Hit(jail string) { m.hits.WithLabelValues(jail).Inc() }

// Ban counts a ban issued in jail.
func (m *Metrics) Ban(jail string) { m.bans.WithLabelValues(jail).Inc() }

// SetActiveBans sets the number of bans in force in jail.
func (m *Metrics) SetActiveBans(jail string, n int) {
	m.activeBans.WithLabelValues(jail).Set(float64(n))
}

// SetTracked sets the number of addresses jail tracks.
func (m *Metrics) SetTracked(jail string, n int) { m.tracked.WithLabelValues(jail).Set(float64(n)) }

// Evicted counts n tracked addresses dropped from a full jail.
func (m *Metrics) Evicted(jail string, n int) { m.evictions.WithLabelValues(jail).Add(float64(n)) }

// BanLatency records the time from the deciding failure line to the ban
// being in the firewall.
func (m *Metrics) BanLatency(d time.Duration) { m.banLatency.Observe(d.Seconds()) }

// FirewallBatch records one batch sent to the firewall: its adds and
// removes, how long it took, and whether the firewall refused it.
func (m *Metrics) FirewallBatch(adds, removes int, took time.Duration, err error) {
	m.fwBatches.Inc()
	m.fwBatchSeconds.Observe(took.Seconds())
	if err != nil {
		m.fwBatchErrors.Inc()
		return
	}
	m.fwChanges.WithLabelValues("add").Add(float64(adds))
	m.fwChanges.WithLabelValues("remove").Add(float64(removes))
}

// EventsDropped exports a subscriber's count of events it lost because it
// fell behind, as rampart_events_dropped_total{subscriber}. Call it once per
// subscriber.
func (m *Metrics) EventsDropped(subscriber string, dropped func() uint64) {
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name:        "rampart_events_dropped_total",
		Help:        "Events a subscriber of the event bus lost because its queue was full.",
		ConstLabels: prometheus.Labels{"subscriber": subscriber},
	}, func() float64 { return float64(dropped()) }))
}

// FirewallRestored counts one restoration of n bans.
func (m *Metrics) FirewallRestored(n int) {
	m.fwRestores.Inc()
	m.fwRestored.Add(float64(n))
}

// IntegrityChange counts one file-integrity change. rule is "fim" or
// "auditd KEY" (configured keys: bounded); severity is info … critical.
func (m *Metrics) IntegrityChange(rule, severity string) {
	m.integrity.WithLabelValues(rule, severity).Inc()
}

// HostChange counts one change a host collector reported.
func (m *Metrics) HostChange(collector, severity string) {
	m.hostChanges.WithLabelValues(collector, severity).Inc()
}

// AuditRun records an audit run: its score, how many checks ended in each
// status (every status is set, 0 when none), and when it finished.
func (m *Metrics) AuditRun(score int, statuses []string, counts map[string]int, at time.Time) {
	m.auditScore.Set(float64(score))
	for _, s := range statuses {
		m.auditChecks.WithLabelValues(s).Set(float64(counts[s]))
	}
	m.auditLastRun.Set(float64(at.UnixNano()) / 1e9)
}

// Blocklist records a list's version put in force.
func (m *Metrics) Blocklist(list string, entries, ranges int, at time.Time) {
	m.listEntries.WithLabelValues(list).Set(float64(entries))
	m.listRanges.WithLabelValues(list).Set(float64(ranges))
	m.listUpdated.WithLabelValues(list).Set(float64(at.UnixNano()) / 1e9)
}

// BlocklistError counts a failed fetch or update of a list.
func (m *Metrics) BlocklistError(list string) { m.listErrors.WithLabelValues(list).Inc() }

// ForgetBlocklist drops a list no longer configured.
func (m *Metrics) ForgetBlocklist(list string) {
	for _, v := range []*prometheus.GaugeVec{m.listEntries, m.listRanges, m.listUpdated} {
		v.DeleteLabelValues(list)
	}
	m.listErrors.DeleteLabelValues(list)
}

// AlertMetrics are one alert's counters.
type AlertMetrics struct {
	sent, failed, dropped prometheus.Counter
}

// Alert returns the counters of the alert named name:
// rampart_alert_messages_total{alert,result} and
// rampart_alert_dropped_total{alert}.
func (m *Metrics) Alert(name string) *AlertMetrics {
	return &AlertMetrics{
		sent:    m.alertMessages.WithLabelValues(name, "sent"),
		failed:  m.alertMessages.WithLabelValues(name, "failed"),
		dropped: m.alertDropped.WithLabelValues(name),
	}
}

// Sent counts a message delivered.
func (a *AlertMetrics) Sent() { a.sent.Inc() }

// Failed counts a message given up after its retries.
func (a *AlertMetrics) Failed() { a.failed.Inc() }

// Dropped counts events or messages that did not fit.
func (a *AlertMetrics) Dropped(n int) { a.dropped.Add(float64(n)) }

// SourceMetrics are one log source's counters, bound once so that the hot
// path does no label lookup.
type SourceMetrics struct {
	read, truncated, errors prometheus.Counter
}

// Source returns the counters of source, for a reader to keep.
func (m *Metrics) Source(source string) *SourceMetrics {
	return &SourceMetrics{
		read:      m.linesRead.WithLabelValues(source),
		truncated: m.linesTruncated.WithLabelValues(source),
		errors:    m.readErrors.WithLabelValues(source),
	}
}

// LineRead counts one line read.
func (s *SourceMetrics) LineRead() { s.read.Inc() }

// LinesRead counts n lines read.
func (s *SourceMetrics) LinesRead(n int) { s.read.Add(float64(n)) }

// LineTruncated counts a line cut to max_line_bytes.
func (s *SourceMetrics) LineTruncated() { s.truncated.Inc() }

// ReadError counts a failure to open or read the source.
func (s *SourceMetrics) ReadError() { s.errors.Inc() }

// JailMetrics are one jail's collectors, bound once.
type JailMetrics struct {
	hits, bans, evictions prometheus.Counter
	active, tracked       prometheus.Gauge
}

// Jail returns the collectors of jail, for its runner to keep.
func (m *Metrics) Jail(jail string) *JailMetrics {
	return &JailMetrics{
		hits:      m.hits.WithLabelValues(jail),
		bans:      m.bans.WithLabelValues(jail),
		evictions: m.evictions.WithLabelValues(jail),
		active:    m.activeBans.WithLabelValues(jail),
		tracked:   m.tracked.WithLabelValues(jail),
	}
}

// Hit counts a matched failure.
func (j *JailMetrics) Hit() { j.hits.Inc() }

// Ban counts a ban issued.
func (j *JailMetrics) Ban() { j.bans.Inc() }

// SetActiveBans sets the number of bans in force.
func (j *JailMetrics) SetActiveBans(n int) { j.active.Set(float64(n)) }

// SetTracked sets the number of tracked addresses.
func (j *JailMetrics) SetTracked(n int) { j.tracked.Set(float64(n)) }

// Evicted counts n tracked addresses dropped at max_tracked.
func (j *JailMetrics) Evicted(n int) { j.evictions.Add(float64(n)) }

// Forget drops the per-jail series of a jail removed by a reload.
func (m *Metrics) Forget(jail string) {
	for _, v := range []interface{ DeleteLabelValues(...string) bool }{m.hits, m.bans, m.activeBans, m.tracked, m.evictions} {
		v.DeleteLabelValues(jail)
	}
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, MaxRequestsInFlight: 4})
}

// Serve listens on addr (host:port) and serves /metrics until ctx is done.
func (m *Metrics) Serve(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics listen %s: %w", addr, err)
	}
	return m.ServeListener(ctx, ln)
}

// ServeListener is Serve on a listener the caller opened.
func (m *Metrics) ServeListener(ctx context.Context, ln net.Listener) error {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "rampart metrics: /metrics")
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("metrics server: %w", err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(shutCtx)
	if serveErr := <-errc; !errors.Is(serveErr, http.ErrServerClosed) && err == nil {
		err = serveErr
	}
	return err
}
