package date

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type findCase struct {
	name    string
	pattern string // "" = Default()
	line    string
	now     string // RFC 3339; "" = testNow
	want    string // the date text; "" = no match
	time    string // RFC 3339 in UTC; "" = not checked
}

func runFind(t *testing.T, tests []findCase) {
	t.Helper()
	loc := testLoc(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Compile(tt.pattern)
			if err != nil {
				t.Fatalf("Compile(%q): %v", tt.pattern, err)
			}
			now := testNow
			if tt.now != "" {
				if now, err = time.Parse(time.RFC3339, tt.now); err != nil {
					t.Fatal(err)
				}
			}
			var st State
			m, ok := d.Find([]byte(tt.line), &st, now, loc)
			got := ""
			if ok {
				got = tt.line[m.Start:m.End]
			}
			if got != tt.want || ok != (tt.want != "") {
				t.Fatalf("Find(%q) = %q, %v (template %q), want %q", tt.line, got, ok, d.TemplateName(m.Template), tt.want)
			}
			if tt.time != "" {
				if gt := m.Time.UTC().Format(time.RFC3339Nano); gt != tt.time && m.Time.Truncate(time.Second).UTC().Format(time.RFC3339) != tt.time {
					t.Errorf("Find(%q).Time = %s, want %s", tt.line, gt, tt.time)
				}
			}
		})
	}
}

func TestFindTemplates(t *testing.T) {
	// Example dates from Fail2ban's date detector tests, all 2005-01-23 21:59:59 CET.
	const want = "2005-01-23T20:59:59Z"
	var tests []findCase
	for _, s := range []string{
		"Jan 23 21:59:59", "Sun Jan 23 21:59:59 2005", "Sun Jan 23 21:59:59", "Sun Jan 23 2005 21:59:59",
		"2005/01/23 21:59:59", "2005.01.23 21:59:59", "23/01/2005 21:59:59", "23/01/05 21:59:59",
		"23/Jan/2005:21:59:59", "01/23/2005:21:59:59", "2005-01-23 21:59:59", "2005-01-23 21:59:59,000",
		"23-Jan-2005 21:59:59", "23-Jan-2005 21:59:59.02", "23-01-2005 21:59:59", "1106513999",
		"01-23-2005 21:59:59.252", "@4000000041f4104f00000000", "2005-01-23T15:59:59-05:00",
		"20050123T215959", "20050123 215959", "<01/23/05@21:59:59>", "050123 21:59:59", "Jan-23-05 21:59:59",
		"Jan 23, 2005 9:59:59 PM", "1106513999.000", "2005-01-23  21:59:59", "PDT Jan 23 13:59:59",
		"+0100 Jan 23 21:59:59",
	} {
		tests = append(tests,
			findCase{name: "default/" + s, line: s + " [sshd] error: PAM: Authentication failure", want: s, time: strings.Replace(want, "Z", "", 1) + "Z"},
			findCase{name: "lnbeg/" + s, pattern: "{^LN-BEG}", line: s + " [sshd] error", want: s})
	}
	tests = append(tests, []findCase{
		{name: "epoch in brackets", line: "[1106513999.000] x", want: "1106513999.000", time: "2005-01-23T20:59:59Z"},
		{name: "selinux audit", line: "type=USER_AUTH msg=audit(1106513999.000:987): x", want: "1106513999.000"},
		{name: "iso utc", line: "2005-01-23T20:59:59.252Z x", want: "2005-01-23T20:59:59.252Z", time: "2005-01-23T20:59:59.252Z"},
		{name: "rfc3339 micro", line: "2026-11-24T14:55:01.123456+00:00 host sshd[1]: x", now: "2026-11-24T15:00:00Z",
			want: "2026-11-24T14:55:01.123456+00:00", time: "2026-11-24T14:55:01.123456Z"},
		{name: "tomcat am", line: "Jan 23, 2005 12:05:00 AM x", want: "Jan 23, 2005 12:05:00 AM", time: "2005-01-22T23:05:00Z"},
		{name: "no date", line: "no date line", want: ""},
		{name: "bad month", line: "2005-13-01 10:00:00 x", want: ""},
		{name: "bad day", pattern: "{^LN-BEG}", line: "2005-02-30 10:00:00 x", want: ""},
		{name: "leap day", line: "2004-02-29 10:00:00 x", want: "2004-02-29 10:00:00", time: "2004-02-29T09:00:00Z"},
		{name: "inside a word", line: "xJan 23 21:59:59 y", want: ""},
		{name: "digits run on", line: "Test failure Jan 23 21:59:59123456789 for 192.0.2.1", want: ""},
		{name: "year is not a year", line: "Aug 8 11:25:50 20030f2329b8 Authentication failed", want: "Aug 8 11:25:50"},
		{name: "with year", line: "Aug 8 11:25:50 2014 20030f2329b8 Authentication failed", want: "Aug 8 11:25:50 2014"},
		{name: "case", line: "sun JAN 23 21:59:59 x", want: "sun JAN 23 21:59:59"},
		{name: "nul bytes", line: "Jan 23 21:59:59\x00\x00 x", want: "Jan 23 21:59:59"},
		{name: "invalid utf8", line: "\xff\xfeJan 23 21:59:59 x", want: "Jan 23 21:59:59"},
	}...)
	runFind(t, tests)
}

