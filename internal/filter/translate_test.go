package filter

import (
	"regexp"
	"testing"

	"github.com/dlclark/regexp2"
)

func TestTranslate(t *testing.T) {
	tests := []struct {
		name, in string
		exact    bool
		re2      string
	}{
		{"plain", `^Failed (?P<user>\w+) from`, true, `^Failed (?P<user>[0-9A-Za-z_]+) from`},
		{"ascii-space", `a\sb\S`, true, `a[\t\n\v\f\r\x1c-\x1f ]b[^\t\n\v\f\r\x1c-\x1f ]`},
		{"class-digit", `[\d.]`, true, `[0-9.]`},
		{"python-end", `foo\Z`, true, `foo\z`},
		{"empty-min", `a{,3}`, true, `a{0,3}`},
		{"comment", `a(?#hi)b`, true, `ab`},
		{"escaped-space", `a\ b`, true, `a b`},
		{"class-backspace", `[\b]`, true, `[\x08]`},
		{"unicode-escape", `\u00e9`, true, `\x{00e9}`},
		{"neg-lookahead", `^a(?!b)c`, false, `^a(?P<__l0>)c`},
		{"lookbehind", `(?<=:):`, false, `(?P<__l0>):`},
		{"quantified-lookahead", `a(?=b)?c`, false, `a(?P<__l0>)c`},
		{"conditional", `(?P<x>a)?(?(x)b|c)`, false, `(?P<x>a)?(?P<__c0>(?P<__c0y>b)|(?P<__c0n>c))`},
		{"conditional-no-else", `(?P<x>a)?(?(x)b)`, false, `(?P<x>a)?(?P<__c0>(?P<__c0y>b)|(?P<__c0e>))`},
		{"tempered", `^x(?:(?! from ).)*?y`, false, `^x(?P<__t0>(?:.)*?)y`},
		{"backref", `(?P<q>["'])x(?P=q)`, false, `(?P<q>["'])x(?s:.*?)`},
		{"flags-local", `(?i:abc)`, true, `(?i:abc)`},
		{"flags-u-dropped", `(?u)x+`, true, `x+`},
		{"nested-in-lookahead", `a(?!(?:x|y)z)b`, false, `a(?P<__l0>)b`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := translate(tt.in)
			if got.exact != tt.exact || got.re2 != tt.re2 {
				t.Errorf("translate(%q) = {re2: %q, exact: %v}, want {re2: %q, exact: %v}", tt.in, got.re2, got.exact, tt.re2, tt.exact)
			}
			if _, err := regexp.Compile(got.re2); err != nil {
				t.Errorf("translate(%q).re2 does not compile: %v", tt.in, err)
			}
			if !got.exact {
				if _, err := regexp2.Compile(got.dotnet, regexp2.None); err != nil {
					t.Errorf("translate(%q).dotnet %q does not compile: %v", tt.in, got.dotnet, err)
				}
			}
		})
	}
}

// The RE2 form of a slow pattern must accept every line the exact form does.
func TestSupersetAcceptsExactMatches(t *testing.T) {
	pats := []string{
		`^Failed \S+ for (?P<cond_inv>invalid user )?(?P<user>(?P<cond_user>\S+)|(?(cond_inv)(?:(?! from ).)*?|[^:]+)) from (?P<ip4>\S+)(?: port \d+)?(?: ssh\d*)?(?(cond_user): |(?:(?:(?! from ).)*)$)`,
		`^(?P<q>["'])(?P<v>.*)(?P=q)$`,
		`^user (?!root)\w+ from (?P<ip4>\S+)`,
	}
	lines := []string{
		"Failed password for root from 192.0.2.1 port 22 ssh2",
		"Failed password for invalid user a b from 192.0.2.1 port 22 ssh2",
		"Failed password for invalid user from 192.0.2.1 from 192.0.2.9 port 22 ssh2",
		`"quoted"`, `'x"`, "user bob from 192.0.2.3", "user root from 192.0.2.4",
	}
	for _, p := range pats {
		tr := translate(p)
		fast := regexp.MustCompile(tr.re2)
		slow := regexp2.MustCompile(tr.dotnet, regexp2.None)
		for _, l := range lines {
			ok, _ := slow.MatchString(l)
			if ok && !fast.MatchString(l) {
				t.Errorf("superset %q rejects %q which %q accepts", tr.re2, l, tr.dotnet)
			}
		}
	}
}

