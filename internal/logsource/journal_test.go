package logsource

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestJournalGolden formats recorded journalctl JSON (testdata/journal/*.json)
// and compares with the .golden file beside it; UPDATE_GOLDEN=1 rewrites it.
func TestJournalGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/journal/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			in, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			sc := bufio.NewScanner(bytes.NewReader(in))
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				e, err := parseJournalEntry(sc.Bytes())
				if err != nil {
					fmt.Fprintf(&got, "error: %v\n", err)
					continue
				}
				fmt.Fprintf(&got, "%s %q\n", e.realtime.UTC().Format(time.RFC3339Nano), e.appendLine(nil, time.UTC))
			}
			golden := strings.TrimSuffix(file, ".json") + ".golden"
			if os.Getenv("UPDATE_GOLDEN") == "1" {
				if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with UPDATE_GOLDEN=1 to create it)", err)
			}
			if diff := cmp.Diff(string(want), got.String()); diff != "" {
				t.Errorf("formatted entries (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseJournalEntry(t *testing.T) {
	const head = `"__CURSOR":"s=1;i=2","__REALTIME_TIMESTAMP":"1795532281000001"`
	tests := []struct {
		name    string
		in      string
		want    string // formatted line
		wantErr string
	}{
		{"minimal", `{` + head + `,"MESSAGE":"hi"}`, "Nov 24 14:58:01 localhost unknown: hi", ""},
		{"bytes", `{` + head + `,"_HOSTNAME":"h","_COMM":"x","_PID":"9","MESSAGE":[104,0,255]}`, "Nov 24 14:58:01 h x[9]: h\x00\xff", ""},
		{"several values", `{` + head + `,"SYSLOG_IDENTIFIER":[[115],"t"],"MESSAGE":["a","b"]}`, "Nov 24 14:58:01 localhost s: a", ""},
		{"syslog pid wins", `{` + head + `,"SYSLOG_IDENTIFIER":"sshd","SYSLOG_PID":"1","_PID":"2","MESSAGE":"m"}`, "Nov 24 14:58:01 localhost sshd[1]: m", ""},
		{"null message", `{` + head + `,"MESSAGE":null}`, "Nov 24 14:58:01 localhost unknown: ", ""},
		{"empty array", `{` + head + `,"MESSAGE":[]}`, "Nov 24 14:58:01 localhost unknown: ", ""},
		{"no cursor", `{"__REALTIME_TIMESTAMP":"1","MESSAGE":"m"}`, "", "journal entry: no __CURSOR"},
		{"bad time", `{"__CURSOR":"c","__REALTIME_TIMESTAMP":"yesterday"}`, "", `journal entry: __REALTIME_TIMESTAMP "yesterday" is not microseconds`},
		{"no time", `{"__CURSOR":"c"}`, "", `journal entry: __REALTIME_TIMESTAMP "" is not microseconds`},
		{"byte out of range", `{` + head + `,"MESSAGE":[300]}`, "", "journal entry: byte value 300 out of range"},
		{"number", `{` + head + `,"MESSAGE":5}`, "", `journal entry: unexpected field value "5"`},
		{"not json", `Nov 24 sshd: hello`, "", "journal entry: invalid character 'N' looking for beginning of value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := parseJournalEntry([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("parseJournalEntry(%q) error = %v, want %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseJournalEntry(%q) error = %v", tt.in, err)
			}
			if got := string(e.appendLine(nil, time.UTC)); got != tt.want {
				t.Errorf("line = %q, want %q", got, tt.want)
			}
		})
	}
}

func FuzzParseJournalEntry(f *testing.F) {
	if in, err := os.ReadFile("testdata/journal/sshd.json"); err == nil {
		for l := range bytes.Lines(in) {
			f.Add(l)
		}
	}
	f.Add([]byte(`{"__CURSOR":"c","__REALTIME_TIMESTAMP":"1","MESSAGE":[[1,2],[3]]}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		e, err := parseJournalEntry(in)
		if err != nil {
			return
		}
		if e.cursor == "" {
			t.Fatalf("parsed without a cursor: %q", in)
		}
		line := e.appendLine(nil, time.UTC)
		if !bytes.Contains(line, e.message) {
			t.Fatalf("line %q lacks message %q", line, e.message)
		}
	})
}

func TestParseJournalMatch(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{"_SYSTEMD_UNIT=sshd.service + _COMM=sshd", []string{"_SYSTEMD_UNIT=sshd.service", "+", "_COMM=sshd"}, ""},
		{"  _SYSTEMD_UNIT=ssh.service\t_COMM=sshd ", []string{"_SYSTEMD_UNIT=ssh.service", "_COMM=sshd"}, ""},
		{`MESSAGE="a b" SYSLOG_IDENTIFIER=it\'s`, []string{"MESSAGE=a b", "SYSLOG_IDENTIFIER=it's"}, ""},
		{"", nil, ""},
		{"+ _COMM=sshd", nil, `journalmatch "+ _COMM=sshd": "+" must stand between two matches`},
		{"_COMM=a + + _COMM=b", nil, `journalmatch "_COMM=a + + _COMM=b": "+" must stand between two matches`},
		{"_comm=sshd", nil, `journalmatch "_comm=sshd": term "_comm=sshd": want FIELD=value (field in capitals, digits and _) or +`},
		{"sshd", nil, `journalmatch "sshd": term "sshd": want FIELD=value (field in capitals, digits and _) or +`},
		{`MESSAGE="open`, nil, `journalmatch "MESSAGE=\"open": unterminated quote`},
	}
	for _, tt := range tests {
		got, err := ParseJournalMatch(tt.in)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("ParseJournalMatch(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseJournalMatch(%q) error = %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseJournalMatch(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestJournalArgs(t *testing.T) {
	common := []string{"--follow", "--output=json", "--all", "--no-pager", "--quiet",
		"--output-fields=MESSAGE,_HOSTNAME,SYSLOG_IDENTIFIER,_COMM,SYSLOG_PID,_PID"}
	matches := []string{"_SYSTEMD_UNIT=ssh.service", "+", "_COMM=sshd"}
	since := time.Unix(1795532281, 500)
	tests := []struct {
		name   string
		cfg    JournalConfig
		cursor string
		since  time.Time
		want   []string
	}{
		{"cursor", JournalConfig{Matches: matches}, "s=1;i=2", since, append(append(common[:6:6], "--after-cursor=s=1;i=2"), matches...)},
		{"since", JournalConfig{Matches: matches}, "", since, append(append(common[:6:6], "--since=@1795532281"), matches...)},
		{"end", JournalConfig{Start: StartEnd}, "", time.Time{}, append(common[:6:6], "--lines=0")},
		{"beginning", JournalConfig{Start: StartBeginning, Args: []string{"--merge"}}, "", time.Time{}, append(common[:6:6], "--no-tail", "--merge")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := journalArgs(&tt.cfg, tt.cursor, tt.since)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("journalArgs (-want +got):\n%s", diff)
			}
		})
	}
}

// fakeJournalctl puts a journalctl script first in PATH. Each run appends its
// arguments to dir/args, then prints dir/run<N>.json (N counting runs from
// 1, the last file serving every later run) and exits 1 with a message,
// except the last, which stays running like --follow does.
func fakeJournalctl(t *testing.T, runs ...string) (dir string) {
	t.Helper()
	dir = t.TempDir()
	for i, r := range runs {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("run%d.json", i+1)), []byte(r), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	script := fmt.Sprintf(`#!/bin/sh
echo "$*" >> %[1]s/args
n=$(wc -l < %[1]s/args)
if [ "$n" -lt %[2]d ]; then
	cat %[1]s/run$n.json
	echo "Failed to iterate through journal: Bad message" >&2
	exit 1
fi
cat %[1]s/run%[2]d.json
exec sleep 60
`, dir, len(runs))
	if err := os.WriteFile(filepath.Join(dir, "journalctl"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return dir
}

func readArgs(t *testing.T, dir string) []string {
	b, err := os.ReadFile(filepath.Join(dir, "args"))
	if err != nil {
		return nil
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// TestJournalRun runs a fake journalctl that dies once: the source runs it
// again after the last cursor, and a second source resumes from the saved
// cursor.
func TestJournalRun(t *testing.T) {
	entry := func(i int, msg string) string {
		return fmt.Sprintf(`{"__CURSOR":"s=abc;i=%d","__REALTIME_TIMESTAMP":"%d","_HOSTNAME":"web1","SYSLOG_IDENTIFIER":"sshd","_PID":"7","MESSAGE":%q}`+"\n",
			i, 1795532281000000+i*1000000, msg)
	}
	dir := fakeJournalctl(t,
		entry(1, "Failed password for root from 203.0.113.7 port 1 ssh2")+"not json\n"+entry(2, "second"),
		entry(3, "third")+entry(9, strings.Repeat("x", 3000))+entry(4, "fourth")+entry(10, strings.Repeat("y", 100_000)))
	store := &MemoryPositions{}
	cfg := JournalConfig{
		Name:          "sshd",
		Matches:       []string{"_SYSTEMD_UNIT=ssh.service", "+", "_COMM=sshd"},
		Positions:     store,
		Start:         StartFindTime,
		FindTime:      time.Hour,
		Location:      time.UTC,
		MaxEntryBytes: 2000,
		MinBackoff:    10 * time.Millisecond,
		SaveInterval:  20 * time.Millisecond,
		Logger:        testLogger(t),
	}
	j, err := NewJournal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- j.Run(ctx, c.emit) }()
	waitFor(t, "4 entries", func() bool { return c.len() == 4 })
	waitFor(t, "cursor saved", func() bool {
		p, ok, _ := store.Position(ctx, "sshd:journald")
		return ok && p.Cursor == "s=abc;i=4"
	})
	if st := j.Status(); st[0].State != StateReading || st[0].Lines != 4 {
		t.Errorf("Status() = %+v, want reading, 4 lines", st)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run() = %v", err)
	}

	var got []string
	for _, l := range c.snapshot() {
		got = append(got, fmt.Sprintf("%s %s %s backlog=%v", l.Time.UTC().Format(time.RFC3339), l.Path, l.Bytes, l.Backlog))
	}
	want := []string{
		"2026-11-24T14:58:02Z journald Nov 24 14:58:02 web1 sshd[7]: Failed password for root from 203.0.113.7 port 1 ssh2 backlog=true",
		"2026-11-24T14:58:03Z journald Nov 24 14:58:03 web1 sshd[7]: second backlog=true",
		"2026-11-24T14:58:04Z journald Nov 24 14:58:04 web1 sshd[7]: third backlog=true",
		"2026-11-24T14:58:05Z journald Nov 24 14:58:05 web1 sshd[7]: fourth backlog=true",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
	args := readArgs(t, dir)
	if len(args) != 2 || !strings.Contains(args[0], "--since=@") || !strings.Contains(args[1], "--after-cursor=s=abc;i=2 ") ||
		!strings.HasSuffix(args[1], "_SYSTEMD_UNIT=ssh.service + _COMM=sshd") {
		t.Errorf("journalctl runs = %q, want --since then --after-cursor=s=abc;i=2, with the matches", args)
	}

	// A new source resumes after the saved cursor.
	j2, err := NewJournal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	go func() { done <- j2.Run(ctx, func(Line) {}) }()
	waitFor(t, "third run", func() bool { return len(readArgs(t, dir)) == 3 })
	cancel()
	<-done
	if args := readArgs(t, dir); !strings.Contains(args[2], "--after-cursor=s=abc;i=4 ") {
		t.Errorf("journalctl run after restart = %q, want --after-cursor=s=abc;i=4", args[2])
	}
}

// TestJournalMissing runs with no journalctl at all: reported, retried,
// never fatal.
func TestJournalMissing(t *testing.T) {
	var errs atomic.Int32
	j, err := NewJournal(JournalConfig{Name: "sshd", Command: filepath.Join(t.TempDir(), "journalctl"), MinBackoff: 10 * time.Millisecond, Logger: testLogger(t),
		OnError: func() { errs.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- j.Run(ctx, func(Line) {}) }()
	waitFor(t, "error status", func() bool {
		st := j.Status()
		return st[0].State == StateError && strings.Contains(st[0].Err, "no such file")
	})
	waitFor(t, "OnError on each failed start", func() bool { return errs.Load() >= 2 })
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run() = %v, want nil", err)
	}
}

// Journal lines read like syslog file lines, but filters get them without
// the date (Body): Time carries it, and a filter whose datepattern is not
// syslog's must not see a date it cannot cut out.
func TestJournalLineBody(t *testing.T) {
	in := `{"__CURSOR":"c1","__REALTIME_TIMESTAMP":"1764000030000000","_HOSTNAME":"web1","SYSLOG_IDENTIFIER":"sshd","_PID":"123","MESSAGE":"Failed password for root from 192.0.2.1 port 22 ssh2"}` + "\n"
	var got []Line
	if _, err := ReadJournalJSON(strings.NewReader(in), time.UTC, func(l Line) {
		l.Bytes = bytes.Clone(l.Bytes)
		got = append(got, l)
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("%d lines, want 1", len(got))
	}
	if want := "Nov 24 16:00:30 web1 sshd[123]: Failed password for root from 192.0.2.1 port 22 ssh2"; string(got[0].Bytes) != want {
		t.Errorf("Bytes = %q, want %q", got[0].Bytes, want)
	}
	if want := "web1 sshd[123]: Failed password for root from 192.0.2.1 port 22 ssh2"; string(got[0].Body()) != want {
		t.Errorf("Body = %q, want %q", got[0].Body(), want)
	}
	if file := (Line{Bytes: []byte("Nov 24 16:00:30 a b")}); string(file.Body()) != "Nov 24 16:00:30 a b" {
		t.Errorf("a file line's Body = %q, want the whole line", file.Body())
	}
}
