package metrics

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// monitoringFiles are the Prometheus rules and the Grafana dashboard shipped
// in dist/monitoring.
var monitoringFiles = []string{"rampart-rules.yml", "grafana-dashboard.json"}

// registered lists every metric family name the collectors export, with
// each labelled family touched once so that it shows.
func registered(t *testing.T) map[string]bool {
	t.Helper()
	m := New()
	m.Jail("j").Hit()
	m.Jail("j").Ban()
	m.Jail("j").SetActiveBans(1)
	m.Jail("j").SetTracked(1)
	m.Jail("j").Evicted(1)
	m.Source("s").LineRead()
	m.Source("s").LineTruncated()
	m.Source("s").ReadError()
	m.FirewallBatch(1, 1, 0, nil)
	m.Alert("a").Sent()
	m.Alert("a").Dropped(1)
	m.EventsDropped("log", func() uint64 { return 0 })
	m.FirewallRestored(1)
	m.IntegrityChange("fim", "high")
	m.HostChange("suid", "critical")
	m.AuditRun(80, []string{"pass"}, map[string]int{"pass": 1}, time.Now())
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, f := range fams {
		out[f.GetName()] = true
	}
	return out
}

// Every rampart_ metric the rules and the dashboard name exists.
func TestMonitoringNamesExist(t *testing.T) {
	have := registered(t)
	re := regexp.MustCompile(`\b(rampart|process|go)_[a-z_]+`)
	for _, name := range monitoringFiles {
		data, err := os.ReadFile(filepath.Join("..", "..", "dist", "monitoring", name))
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(name, ".json") {
			var v map[string]any
			if err := json.Unmarshal(data, &v); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		for _, m := range re.FindAllString(string(data), -1) {
			base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m, "_bucket"), "_sum"), "_count")
			if !have[base] && !have[m] {
				t.Errorf("%s names %s, which rampart does not export", name, m)
			}
		}
	}
}

// promtool (Debian's prometheus package, installed by scripts/deps.sh)
// accepts the rules.
func TestPromtoolCheckRules(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (Debian package prometheus; scripts/deps.sh installs it)")
	}
	out, err := exec.Command(promtool, "check", "rules", filepath.Join("..", "..", "dist", "monitoring", "rampart-rules.yml")).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "SUCCESS: 11 rules found") {
		t.Errorf("promtool: %s", out)
	}
}
