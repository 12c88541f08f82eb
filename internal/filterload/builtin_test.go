package filterload

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/filter"
)

// sampleNow is the wall time the built-in samples are written against
// (their own table test is in internal/filter/builtin).
var sampleNow = time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)

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
		st, err := Scan(&buf, m, func() time.Time { return sampleNow }, func(int, []byte, *filter.Result) { n++ })
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
