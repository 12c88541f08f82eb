package metrics

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestCollectors(t *testing.T) {
	m := New()
	m.LineRead("/var/log/auth.log")
	m.LinesRead("/var/log/auth.log", 9)
	m.LineTruncated("/var/log/auth.log")
	m.ReadError("journal")
	m.Hit("sshd")
	m.Hit("sshd")
	m.Ban("sshd")
	m.SetActiveBans("sshd", 4)
	m.SetTracked("sshd", 120)
	m.Evicted("sshd", 3)
	m.Lag(3 * time.Millisecond)
	m.BanLatency(20 * time.Millisecond)
	m.FirewallBatch(200, 5, time.Millisecond, nil)
	m.FirewallBatch(10, 0, time.Millisecond, errors.New("EINVAL"))

	want := `
# HELP rampart_firewall_batch_errors_total Batches the firewall refused (their changes are retried).
# TYPE rampart_firewall_batch_errors_total counter
rampart_firewall_batch_errors_total 1
# HELP rampart_firewall_batches_total Batches of changes sent to the firewall.
# TYPE rampart_firewall_batches_total counter
rampart_firewall_batches_total 2
# HELP rampart_firewall_changes_total Ban elements added to or removed from the firewall.
# TYPE rampart_firewall_changes_total counter
rampart_firewall_changes_total{op="add"} 200
rampart_firewall_changes_total{op="remove"} 5
# HELP rampart_jail_active_bans Bans in force now.
# TYPE rampart_jail_active_bans gauge
rampart_jail_active_bans{jail="sshd"} 4
# HELP rampart_jail_bans_total Bans the jail issued (including manual bans in it).
# TYPE rampart_jail_bans_total counter
rampart_jail_bans_total{jail="sshd"} 1
# HELP rampart_jail_evictions_total Tracked addresses dropped because the jail reached max_tracked.
# TYPE rampart_jail_evictions_total counter
rampart_jail_evictions_total{jail="sshd"} 3
# HELP rampart_jail_hits_total Failures the jail's filter matched.
# TYPE rampart_jail_hits_total counter
rampart_jail_hits_total{jail="sshd"} 2
# HELP rampart_jail_tracked_addresses Addresses with failures inside findtime.
# TYPE rampart_jail_tracked_addresses gauge
rampart_jail_tracked_addresses{jail="sshd"} 120
# HELP rampart_logsource_lines_read_total Log lines read, per source (file path or journal).
# TYPE rampart_logsource_lines_read_total counter
rampart_logsource_lines_read_total{source="/var/log/auth.log"} 10
# HELP rampart_logsource_lines_truncated_total Log lines longer than max_line_bytes, cut to that length.
# TYPE rampart_logsource_lines_truncated_total counter
rampart_logsource_lines_truncated_total{source="/var/log/auth.log"} 1
# HELP rampart_logsource_read_errors_total Errors opening or reading a log source (it is retried).
# TYPE rampart_logsource_read_errors_total counter
rampart_logsource_read_errors_total{source="journal"} 1
`
	names := []string{
		"rampart_firewall_batch_errors_total", "rampart_firewall_batches_total", "rampart_firewall_changes_total",
		"rampart_jail_active_bans", "rampart_jail_bans_total", "rampart_jail_evictions_total", "rampart_jail_hits_total",
		"rampart_jail_tracked_addresses", "rampart_logsource_lines_read_total", "rampart_logsource_lines_truncated_total",
		"rampart_logsource_read_errors_total",
	}
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
	if got := testutil.CollectAndCount(m.lag); got != 1 {
		t.Errorf("lag histogram has %d series, want 1", got)
	}
	problems, err := testutil.GatherAndLint(m.Registry())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "rampart_") {
			t.Errorf("metric %s: %s", p.Metric, p.Text)
		}
	}

	m.Forget("sshd")
	if got := testutil.CollectAndCount(m.hits); got != 0 {
		t.Errorf("after Forget, hits has %d series, want 0", got)
	}
}

// Two daemons in one process (as in tests) do not share series.
func TestRegistriesIndependent(t *testing.T) {
	a, b := New(), New()
	a.Hit("sshd")
	if got := testutil.ToFloat64(b.hits.WithLabelValues("sshd")); got != 0 {
		t.Errorf("second registry sees %v hits, want 0", got)
	}
}

func TestServe(t *testing.T) {
	m := New()
	m.Ban("sshd")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.ServeListener(ctx, ln) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `rampart_jail_bans_total{jail="sshd"} 1`) || !strings.Contains(string(body), "go_goroutines") {
		t.Errorf("GET /metrics = %d\n%s", resp.StatusCode, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("ServeListener: %v", err)
	}
	if err := m.Serve(context.Background(), "256.0.0.1:1"); err == nil {
		t.Error("Serve on a bad address returned nil")
	}
}

func TestBoundHandles(t *testing.T) {
	m := New()
	src := m.Source("/var/log/auth.log")
	src.LineRead()
	src.LinesRead(4)
	src.LineTruncated()
	src.ReadError()
	j := m.Jail("sshd")
	j.Hit()
	j.Ban()
	j.SetActiveBans(2)
	j.SetTracked(9)
	j.Evicted(1)
	m.Hit("sshd") // the string form reaches the same series
	got := []float64{
		testutil.ToFloat64(m.linesRead.WithLabelValues("/var/log/auth.log")),
		testutil.ToFloat64(m.linesTruncated.WithLabelValues("/var/log/auth.log")),
		testutil.ToFloat64(m.readErrors.WithLabelValues("/var/log/auth.log")),
		testutil.ToFloat64(m.hits.WithLabelValues("sshd")),
		testutil.ToFloat64(m.bans.WithLabelValues("sshd")),
		testutil.ToFloat64(m.activeBans.WithLabelValues("sshd")),
		testutil.ToFloat64(m.tracked.WithLabelValues("sshd")),
		testutil.ToFloat64(m.evictions.WithLabelValues("sshd")),
	}
	want := []float64{5, 1, 1, 2, 1, 2, 9, 1}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("series %d = %v, want %v (all: %v)", i, got[i], want[i], got)
		}
	}
}

func BenchmarkSourceLineRead(b *testing.B) {
	src := New().Source("/var/log/auth.log")
	b.ReportAllocs()
	for b.Loop() {
		src.LineRead()
	}
}

func BenchmarkLinesRead(b *testing.B) {
	m := New()
	b.ReportAllocs()
	for b.Loop() {
		m.LinesRead("/var/log/auth.log", 64)
	}
}