func TestFindAnchoring(t *testing.T) {
	runFind(t, []findCase{
		{name: "at start", pattern: "{^LN-BEG}", line: "2005-01-23 21:59:59 host x", want: "2005-01-23 21:59:59"},
		{name: "two non-word chars", pattern: "{^LN-BEG}", line: "[[2005-01-23 21:59:59]] x", want: "2005-01-23 21:59:59"},
		{name: "three non-word chars", pattern: "{^LN-BEG}", line: "[[[2005-01-23 21:59:59]]] x", want: ""},
		{name: "in the middle", pattern: "{^LN-BEG}", line: "host sshd: 2005-01-23 21:59:59 x", want: ""},
		{name: "in the middle, default", line: "host sshd: 2005-01-23 21:59:59 x", want: "2005-01-23 21:59:59"},
		{name: "log injection", pattern: "{^LN-BEG}", line: "Jan 23 21:59:59 host sshd: user Jan 24 10:00:00", want: "Jan 23 21:59:59"},
		{name: "custom anchored", pattern: "{^LN-BEG}%ExY%Exm%Exd %ExH%ExM%ExS", line: "00001230 010203 - 20030101 000000", want: ""},
		{name: "custom unanchored", pattern: "%ExY%Exm%Exd %ExH%ExM%ExS", line: "00001230 010203 - 20030101 000000", want: "20030101 000000"},
		{name: "unbounded", pattern: "**%H:%M:%S %d.%m.%Y**", line: "192.0.2.1x20:00:00 01.02.2003", want: "20:00:00 01.02.2003"},
		{name: "bounded", pattern: "%H:%M:%S %d.%m.%Y", line: "192.0.2.1x20:00:00 01.02.2003", want: ""},
		{name: "UNB", pattern: "{UNB}%H:%M:%S", line: "x00:01:02y", want: "00:01:02"},
		{name: "end anchor", pattern: `\[%H:%M:%S %d.%m.%Y\]$`, line: "192.0.2.1[20:00:00 01.02.2003]", want: "[20:00:00 01.02.2003]"},
	})
}

