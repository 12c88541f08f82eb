package webattack

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/rampart-ids/rampart/internal/accesslog"
)

// sampleRequest turns a rule sample into a request: a sample starting with
// '/' is a request target, anything else a header value (User-Agent and
// Referer both).
func sampleRequest(s string) *accesslog.Request {
	r := &accesslog.Request{Method: []byte("GET"), Addr: []byte("192.0.2.1"), Status: 200}
	if strings.HasPrefix(s, "/") {
		r.Target = []byte(s)
		if i := strings.IndexByte(s, '?'); i >= 0 {
			r.Path, r.Query = r.Target[:i], r.Target[i+1:]
		} else {
			r.Path = r.Target
		}
		r.UserAgent = []byte("Mozilla/5.0")
		r.Referer = []byte("-")
	} else {
		r.Target, r.Path = []byte("/"), []byte("/")
		r.UserAgent, r.Referer = []byte(s), []byte(s)
	}
	return r
}

func builtin(t testing.TB) *Ruleset {
	t.Helper()
	rules, err := BuiltinRules()
	if err != nil {
		t.Fatal(err)
	}
	rs, err := Compile(rules)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// TestRuleSamples checks every rule against its own attack and benign
// samples, so a rule file documents and tests itself.
func TestRuleSamples(t *testing.T) {
	rs := builtin(t)
	d := rs.NewDetector(accesslog.Auto)
	d.exhaustive = true
	var res Result
	for _, r := range rs.Rules() {
		if len(r.Attack) == 0 {
			t.Errorf("%s: no attack samples", r.Source)
		}
		if len(r.Benign) == 0 {
			t.Errorf("%s: no benign samples", r.Source)
		}
		for _, s := range r.Attack {
			d.ScanRequest(sampleRequest(s), &res)
			if !d.hasFired(r) {
				t.Errorf("%s: attack sample %q did not fire (score %d, matches %s)", r.Source, s, res.Score, matchIDs(&res))
			}
		}
		for _, s := range r.Benign {
			d.ScanRequest(sampleRequest(s), &res)
			if d.hasFired(r) {
				t.Errorf("%s: benign sample %q fired", r.Source, s)
			}
		}
	}
}

func matchIDs(res *Result) string {
	var ids []string
	for _, m := range res.Matches {
		ids = append(ids, m.Rule.ID+"@"+m.Field.String()+"="+string(m.Fragment))
	}
	return "[" + strings.Join(ids, " ") + "]"
}

func TestParseRulesErrors(t *testing.T) {
	tests := []struct{ name, file, want string }{
		{"no category", `[[rule]]` + "\nid = \"A\"", "category: missing"},
		{"unknown key", "category = \"x\"\n[[rule]]\nid = \"A\"\ncolour = \"red\"", `unknown key "rule.colour"`},
		{"bad severity", "category = \"x\"\n[[rule]]\nid = \"A\"\ntitle = \"t\"\nseverity = \"huge\"", `rule "A": severity: "huge"`},
		{"bad field", "category = \"x\"\n[[rule]]\nid = \"A\"\ntitle = \"t\"\nseverity = \"low\"\nfields = [\"body\"]", `unknown field "body"`},
		{"no literals", "category = \"x\"\n[[rule]]\nid = \"A\"\ntitle = \"t\"\nseverity = \"low\"\nfields = [\"path\"]\npattern = \"x\"", "literals: missing"},
		{"upper literal", "category = \"x\"\n[[rule]]\nid = \"A\"\ntitle = \"t\"\nseverity = \"low\"\nfields = [\"path\"]\nliterals = [\"X\"]\npattern = \"x\"", "lower case"},
		{"bad regex", "category = \"x\"\n[[rule]]\nid = \"A\"\ntitle = \"t\"\nseverity = \"low\"\nfields = [\"path\"]\nliterals = [\"x\"]\npattern = \"(?<=x)\"", "pattern:"},
		{"not RE2", "category = \"x\"\n[[rule]]\nid = \"A\"\ntitle = \"t\"\nseverity = \"low\"\nfields = [\"path\"]\nliterals = [\"x\"]\npattern = '(x)\\1'", "pattern:"},
	}
	for _, tt := range tests {
		_, err := ParseRules("t.toml", []byte(tt.file))
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "t.toml: ") {
			t.Errorf("%s: ParseRules error %v, want one starting with t.toml: and containing %q", tt.name, err, tt.want)
		}
	}
	fsys := fstest.MapFS{
		"r/a.toml": {Data: []byte("category = \"x\"\n[[rule]]\nid = \"A\"\ntitle = \"t\"\nseverity = \"low\"\nfields = [\"path\"]\nliterals = [\"x\"]\npattern = \"x\"")},
		"r/b.toml": {Data: []byte("category = \"y\"\n[[rule]]\nid = \"A\"\ntitle = \"t\"\nseverity = \"low\"\nfields = [\"path\"]\nliterals = [\"x\"]\npattern = \"x\"")},
	}
	if _, err := LoadRules(fsys, "r"); err == nil || !strings.Contains(err.Error(), "already used in a.toml") {
		t.Errorf("LoadRules(duplicate ids) error %v", err)
	}
}

// TestPrefilterComplete checks the Aho-Corasick prefilter against a plain
// search: every literal of every rule, in any case, marks its rule.
func TestPrefilterComplete(t *testing.T) {
	rs := builtin(t)
	cand := make([]uint64, rs.pf.words)
	for _, r := range rs.Rules() {
		for _, l := range r.Literals {
			for _, in := range []string{l, strings.ToUpper(l), "xx" + l + "yy"} {
				for w := range cand {
					cand[w] = 0
				}
				rs.pf.scan([]byte(in), cand)
				if cand[r.index/64]&(1<<(r.index%64)) == 0 {
					t.Errorf("prefilter.scan(%q) misses rule %s", in, r.ID)
				}
			}
		}
	}
}

// TestPrefilterSize keeps the automaton small enough to stay in cache: it
// is scanned over every byte of every line.
func TestPrefilterSize(t *testing.T) {
	rs := builtin(t)
	states := len(rs.pf.out)
	size := len(rs.pf.delta) * 2
	t.Logf("prefilter: %d states, %d byte classes, %d KiB table", states, rs.pf.ncls, size>>10)
	if size > 2<<20 {
		t.Errorf("prefilter table is %d KiB, want <= 2048", size>>10)
	}
}