func TestPrefilter(t *testing.T) {
	tests := []struct {
		re   string
		line string
		pass bool
	}{
		{`^Failed password for \S+`, "Failed password for root", true},
		{`^Failed password for \S+`, "Accepted password for root", false},
		{`^[aA]uthentication failure`, "authentication failure", true},
		{`^[aA]uthentication failure`, "Xuthentication failure", false},
		{`^(?i)user`, "USER x", true},
		{`refused connect from \S+`, "x refused connect from y", true},
		{`refused connect from \S+`, "x accepted", false},
		{`^(?:a|b)?c`, "c", true},
		{`^(?:a|b)?c`, "d", false},
		{`^\s*x`, "  x", true},
		{`^(?P<a>Failed) (?:pass)word`, "Failed password", true},
		{`^(?P<a>Failed) (?:pass)word`, "Failed publickey", false},
		{`^(?P<a>Failed) (?:pass)word`, "xFailed password", false},
		{`^ab(?i)cd`, "abCD", true},
		{`^ab(?i)cd`, "aBcd", false},
		{`^a\x{FFFD}b`, "a\xffb", true}, // Go matches U+FFFD against an invalid byte
		{`(?m)^ab`, "x\nab", true},
	}
	for _, tt := range tests {
		p := buildPrefilter(tt.re)
		if got := p.pass([]byte(tt.line)); got != tt.pass {
			t.Errorf("prefilter(%q).pass(%q) = %v, want %v", tt.re, tt.line, got, tt.pass)
		}
		// Never stricter than the regex itself.
		if regexp.MustCompile(tt.re).MatchString(tt.line) && !p.pass([]byte(tt.line)) {
			t.Errorf("prefilter(%q) rejects matching line %q", tt.re, tt.line)
		}
	}
}

// Confirmed RE2 superset matches must equal the backtracking engine's.
func TestVerifiedMatchesEqualBacktracking(t *testing.T) {
	pats := []string{
		`^Failed (?:(?P<nofail>publickey)|\S+) for (?P<cond_inv>invalid user )?(?P<user>(?P<cond_user>\S+)|(?(cond_inv)(?:(?! from ).)*?|[^:]+)) from (?P<ip4>(?:\d{1,3}\.){3}\d{1,3})(?: (?:port \d+|on \S+)){0,2}(?: ssh\d*)?(?(cond_user): |(?:(?:(?! from ).)*)$)`,
		`^user (?!root)(?P<user>\w+) from (?P<ip4>\S+)`,
		`^(?P<a>x)?(?(a)y|z)(?<=y|z)w`,
	}
	lines := []string{
		"Failed password for root from 192.0.2.1 port 22 ssh2",
		"Failed password for invalid user a b from 192.0.2.1 port 22 ssh2",
		"Failed password for invalid user x from 192.0.2.9 port 22 from 192.0.2.5 port 4 ssh2",
		"Failed publickey for root from 192.0.2.1 port 22 ssh2: RSA SHA256:abc",
		"Failed password for invalid user from 192.0.2.1 from 192.0.2.9 port 22 ssh2",
		"Failed password for user from 192.0.2.1 port 22 ssh2 from 192.0.2.2",
		"user bob from 192.0.2.3", "user root from 192.0.2.4", "xyw", "zw", "xzw",
		"Failed password for invalid user from from 192.0.2.1 port 1 ssh2",
		"Failed password for invalid user x: from 192.0.2.1 port 1 ssh2: y",
		"Failed password for a:b from 192.0.2.1 port 1 ssh2",
		"Failed password for invalid user  from 192.0.2.1",
		"Failed publickey for invalid user root from 192.0.2.1 port 22 ssh2: ED25519 SHA256:x from 192.0.2.7",
	}
	for _, p := range pats {
		fast, err := compileRx(Pattern{Expr: p}, p)
		if err != nil {
			t.Fatal(err)
		}
		if fast.checks == nil {
			t.Fatalf("%q: not verifiable", p)
		}

		slow, _ := compileRx(Pattern{Expr: p}, p)
		slow.checks, slow.variants = nil, nil
		for _, l := range lines {
			a, okA, _ := fast.match([]byte(l), nil)
			b, okB, _ := slow.match([]byte(l), nil)
			if okA != okB {
				t.Errorf("%q on %q: verified=%v backtracking=%v", p, l, okA, okB)
				continue
			}
			if !okA {
				continue
			}
			for _, name := range []string{"user", "ip4", "nofail"} {
				i := fast.fast.SubexpIndex(name)
				if i < 0 {
					continue
				}
				if ga, gb := string(group([]byte(l), a, i)), string(group([]byte(l), b, i)); ga != gb {
					t.Errorf("%q on %q: group %s = %q verified, %q backtracking", p, l, name, ga, gb)
				}
			}
		}
	}
}