func TestFindYearInference(t *testing.T) {
	runFind(t, []findCase{
		{name: "this year", line: "Jan 23 21:59:59 x", now: "2026-06-01T00:00:00Z", want: "Jan 23 21:59:59", time: "2026-01-23T20:59:59Z"},
		{name: "last year across new year", line: "Dec 31 23:59:59 x", now: "2026-01-01T00:30:00+01:00",
			want: "Dec 31 23:59:59", time: "2025-12-31T22:59:59Z"},
		// now's year, in the past: Fail2ban never moves a date to next year
		{name: "just after new year, clock behind", line: "Jan 1 00:10:00 x", now: "2025-12-31T23:50:00+01:00",
			want: "Jan 1 00:10:00", time: "2024-12-31T23:10:00Z"},
		{name: "a few hours ahead stays", line: "Aug 15 11:00:00 x", want: "Aug 15 11:00:00", time: "2005-08-15T09:00:00Z"},
		{name: "more than a day ahead", line: "Aug 15 13:00:00 x", want: "Aug 15 13:00:00", time: "2004-08-15T11:00:00Z"},
		{name: "feb 29 of a leap year", line: "Feb 29 10:00:00 x", now: "2024-03-01T00:00:00Z", want: "Feb 29 10:00:00", time: "2024-02-29T09:00:00Z"},
		{name: "feb 29 not in this year", line: "Feb 29 10:00:00 x", want: ""},
		{name: "time only today", pattern: "^%ExH:%ExM:%ExS**", line: "00:00:01", want: "00:00:01", time: "2005-08-13T22:00:01Z"},
		{name: "time only yesterday", pattern: "^%ExH:%ExM:%ExS**", line: "21:59:59", want: "21:59:59", time: "2005-08-13T19:59:59Z"},
		{name: "two-digit year", pattern: "^%y-%m-%d %H:%M:%S", line: "99-01-02 03:04:05", want: "99-01-02 03:04:05", time: "2099-01-02T02:04:05Z"},
		{name: "day of year", pattern: "^%j %Y %H:%M:%S", line: "023 2005 21:59:59 x", want: "023 2005 21:59:59", time: "2005-01-23T20:59:59Z"},
		{name: "week and weekday", pattern: "^%y %W %w %ExH:%ExM:%ExS**", line: "01 11 0 21:59:59", want: "01 11 0 21:59:59", time: "2001-03-18T20:59:59Z"},
	})
}

func TestFindZones(t *testing.T) {
	const p = "^%ExY-%Exm-%Exd %H:%M:%S(?: ?%Exz)?"
	runFind(t, []findCase{
		{name: "local winter", pattern: p, line: "2017-01-23 15:00:00", want: "2017-01-23 15:00:00", time: "2017-01-23T14:00:00Z"},
		{name: "local summer", pattern: p, line: "2017-07-23 15:00:00", want: "2017-07-23 15:00:00", time: "2017-07-23T13:00:00Z"},
		{name: "GMT", pattern: p, line: "2017-01-23 15:00:00 GMT", want: "2017-01-23 15:00:00 GMT", time: "2017-01-23T15:00:00Z"},
		{name: "Z", pattern: p, line: "2017-01-23 15:00:00 Z", want: "2017-01-23 15:00:00 Z", time: "2017-01-23T15:00:00Z"},
		{name: "-1045", pattern: p, line: "2017-01-23 15:00:00 -1045", want: "2017-01-23 15:00:00 -1045", time: "2017-01-24T01:45:00Z"},
		{name: "+09:45", pattern: p, line: "2017-01-23 15:00:00 +09:45", want: "2017-01-23 15:00:00 +09:45", time: "2017-01-23T05:15:00Z"},
		{name: "CET", pattern: p, line: "2017-01-23 15:00:00 CET", want: "2017-01-23 15:00:00 CET", time: "2017-01-23T14:00:00Z"},
		{name: "CEST fixed", pattern: p, line: "2017-01-23 15:00:00 CEST", want: "2017-01-23 15:00:00 CEST", time: "2017-01-23T13:00:00Z"},
		{name: "CET+0130", pattern: p, line: "2017-01-23 15:00:00 CET+0130", want: "2017-01-23 15:00:00 CET+0130", time: "2017-01-23T12:30:00Z"},
		{name: "short offset", line: "2007-01-25T12:00:00-04 x", want: "2007-01-25T12:00:00-04", time: "2007-01-25T16:00:00Z"},
		{name: "unknown zone name", pattern: "^%Y-%m-%d %H:%M:%S %Z", line: "2017-01-23 15:00:00 ABCD", want: ""},
		{name: "apache", line: "[23/Jan/2005:21:59:59 +0100] x", want: "23/Jan/2005:21:59:59 +0100", time: "2005-01-23T20:59:59Z"},
		{name: "time.Local default", pattern: "{^LN-BEG}", line: "2017-01-23T15:00:00Z x", want: "2017-01-23T15:00:00Z", time: "2017-01-23T15:00:00Z"},
	})
}

