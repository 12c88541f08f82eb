package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const stockTree = "../audit/testdata/trees/debian12-stock"

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestAuditCommand(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.toml")
	if err := os.WriteFile(good, []byte("owner = \"ops@example.org\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.toml")
	if err := os.WriteFile(bad, []byte("owner = \"x\"\n\n[backup]\nmarkr = \"/m\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		contains string // in stdout, or stderr when the code is 2
	}{
		{"explain", []string{"audit", "--explain", "ssh.password-auth"}, 0, "Reads:\n  a live probe"},
		{"explain unknown", []string{"audit", "--explain", "ssh.nope"}, 2, `unknown check "ssh.nope"`},
		{"list", []string{"audit", "--list"}, 0, "firewall.default-drop"},
		{"findings at high", []string{"audit", "--root", stockTree, "--format", "json"}, 1, `"score"`},
		{"--json", []string{"audit", "--root", stockTree, "--only", "ssh", "--json"}, 1, `"score"`},
		{"--json and --format disagree", []string{"audit", "--json", "--format", "html"}, 2, "--json and --format html disagree"},
		{"list --json", []string{"audit", "--list", "--json"}, 0, `"id": "firewall.default-drop"`},
		{"only a passing check", []string{"audit", "--root", stockTree, "--config", good, "--only", "docs.owner"}, 0, "Hardening score: 100/100"},
		{"medium fail below high", []string{"audit", "--root", stockTree, "--only", "ssh.max-auth-tries"}, 0, "FAIL  medium ssh.max-auth-tries"},
		{"medium fail at medium", []string{"audit", "--root", stockTree, "--only", "ssh.max-auth-tries", "--fail-on", "medium"}, 1, "ssh.max-auth-tries"},
		{"sarif", []string{"audit", "--root", stockTree, "--only", "ssh", "--format", "sarif"}, 1, `"version": "2.1.0"`},
		{"html", []string{"audit", "--root", stockTree, "--only", "users", "--format", "html"}, 1, "<!DOCTYPE html>"},
		{"bad format", []string{"audit", "--format", "yaml"}, 2, `format "yaml"`},
		{"bad fail-on", []string{"audit", "--fail-on", "critical"}, 2, "--fail-on"},
		{"bad only", []string{"audit", "--only", "ssh.nope"}, 2, "unknown check or area ssh.nope"},
		{"missing root", []string{"audit", "--root", filepath.Join(dir, "none")}, 2, "--root"},
		{"rampart socket defaults to --socket", []string{"--socket", filepath.Join(dir, "r.sock"), "audit", "--only", "bruteforce.engine", "--fail2ban-socket", filepath.Join(dir, "f.sock")}, 1, filepath.Join(dir, "r.sock")},
		{"--rampart-socket wins", []string{"--socket", filepath.Join(dir, "r.sock"), "audit", "--only", "bruteforce.engine", "--rampart-socket", filepath.Join(dir, "own.sock"), "--fail2ban-socket", filepath.Join(dir, "f.sock")}, 1, filepath.Join(dir, "own.sock")},
		{"unknown config key", []string{"audit", "--config", bad, "--root", stockTree}, 2, `line 4: unknown key "backup.markr"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCLI(t, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %.400s\nstderr: %s", code, tc.code, out, errs)
			}
			where := out
			if tc.code == 2 {
				where = errs
			}
			if !strings.Contains(where, tc.contains) {
				t.Errorf("output lacks %q:\nstdout: %.600s\nstderr: %s", tc.contains, out, errs)
			}
			if strings.Contains(out, "\x1b[") {
				t.Error("colour escape in output that is not a terminal")
			}
		})
	}
}

func TestAuditJSONDocument(t *testing.T) {
	code, out, errs := runCLI(t, "audit", "--root", stockTree, "--format", "json")
	if code != 1 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var doc struct {
		Score  int    `json:"score"`
		Host   string `json:"host"`
		Checks []struct {
			ID, Area, Severity, Status, Title, Evidence, Remediation string
		} `json:"checks"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Host != "stock" || len(doc.Checks) < 60 || doc.Score <= 0 || doc.Score >= 100 {
		t.Errorf("host %q, %d checks, score %d", doc.Host, len(doc.Checks), doc.Score)
	}
}
