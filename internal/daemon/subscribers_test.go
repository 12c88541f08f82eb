package daemon

import (
	"bytes"
	"context"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/event"
	"github.com/rampart-ids/rampart/internal/filter"
	"github.com/rampart-ids/rampart/internal/filterload"
	"github.com/rampart-ids/rampart/internal/logging"
	"github.com/rampart-ids/rampart/internal/metrics"
)

// The log subscriber's ban line is what the built-in recidive filter reads.
func TestBanLogLineFeedsRecidive(t *testing.T) {
	var buf bytes.Buffer
	d := &Daemon{log: slog.New(logging.NewHandler(&buf, slog.LevelInfo, false))}
	d.logEvents(context.Background(), []event.Event{{
		Kind: event.BanAdded, Jail: "sshd", Prefix: netip.MustParsePrefix("192.0.2.7/32"),
		Origin: "jail sshd", Until: time.Date(2026, 6, 15, 12, 10, 0, 0, time.UTC), Count: 2,
	}})
	line := "2026-06-15T12:00:00.000000+00:00 host rampart[42]: " + strings.TrimSpace(buf.String())
	l, err := filterload.Load("recidive", "", filter.Options{Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	res := l.Filter.NewMatcher().Match([]byte(line), time.Date(2026, 6, 15, 12, 0, 1, 0, time.UTC))
	if res.Kind != filter.Hit || res.Addr.String() != "192.0.2.7" {
		t.Errorf("recidive on %q = %v %s, want a hit for 192.0.2.7", line, res.Kind, res.Host)
	}
}

// Integrity and host changes are counted by rule (collector) and severity.
func TestMetricsCountChanges(t *testing.T) {
	d := &Daemon{met: metrics.New()}
	d.metricsEvents(context.Background(), []event.Event{
		{Kind: event.IntegrityChange, Rule: "fim", Severity: "high", Path: "/etc/passwd"},
		{Kind: event.IntegrityChange, Rule: "fim", Severity: "high", Path: "/etc/shadow"},
		{Kind: event.IntegrityChange, Rule: "auditd identity", Severity: "critical", Path: "/etc/passwd"},
		{Kind: event.HostChange, Rule: "suid", Severity: "critical", Path: "/tmp/x"},
	})
	want := map[string]float64{
		`rampart_integrity_changes_total{rule="fim",severity="high"}`:                 2,
		`rampart_integrity_changes_total{rule="auditd identity",severity="critical"}`: 1,
		`rampart_host_changes_total{collector="suid",severity="critical"}`:            1,
	}
	fams, err := d.met.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+`="`+l.GetValue()+`"`)
			}
			if m.Counter != nil {
				got[f.GetName()+"{"+strings.Join(labels, ",")+"}"] = m.Counter.GetValue()
			}
		}
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}