func TestFindSpecial(t *testing.T) {
	runFind(t, []findCase{
		{name: "LEPOCH ms", pattern: "LEPOCH", line: "1138049999000 x", want: "1138049999000", time: "2006-01-23T20:59:59Z"},
		{name: "LEPOCH us", pattern: "LEPOCH", line: "[1138049999000000] x", want: "1138049999000000", time: "2006-01-23T20:59:59Z"},
		{name: "LEPOCH frac", pattern: "LEPOCH", line: "1138049999123.456 x", want: "1138049999123.456", time: "2006-01-23T20:59:59.123456Z"},
		{name: "EPOCH too short", pattern: "EPOCH", line: "123456789 x", want: ""},
		{name: "EPOCH run on", pattern: "EPOCH", line: "1138049999A x", want: ""},
		{name: "epoch in pattern", pattern: `(?<=\|\s){LEPOCH}(?=\s\|)`, line: "auth-error | 1138049999000 | invalid", want: "1138049999000"},
		{name: "TAI64N", pattern: "{^LN-BEG}TAI64N", line: "@4000000041f4104f00000000 x", want: "@4000000041f4104f00000000", time: "2005-01-23T20:59:59Z"},
		{name: "rfc5424", pattern: `^<\d+>\d+\s+{DATE}`, line: "<34>1 2005-01-23T21:59:59.003Z mymachine su", want: "<34>1 2005-01-23T21:59:59.003Z", time: "2005-01-23T21:59:59.003Z"},
		{name: "prefix group", pattern: "^[^\\[]*\\[({DATE})\n{^LN-BEG}", line: `192.0.2.1 - - [23/Jan/2005:21:59:59 +0100] "GET /"`, want: "23/Jan/2005:21:59:59 +0100"},
		{name: "extension %s", pattern: "^ts=%s ", line: "ts=1106513999 x", want: "ts=1106513999", time: "2005-01-23T20:59:59Z"},
	})
	// {NONE} matches every line with an empty span and now as the time.
	d, err := Compile("{NONE}")
	if err != nil {
		t.Fatal(err)
	}
	var st State
	m, ok := d.Find([]byte("no date"), &st, testNow, nil)
	if diff := cmp.Diff(Match{Time: testNow, Start: 0, End: 0}, m); !ok || diff != "" {
		t.Errorf("Find with {NONE} = %v (-want +got):\n%s", ok, diff)
	}
}

func TestCompileErrors(t *testing.T) {
	for _, tt := range []struct{ pattern, want string }{
		{"%Y-%q", `unknown directive %q`},
		{"%Y %", "lone %"},
		{"(%Y", "missing )"},
		{"%Y)", "unbalanced parenthesis"},
		{"[%Y", "unterminated character set"},
		{"%H:%M %H", `group name "H" defined twice`},
		{"%Y(?P=nope)", `unknown group "nope"`},
		{"%Y\n%Y", "already in the list"},
		{"a{2,1}%Y", "date pattern"},
	} {
		_, err := Compile(tt.pattern)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Compile(%q) error = %v, want it to contain %q", tt.pattern, err, tt.want)
		}
	}
}

