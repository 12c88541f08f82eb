package audit

import (
	"bytes"
	"encoding/json"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", os.Getenv("UPDATE_GOLDEN") == "1", "rewrite golden files (or UPDATE_GOLDEN=1)")

// offlineTree copies testdata/trees/name to a temp dir with fixed modes and
// times, and returns an Offline Env for it, as `rampart audit --root` builds.
func offlineTree(t *testing.T, name string, modes map[string]fs.FileMode) *Env {
	t.Helper()
	root := t.TempDir()
	if err := copyTree(filepath.Join("testdata", "trees", name), root); err != nil {
		t.Fatal(err)
	}
	if name == "debian12-stock" && os.Geteuid() == 0 {
		os.Chown(filepath.Join(root, "home/debian"), 1000, 1000)
	}
	if name == "hardened" {
		passwd := filepath.Join(root, "etc/passwd")
		b, _ := os.ReadFile(passwd)
		os.WriteFile(passwd, bytes.ReplaceAll(b, []byte("@UID@"), []byte("1000")), 0o644)
		// The owner check cannot pass for a user the test cannot chown to.
		if os.Geteuid() == 0 {
			os.Chown(filepath.Join(root, "home/alice"), 1000, 1000)
		}
	}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.Type()&fs.ModeSymlink != 0 {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		a := time.Hour
		if v, ok := baseAges[rel]; ok {
			a = v
		}
		return os.Chtimes(p, fixtureNow.Add(-a), fixtureNow.Add(-a))
	})
	if err != nil {
		t.Fatal(err)
	}
	for p, m := range modes {
		if err := os.Chmod(filepath.Join(root, p), m); err != nil {
			t.Fatal(err)
		}
	}
	cfg := Config{}
	if c, err := LoadConfig(filepath.Join(root, DefaultConfigPath)); err == nil {
		cfg = c
	}
	e := Offline(root, cfg, fixtureNow)
	e.rootUID = uint32(os.Geteuid())
	return e
}

var stockModes = map[string]fs.FileMode{
	"etc/shadow": 0o640, "etc/gshadow": 0o640, "etc/sudoers": 0o440, "etc/sudoers.d": 0o755,
	"etc/ssh/ssh_host_ed25519_key": 0o600, "root": 0o700, "home/debian": 0o755,
}

func TestGoldenReports(t *testing.T) {
	for _, tc := range []struct {
		tree    string
		modes   map[string]fs.FileMode
		formats []Format
	}{
		{"debian12-stock", stockModes, []Format{FormatText, FormatJSON, FormatSARIF, FormatHTML}},
		{"hardened", baseModes, []Format{FormatText, FormatJSON}},
	} {
		t.Run(tc.tree, func(t *testing.T) {
			if os.Geteuid() != 0 {
				t.Skip("golden reports show file owners and need home directories owned by uid 1000: run as root (CI does)")
			}
			e := offlineTree(t, tc.tree, tc.modes)
			rep := Run(t.Context(), e, Checks(), Options{Timeout: 10 * time.Second})
			rep.Root = "/mnt/" + tc.tree // the temp dir differs per run
			for _, f := range tc.formats {
				var b bytes.Buffer
				if err := Render(&b, rep, f, false); err != nil {
					t.Fatal(err)
				}
				ext := map[Format]string{FormatText: "txt", FormatJSON: "json", FormatSARIF: "sarif", FormatHTML: "html"}[f]
				golden(t, filepath.Join("testdata", "golden", tc.tree+"."+ext), b.Bytes())
			}
		})
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with UPDATE_GOLDEN=1 to create it)", err)
	}
	if d := cmp.Diff(strings.Split(string(want), "\n"), strings.Split(string(got), "\n")); d != "" {
		t.Errorf("%s differs (-want +got; UPDATE_GOLDEN=1 rewrites it):\n%s", path, d)
	}
}

