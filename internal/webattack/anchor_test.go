package webattack

import (
	"slices"
	"testing"
)

// anchoredRules are the built-in rules find tries at line starts only.
func anchoredRules(t testing.TB) []*Rule {
	var out []*Rule
	for _, r := range builtin(t).Rules() {
		if r.anchor != nil {
			out = append(out, r)
		}
	}
	return out
}

// TestLineAnchor checks the anchored copies against the patterns they
// stand for: on every rule sample, as one line and among other lines,
// both find the same match.
func TestLineAnchor(t *testing.T) {
	rules := anchoredRules(t)
	if len(rules) < 5 {
		t.Fatalf("%d line-anchored rules, want the (?m)^ ones (SQLI-022, SSRF-002, LFI-002, RFI-002, CVE-2014-6271 …)", len(rules))
	}
	var inputs []string
	for _, r := range builtin(t).Rules() {
		for _, s := range append(slices.Clone(r.Attack), r.Benign...) {
			inputs = append(inputs, s, s+"\n", "x\n"+s, "a=1\n"+s+"\nb=2\n", "\n\n"+s+"\n", "  "+s+"  \nz")
		}
	}
	inputs = append(inputs, "", "\n", "'or'", "\n' or '\n", "x\n\n'||'\n", "or 1--", "\nor true#")
	for _, r := range rules {
		t.Logf("%s: anchored (one line: %v)", r.ID, r.anchor.oneLine)
		for _, in := range inputs {
			want := r.Pattern.FindIndex([]byte(in))
			if got := r.findIndex([]byte(in)); !slices.Equal(got, want) {
				t.Errorf("%s on %q: anchored %v, pattern %v", r.ID, in, got, want)
			}
		}
	}
	for _, p := range []string{`x^y`, `(?m)a|^b`, `^a`, `(?m)\s*^a`} {
		if newLineAnchor(p) != nil {
			t.Errorf("newLineAnchor(%q) made a copy: not every alternative starts with (?m)^", p)
		}
	}
	if a := newLineAnchor(`(?m)^a[^\n]*$`); a == nil || !a.oneLine {
		t.Errorf("(?m)^a[^\\n]*$: want a one-line anchor")
	}
	if a := newLineAnchor(`(?m)^a\s*b`); a == nil || a.oneLine {
		t.Errorf("(?m)^a\\s*b: \\s matches a newline, want an anchor that is not one-line")
	}
	if a := newLineAnchor(`(?m)^a\z`); a == nil || a.oneLine {
		t.Errorf("(?m)^a\\z: want an anchor that is not one-line")
	}
}

// FuzzLineAnchor: the anchored copies find what their patterns find.
func FuzzLineAnchor(f *testing.F) {
	for _, s := range []string{"' or '", "x\n'||'\n", "or 1--\n", "\nhttp://127.0.0.1/\n", "() { :; };", "/etc/passwd\n..\\x"} {
		f.Add([]byte(s))
	}
	rules := anchoredRules(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, r := range rules {
			want := r.Pattern.FindIndex(in)
			if got := r.findIndex(in); !slices.Equal(got, want) {
				t.Fatalf("%s on %q: anchored %v, pattern %v", r.ID, in, got, want)
			}
		}
	})
}