// The datepattern values of the filters Fail2ban ships (filter.d), after
// config interpolation.
var shippedDatepatterns = []string{
	`%d/%b[^/]*/%Y:%H:%M:%S %z`,
	`EPOCH`,
	`^%H:%M:%S.%f`,
	`^%Y-%m-%d %H:%M:%S`,
	`^%Y:%m:%d-%H:%M:%S`,
	"^%b %d, %ExY %I:%M:%S %p\n^WARNING:()**\n{^LN-BEG}",
	`^%m/%d/%Y %H:%M:%S`,
	"^(?:%Y-)?%m-%d[ T]%H:%M:%S(?:\\.%f)?\n{^LN-BEG}",
	"^(?:=[^=]+={3,} )?(%ExY(?P<_sep>[-/.])%m(?P=_sep)%d[T ]%H:%M:%S(?:[.,]%f)?(?:\\s*%z)?)\n^I\\(()**",
	`^<W>{DATE}`,
	`^<\d+>\d+\s+{DATE}`,
	`^<co ts="{DATE}"\s+`,
	`^L %d/%m/%Y - %H:%M:%S`,
	"^[^-]+ -- [^-]+ -- - ({DATE})\n{^LN-BEG}",
	"^[^\\[]*(\\[{DATE}\\s*\\])\n{^LN-BEG}",
	"^[^\\[]*\\[({DATE})\n{^LN-BEG}",
	`^\[%d/%b/%Y %H:%M:%S\]`,
	`^t=%Y-%m-%dT%H:%M:%S%z`,
	`^{DATE}`,
	`{^LN-BEG}`,
	"{^LN-BEG}%ExY(?P<_sep>[-/.])%m(?P=_sep)%d[T ]%H:%M:%S(?:[.,]%f)?(?:\\s*%z)?\n^[^\\[]*\\[({DATE})\n{^LN-BEG}",
	"{^LN-BEG}%ExY(?P<_sep>[-/.])%m(?P=_sep)%d[T ]%H:%M:%S(?:[.,]%f)?(?:\\s*%z)?\n{^LN-BEG}(?:%a )?%b %d %H:%M:%S(?:\\.%f)?(?: %ExY)?\n^[^\\[]*\\[({DATE})\n{^LN-BEG}",
	"{^LN-BEG}%b-%d-%Exy %H:%M:%S\n{^LN-BEG}",
	"{^LN-BEG}Epoch\n{^LN-BEG}",
	"{^LN-BEG}TAI64N\n{^LN-BEG}",
}

func TestCompileShipped(t *testing.T) {
	for _, p := range shippedDatepatterns {
		d, err := Compile(p)
		if err != nil {
			t.Errorf("Compile(%q): %v", p, err)
			continue
		}
		if d.Len() == 0 {
			t.Errorf("Compile(%q): no templates", p)
		}
	}
}

func TestDefaultTemplates(t *testing.T) {
	// Fail2ban's order: 14 line-begin copies, then the 17 originals.
	d := Default()
	if d.Len() != 31 {
		t.Fatalf("Default() has %d templates, want 31", d.Len())
	}
	ln, err := Compile("{^LN-BEG}")
	if err != nil {
		t.Fatal(err)
	}
	if ln.Len() != 17 {
		t.Errorf("{^LN-BEG} has %d templates, want 17", ln.Len())
	}
	for i := range ln.Len() {
		if n := ln.TemplateName(i); !strings.HasPrefix(n, "{^LN-BEG}") && !strings.HasPrefix(n, "^") {
			t.Errorf("{^LN-BEG} template %d %q is not anchored", i, n)
		}
	}
}

// A Detector is shared by many streams at once, each with its own State.
func TestConcurrentStreams(t *testing.T) {
	d := Default()
	loc := testLoc(t)
	lines := []string{"Jan 23 21:59:59 x", "2005-01-23 21:59:59 x", "[23/Jan/2005:21:59:59 +0100] x", "1106513999 x"}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			var st State
			for i := range 200 {
				l := lines[(g+i)%len(lines)]
				m, ok := d.Find([]byte(l), &st, testNow, loc)
				if !ok || m.Time.Unix() != 1106513999 {
					t.Errorf("Find(%q) = %v, %v", l, m, ok)
					return
				}
			}
		})
	}
	wg.Wait()
}
