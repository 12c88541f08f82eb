package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCLIIn is runCLI (audit_test.go) with standard input.
func runCLIIn(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(args, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), code
}

const authLog = `2026-06-15T11:59:00.000001+00:00 vm sshd[100]: Failed password for root from 192.0.2.9 port 2222 ssh2
2026-06-15T11:59:01.000001+00:00 vm CRON[101]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)
2026-06-15T11:59:02.000001+00:00 vm sshd[102]: Failed password for invalid user admin from 2001:db8::7 port 2223 ssh2
`

func TestFilterTestJSON(t *testing.T) {
	out, errs, code := runCLIIn(t, authLog, "filter", "test", "sshd", "-", "--json", "--now", "2026-06-15T12:00:00Z")
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errs)
	}
	var got []hitRecord
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var h hitRecord
		if err := dec.Decode(&h); err != nil {
			t.Fatalf("stdout is not JSON objects only: %v\n%s", err, out)
		}
		got = append(got, h)
	}
	want := []hitRecord{
		{Line: 1, IP: "192.0.2.9", Time: "2026-06-15T11:59:00.000001Z", User: "root", Filter: "sshd"},
		{Line: 3, IP: "2001:db8::7", Time: "2026-06-15T11:59:02.000001Z", User: "admin", Filter: "sshd"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d hits %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("hit %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestFilterTestSummaryAndErrors(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "auth.log")
	if err := os.WriteFile(log, []byte(authLog), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, code := runCLIIn(t, "", "filter", "test", "sshd[mode=aggressive]", log)
	if code != 0 || !strings.Contains(out, "Hits:     2") || !strings.Contains(out, "Lines:    3 read") {
		t.Errorf("summary (exit %d):\n%s", code, out)
	}
	bad := filepath.Join(dir, "bad.conf")
	_ = os.WriteFile(bad, []byte("[Definition]\nfailregex = ^x (?P<a>y\n"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"filter", "test", bad, log}, "bad.conf:2: bad regex"},
		{[]string{"filter", "test", "no-such-filter", log}, `unknown filter "no-such-filter"`},
		{[]string{"filter", "test", "sshd", filepath.Join(dir, "missing.log")}, "log file:"},
		{[]string{"filter", "test", "sshd"}, "takes FILTER and LOGFILE"},
		{[]string{"filter", "test", "sshd[mode", log}, "options must end with ']'"},
	} {
		_, errs, code := runCLIIn(t, "", tc.args...)
		if code != 2 || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", tc.args, code, errs, tc.want)
		}
	}
}

// --journal runs journalctl (here a stand-in on PATH printing recorded
// JSON) and matches each entry with its own time.
func TestFilterTestJournal(t *testing.T) {
	dir := t.TempDir()
	entries, err := os.ReadFile("../logsource/testdata/journal/sshd.json")
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "entries.json")
	if err := os.WriteFile(data, entries, 0o644); err != nil {
		t.Fatal(err)
	}
	argsFile := filepath.Join(dir, "args")
	script := "#!/bin/sh\necho \"$@\" > " + argsFile + "\ncat " + data + "\n"
	if err := os.WriteFile(filepath.Join(dir, "journalctl"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, errs, code := runCLIIn(t, "", "filter", "test", "sshd", "--journal", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, `"filter":"sshd"`) {
		t.Errorf("no hit from the recorded journal:\n%s", out)
	}
	args, _ := os.ReadFile(argsFile)
	if !strings.Contains(string(args), "--output=json") || !strings.Contains(string(args), "_COMM=sshd") {
		t.Errorf("journalctl called with %q, want JSON output and the filter's journalmatch", args)
	}
}
