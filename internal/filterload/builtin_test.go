package filterload

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/filter"
	"github.com/rampart-ids/rampart/internal/filter/builtin"
)

// sampleNow is the wall time built-in samples are written against.
var sampleNow = time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)

type sampleLine struct {
	no     int
	mode   string
	text   string
	expect *sampleExpect
}

type sampleExpect struct {
	Match string `json:"match"`
	IP    string `json:"ip"`
	User  string `json:"user"`
	ID    string `json:"id"`
	Time  string `json:"time"`
}

// readSample parses NAME.sample (format in docs/FILTERS.md).
func readSample(t testing.TB, name string) []sampleLine {
	t.Helper()
	data, err := fs.ReadFile(builtin.FS(), name+".sample")
	if err != nil {
		t.Fatalf("built-in filter %s has no sample log: %v", name, err)
	}
	var out []sampleLine
	mode := ""
	var pending *sampleExpect
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "# mode:"):
			mode = strings.TrimSpace(strings.TrimPrefix(l, "# mode:"))
			continue
		case strings.HasPrefix(l, "# expect:"):
			var e sampleExpect
			if err := json.Unmarshal([]byte(strings.TrimPrefix(l, "# expect:")), &e); err != nil {
				t.Fatalf("%s.sample:%d: bad expectation: %v", name, n, err)
			}
			pending = &e
			continue
		case strings.HasPrefix(l, "#") || strings.TrimSpace(l) == "":
			continue
		}
		out = append(out, sampleLine{no: n, mode: mode, text: l, expect: pending})
		pending = nil
	}
	return out
}

func loadBuiltin(t testing.TB, name, mode string) *filter.Filter {
	t.Helper()
	spec := name
	if mode != "" {
		spec += "[mode=" + mode + "]"
	}
	l, err := Load(spec, "", filter.Options{Location: time.UTC})
	if err != nil {
		t.Fatalf("Load(%q): %v", spec, err)
	}
	return l.Filter
}

func TestBuiltinSamples(t *testing.T) {
	names := builtin.Names()
	if len(names) == 0 {
		t.Fatal("no built-in filters")
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			lines := readSample(t, name)
			byMode := map[string][]sampleLine{}
			var modes []string
			for _, l := range lines {
				if _, ok := byMode[l.mode]; !ok {
					modes = append(modes, l.mode)
				}
				byMode[l.mode] = append(byMode[l.mode], l)
			}
			// A failregex is covered when a line of any mode's section uses it.
			used := map[string]bool{}
			all := map[string]string{}
			for _, mode := range modes {
				f := loadBuiltin(t, name, mode)
				m := f.NewMatcher()
				for i := 0; i < f.FailRegexCount(); i++ {
					all[f.FailRegex(i).Expr] = mode
				}
				for _, l := range byMode[mode] {
					res := m.Match([]byte(l.text), sampleNow)
					if res.Regex >= 0 && (res.Kind == filter.Hit || res.NoFail || res.Kind == filter.Ignore) {
						used[f.FailRegex(res.Regex).Expr] = true
					}
					checkSample(t, name, l, res)
				}
			}
			for expr, mode := range all {
				if !used[expr] {
					t.Errorf("%s[mode=%s]: failregex has no sample line: %s", name, mode, expr)
				}
			}
		})
	}
}

func checkSample(t *testing.T, name string, l sampleLine, res filter.Result) {
	t.Helper()
	where := fmt.Sprintf("%s.sample:%d", name, l.no)
	want := "none"
	if l.expect != nil && l.expect.Match != "" {
		want = l.expect.Match
	}
	got := res.Kind.String()
	if got != want {
		t.Errorf("%s: Match(%q) = %s, want %s", where, l.text, got, want)
		return
	}
	if l.expect == nil || want != "hit" {
		return
	}
	ip := res.Host
	if res.Addr.IsValid() {
		ip = res.Addr.String()
	}
	if e := l.expect.IP; e != "" && e != ip {
		t.Errorf("%s: Match(%q).ip = %q, want %q", where, l.text, ip, e)
	}
	if e := l.expect.User; e != "" && e != res.User {
		t.Errorf("%s: Match(%q).user = %q, want %q", where, l.text, res.User, e)
	}
	if e := l.expect.ID; e != "" && e != res.ID {
		t.Errorf("%s: Match(%q).id = %q, want %q", where, l.text, res.ID, e)
	}
	if e := l.expect.Time; e != "" {
		wt, err := time.Parse(time.RFC3339Nano, e)
		if err != nil {
			t.Errorf("%s: bad expected time %q", where, e)
		} else if !res.HasTime || !res.Time.Equal(wt) {
			t.Errorf("%s: Match(%q).time = %v, want %v", where, l.text, res.Time, wt)
		}
	}
}

