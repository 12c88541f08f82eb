package filterload

import (
	"strings"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/filter"
)

// FuzzMatch feeds arbitrary lines to the built-in sshd filter (fast path)
// and to a definition that needs the backtracking engine and sessions.
func FuzzMatch(f *testing.F) {
	for _, s := range []string{
		"2026-06-15T11:59:00.123456+00:00 vm sshd[100]: Failed password for root from 192.0.2.9 port 22 ssh2",
		"Jun 15 11:59:00 vm sshd[100]: Invalid user admin from 2001:db8::1 port 22",
		"Jun 15 11:59:00 vm sshd[100]: Connection from 192.0.2.1 port 1 on 192.0.2.2 port 22",
		"\x00\xff sshd[1]: Failed password for \xff from ::ffff:192.0.2.1 port 22 ssh2",
		"",
	} {
		f.Add(s)
	}
	builtinF := loadBuiltin(f, "sshd", "aggressive")
	def := &filter.Definition{
		Name:      "fuzz",
		PrefRegex: &filter.Pattern{Expr: `^<F-MLFID>\S+ sshd\[\d+\]:</F-MLFID> <F-CONTENT>.+</F-CONTENT>$`},
		FailRegex: []filter.Pattern{
			{Expr: `^Failed (?P<cond>invalid )?(?(cond)\S+|password) for <F-USER>(?:(?! from ).)+</F-USER> from <HOST>`},
			{Expr: `^<F-NOFAIL>Connection from</F-NOFAIL> <HOST>`},
			{Expr: `^<F-MLFFORGET>Disconnected</F-MLFFORGET>`},
			{Expr: `^(?P<q>["'])(?P<v>.*)(?P=q) <ADDR>/<CIDR>`},
		},
	}
	slowF, err := filter.Compile(def, filter.Options{UseDNS: true, Location: time.UTC})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, line string) {
		for _, flt := range []*filter.Filter{builtinF, slowF} {
			m := flt.NewMatcher()
			res := m.Match([]byte(line), sampleNow)
			if res.Kind == filter.Hit {
				if res.Host == "" {
					t.Fatalf("%s: hit without host for %q", flt.Name(), line)
				}
				if !strings.Contains(line, res.Host) && !res.Addr.IsValid() {
					t.Fatalf("%s: host %q not in line %q", flt.Name(), res.Host, line)
				}
			}
			if res.Kind == filter.Hit && (res.Regex < 0 || res.Regex >= flt.FailRegexCount()) {
				t.Fatalf("%s: regex index %d out of range", flt.Name(), res.Regex)
			}
		}
	})
}

// FuzzParseDefinition: rampart's filter format never panics, and errors
// name the file.
func FuzzParseDefinition(f *testing.F) {
	f.Add("failregex = ['^x <HOST>$']\n")
	f.Add("daemon = 'sshd'\nprefregex = '^<PREFIX><F-CONTENT>.+</F-CONTENT>$'\nfailregex = ['^a <HOST>']\n[modes.x]\ninclude=['y']\n")
	f.Add("failregex = '")
	f.Fuzz(func(t *testing.T, src string) {
		def, err := filter.ParseDefinition("fuzz", "fuzz.toml", []byte(src), map[string]string{"mode": "x"})
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.toml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		_, _ = filter.Compile(def, filter.Options{Location: time.UTC})
	})
}

// FuzzParseSpec: filter references with options never panic.
func FuzzParseSpec(f *testing.F) {
	f.Add(`sshd[mode=aggressive, publickey="nofail"]`)
	f.Add(`x[a='b,c']`)
	f.Add(`[`)
	f.Fuzz(func(t *testing.T, s string) {
		name, _, err := filter.ParseSpec(s)
		if err == nil && name == "" {
			t.Fatalf("ParseSpec(%q) gave an empty name without error", s)
		}
	})
}

// FuzzFastPathsMatchReference: the engine's shortcuts (hand-parsed and
// part-by-part prefixes, RE2 supersets with checks, resolved conditionals)
// give the same result as matching every pattern whole.
func FuzzFastPathsMatchReference(f *testing.F) {
	for _, s := range []string{
		"Jun 15 11:59:00 vm sshd[100]: Failed password for invalid user a b from 192.0.2.9 port 22 ssh2",
		"Jun 15 11:59:00 vm sshd[100]: Failed password for root from 192.0.2.9 port 22 ssh2",
		"Jun 15 11:59:00 vm sshd[100]: Failed publickey for root from 192.0.2.9 port 22 ssh2: RSA x",
		"Jun 15 11:59:00 vm [sshd] error: user bob denied from 2001:db8::1",
		"Jun 15 11:59:00 <auth.info> vm auth: 'x' rejected from 192.0.2.3",
		"Jun 15 11:59:00 kernel: [ 12.5] sshd[1]: Connection from 192.0.2.4",
		"  vm sshd: Disconnected from 192.0.2.4",
	} {
		f.Add(s)
	}
	fast, err := Load("testdata/fastpaths.conf", "", filter.Options{UseDNS: true, Location: time.UTC})
	if err != nil {
		f.Fatal(err)
	}
	ref, err := Load("testdata/fastpaths.conf", "", filter.Options{UseDNS: true, Location: time.UTC, NoVerify: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, line string) {
		a := fast.Filter.NewMatcher().Match([]byte(line), sampleNow)
		b := ref.Filter.NewMatcher().Match([]byte(line), sampleNow)
		if a.Kind != b.Kind || a.Host != b.Host || a.User != b.User || a.Regex != b.Regex || a.NoFail != b.NoFail {
			t.Fatalf("Match(%q): fast paths %+v, whole patterns %+v", line, a, b)
		}
	})
}
