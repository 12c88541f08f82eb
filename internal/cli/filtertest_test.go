package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/filter"
	"github.com/rampart-ids/rampart/internal/filterload"
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

// hitRecord and hitJSON are the --json object as encoding/json writes it:
// the reference the hand-written encoder is compared with.
type hitRecord struct {
	Line   int    `json:"line"`
	IP     string `json:"ip"`
	Time   string `json:"time,omitempty"`
	User   string `json:"user,omitempty"`
	ID     string `json:"id,omitempty"`
	Filter string `json:"filter"`
}

func hitJSON(n int, res filter.Result, name string) hitRecord {
	r := hitRecord{Line: n, User: res.User, Filter: name, ID: res.ID}
	switch {
	case res.Addr.IsValid() && res.Bits > 0:
		r.IP = fmt.Sprintf("%s/%d", res.Addr, res.Bits)
	case res.Addr.IsValid():
		r.IP = res.Addr.String()
	default:
		r.IP = res.Host
	}
	if res.HasTime {
		r.Time = res.Time.Format(time.RFC3339Nano)
	}
	return r
}

// A filter whose hits carry what the JSON encoder must escape: user names
// with quotes, HTML characters, control bytes and invalid UTF-8, host
// names, CIDR subnets and <F-ID> values; its file name (the filter's name)
// needs escaping too.
const jsonFilterConf = `[Definition]
failregex = ^\s*auth fail user <F-USER>.+</F-USER> from <SUBNET>$
            ^\s*token <F-ID>\S+</F-ID> rejected$
            ^\s*bad host <HOST>(?: \(no date\))?$
datepattern = ^%%Y-%%m-%%dT%%H:%%M:%%S(?:\.%%f)?%%z
`

const jsonFilterLog = "2026-06-15T11:59:00+00:00 auth fail user root from 192.0.2.9\n" +
	"2026-06-15T11:59:00.5+02:00 auth fail user \"quoted\" <b>&amp; from 198.51.100.0/24\n" +
	"2026-06-15T11:59:01.000001+00:00 auth fail user tab\there\x01\x7f from 192.0.2.128/25\n" +
	"2026-06-15T11:59:02+00:00 auth fail user caf\xc3\xa9 \xff\xfe\u2028 from [2001:db8::9]\n" +
	"2026-06-15T11:59:03+00:00 token abc\\def\"</script> rejected\n" +
	"2026-06-15T11:59:04+00:00 bad host host-7.example.net\n" +
	"2026-06-15T11:59:05+00:00 bad host 203.0.113.77\n" +
	"bad host 203.0.113.78 (no date)\n" +
	"2026-06-15T11:59:06+00:00 nothing to see\n" +
	"2026-06-15T11:59:07+00:00 auth fail user <admin> from 192.0.2.10\n" +
	"2026-06-15T11:59:08+00:00 auth fail user x&y from 192.0.2.11\n"

// TestFilterTestJSONLines checks every --json line byte for byte against
// encoding/json writing the same results, and against a golden file.
func TestFilterTestJSONLines(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, `t"&<x>.conf`)
	if err := os.WriteFile(conf, []byte(jsonFilterConf), 0o644); err != nil {
		t.Fatal(err)
	}
	var all bytes.Buffer
	for _, tc := range []struct{ spec, log string }{
		{"sshd", authLog},
		{"sshd[mode=aggressive]", authLog},
		{conf, jsonFilterLog},
	} {
		now := "2026-06-15T12:00:00Z"
		out, errs, code := runCLIIn(t, tc.log, "filter", "test", tc.spec, "-", "--json", "--now", now, "--timezone", "UTC")
		if code != 0 {
			t.Fatalf("%s: exit %d, stderr %s", tc.spec, code, errs)
		}
		want := referenceJSON(t, tc.spec, tc.log, now)
		if out != want {
			t.Errorf("%s: --json output\n%s\nwant (encoding/json)\n%s", tc.spec, out, want)
		}
		all.WriteString(strings.ReplaceAll(out, dir+"/", ""))
	}
	goldenFile(t, "filtertest-json.golden", all.String())
}

// referenceJSON matches log with spec through filterload and encodes each
// hit with encoding/json, as filter test did before its own encoder.
func referenceJSON(t *testing.T, spec, log, now string) string {
	t.Helper()
	l, err := filterload.Load(spec, "", filter.Options{UseDNS: true, Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	at, _ := time.Parse(time.RFC3339, now)
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	_, err = filterload.Scan(strings.NewReader(log), l.Filter.NewMatcher(), func() time.Time { return at }, func(n int, _ []byte, res *filter.Result) {
		if res.Kind == filter.Hit {
			if err := enc.Encode(hitJSON(n, *res, l.Filter.Name())); err != nil {
				t.Fatal(err)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// FuzzHitEncoder: for any values, the hand-written encoder writes what
// encoding/json writes.
func FuzzHitEncoder(f *testing.F) {
	f.Add(1, "192.0.2.1", 0, "host", "root", "", "sshd", int64(1781524740000001000))
	f.Add(7, "2001:db8::1", 48, "", "a\"b<c>&d\x00\xff\u2028", "id\\x", "t\"&<x>", int64(-62135596800))
	f.Add(0, "", 0, "dns.example", "", "", "", int64(0))
	f.Fuzz(func(t *testing.T, n int, ip string, bits int, host, user, id, name string, unixNano int64) {
		res := filter.Result{Kind: filter.Hit, Host: host, User: user, ID: id, Bits: bits}
		if a, err := netip.ParseAddr(ip); err == nil {
			res.Addr = a
		}
		if unixNano != 0 {
			res.Time, res.HasTime = time.Unix(0, unixNano).In(time.FixedZone("", int(unixNano%50000))), true
		}
		var got bytes.Buffer
		w := bufio.NewWriter(&got)
		newHitEncoder(w, name).encode(n, &res)
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		want, err := json.Marshal(hitJSON(n, res, name))
		if err != nil {
			t.Fatal(err)
		}
		if got.String() != string(want)+"\n" {
			t.Fatalf("encode = %s\nwant      %s", got.Bytes(), want)
		}
	})
}