// TestJSONShape pins the documented JSON document: score, host and checks
// with id, area, severity, status, title, evidence, remediation.
func TestJSONShape(t *testing.T) {
	e := offlineTree(t, "debian12-stock", stockModes)
	rep := Run(t.Context(), e, Checks(), Options{})
	var b bytes.Buffer
	if err := Render(&b, rep, FormatJSON, false); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Score  *int    `json:"score"`
		Host   *string `json:"host"`
		Checks []map[string]any
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Score == nil || doc.Host == nil || *doc.Host != "stock" {
		t.Fatalf("score/host missing: %s", b.String()[:200])
	}
	if len(doc.Checks) != len(Checks()) {
		t.Fatalf("%d checks in JSON, want %d", len(doc.Checks), len(Checks()))
	}
	for _, c := range doc.Checks {
		for _, k := range []string{"id", "area", "severity", "status", "title", "evidence"} {
			if _, ok := c[k].(string); !ok {
				t.Errorf("check %v: %q missing or not a string", c["id"], k)
			}
		}
		switch c["status"] {
		case "pass", "fail", "warn", "skip", "error":
		default:
			t.Errorf("check %v: status %v", c["id"], c["status"])
		}
	}
}

// TestSARIF checks the structure code-scanning services need.
func TestSARIF(t *testing.T) {
	e := offlineTree(t, "debian12-stock", stockModes)
	rep := Run(t.Context(), e, Checks(), Options{})
	var b bytes.Buffer
	if err := Render(&b, rep, FormatSARIF, false); err != nil {
		t.Fatal(err)
	}
	var log sarifLog
	if err := json.Unmarshal(b.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	if log.Version != "2.1.0" || !strings.Contains(log.Schema, "sarif-2.1.0") || len(log.Runs) != 1 {
		t.Fatalf("version %q schema %q runs %d", log.Version, log.Schema, len(log.Runs))
	}
	run := log.Runs[0]
	if run.Tool.Driver.Name == "" || len(run.Tool.Driver.Rules) != len(Checks()) {
		t.Fatalf("driver %q with %d rules", run.Tool.Driver.Name, len(run.Tool.Driver.Rules))
	}
	fails := rep.Counts()[Fail] + rep.Counts()[Warn] + rep.Counts()[Error]
	if len(run.Results) != fails {
		t.Errorf("%d results, want %d", len(run.Results), fails)
	}
	for _, r := range run.Results {
		if r.RuleIndex < 0 || r.RuleIndex >= len(run.Tool.Driver.Rules) || run.Tool.Driver.Rules[r.RuleIndex].ID != r.RuleID {
			t.Errorf("result %s: ruleIndex %d does not point at its rule", r.RuleID, r.RuleIndex)
		}
		switch r.Level {
		case "error", "warning", "note":
		default:
			t.Errorf("result %s: level %q", r.RuleID, r.Level)
		}
		if r.Message.Text == "" || len(r.Locations) == 0 {
			t.Errorf("result %s: empty message or no location", r.RuleID)
		}
	}
}

// TestHTMLSelfContained: one page, inline CSS, nothing fetched.
func TestHTMLSelfContained(t *testing.T) {
	rep := &Report{Host: `<script>alert(1)</script>`, Time: fixtureNow, Checks: []Finding{
		{ID: "ssh.root-login", Area: AreaSSH, Severity: High, Status: Fail, Title: "t", Evidence: `a<b>&"`, Remediation: "x"},
	}}
	rep.summarize()
	var b bytes.Buffer
	if err := Render(&b, rep, FormatHTML, false); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	for _, bad := range []string{"<script", "<link", "src=", "@import", "url(", "http://", "https://"} {
		if strings.Contains(s, bad) {
			t.Errorf("HTML contains %q", bad)
		}
	}
	if !strings.Contains(s, "<style>") || !strings.Contains(s, "&lt;script&gt;") {
		t.Errorf("HTML lacks inline CSS or escaping")
	}
}

func TestTextColourOnlyWhenAsked(t *testing.T) {
	e := offlineTree(t, "debian12-stock", stockModes)
	rep := Run(t.Context(), e, Checks(), Options{})
	var plain, colour bytes.Buffer
	Render(&plain, rep, FormatText, false)
	Render(&colour, rep, FormatText, true)
	if strings.Contains(plain.String(), "\x1b[") {
		t.Error("plain text report has escape sequences")
	}
	if !strings.Contains(colour.String(), "\x1b[31m") {
		t.Error("colour report has no red")
	}
}