// A user name or request path that carries "from ADDR port N" must not make
// ADDR the source (Fail2ban's filters anchor for this reason).
func TestLogInjection(t *testing.T) {
	const injected = "192.0.2.9"
	lines := []string{
		"2026-06-15T11:59:00.000000+00:00 vm sshd[100]: Failed password for invalid user x from 192.0.2.9 port 22 from 203.0.113.5 port 4242 ssh2",
		"2026-06-15T11:59:00.000000+00:00 vm sshd[100]: Failed password for x from 192.0.2.9 port 22 ssh2 from 203.0.113.5 port 4242 ssh2",
		"2026-06-15T11:59:00.000000+00:00 vm sshd[100]: Invalid user x from 192.0.2.9 port 22 from 203.0.113.5 port 4242",
		"Jun 15 11:59:00 vm sshd[100]: Failed password for invalid user root from 192.0.2.9 port 22 ssh2 from 203.0.113.5 port 4242 ssh2",
	}
	specs := []string{"sshd", "sshd[mode=aggressive]"}
	if root := corpusRootOptional(); root != "" {
		specs = append(specs, root+"/etc/fail2ban/filter.d/sshd.conf")
	}
	for _, spec := range specs {
		l, err := Load(spec, "", filter.Options{Location: time.UTC})
		if err != nil {
			t.Fatalf("Load(%s): %v", spec, err)
		}
		m := l.Filter.NewMatcher()
		for _, line := range lines {
			res := m.Match([]byte(line), sampleNow)
			if res.Kind == filter.Hit && (res.Host == injected || res.Addr.String() == injected) {
				t.Errorf("%s: Match(%q) took the injected address %s", spec, line, injected)
			}
		}
	}
}

// Over-long lines, invalid UTF-8 and NUL bytes neither crash nor stall.
func TestHostileLines(t *testing.T) {
	long := strings.Repeat("A", 1<<20)
	lines := []string{
		"2026-06-15T11:59:00+00:00 vm sshd[1]: Failed password for " + long + " from 192.0.2.1 port 22 ssh2",
		long,
		"2026-06-15T11:59:00+00:00 vm sshd[1]: Failed password for \xff\xfe\x00root from 192.0.2.2 port 22 ssh2",
		"\x00\x00\x00 sshd[1]: Invalid user \x00 from 192.0.2.3",
		strings.Repeat("from 192.0.2.4 ", 50000),
	}
	specs := []string{"sshd[mode=aggressive]"}
	if root := corpusRootOptional(); root != "" {
		specs = append(specs, root+"/etc/fail2ban/filter.d/sshd.conf[mode=aggressive]")
	}
	for _, spec := range specs {
		l, err := Load(spec, "", filter.Options{Location: time.UTC})
		if err != nil {
			t.Fatal(err)
		}
		m := l.Filter.NewMatcher()
		var buf bytes.Buffer
		for _, line := range lines {
			buf.WriteString(line)
			buf.WriteByte('\n')
		}
		n := 0
		st, err := Scan(&buf, m, func() time.Time { return sampleNow }, func(int, []byte, filter.Result) { n++ })
		if err != nil || n != len(lines) {
			t.Errorf("%s: Scan = %d lines, %v; want %d lines", spec, n, err, len(lines))
		}
		if st.Truncated != 3 {
			t.Errorf("%s: %d lines truncated, want 3", spec, st.Truncated)
		}
	}
}

func corpusRootOptional() string {
	for _, r := range []string{envOr("RAMPART_FAIL2BAN_ROOT", ""), homeCache()} {
		if r != "" && fileExists(r+"/etc/fail2ban/filter.d/sshd.conf") {
			return r
		}
	}
	return ""
}

func BenchmarkBuiltin(b *testing.B) {
	for _, name := range builtin.Names() {
		b.Run(name, func(b *testing.B) {
			lines := readSample(b, name)
			f := loadBuiltin(b, name, "")
			m := f.NewMatcher()
			var data [][]byte
			size := 0
			for _, l := range lines {
				data = append(data, []byte(l.text))
				size += len(l.text) + 1
			}
			b.ReportAllocs()
			b.ResetTimer()
			n := 0
			for b.Loop() {
				for _, d := range data {
					m.Match(d, sampleNow)
				}
				n += len(data)
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "lines/s")
		})
	}
}
