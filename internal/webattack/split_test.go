package webattack

import (
	"bufio"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// splitRules are the built-in rules whose patterns run as branches.
func splitRules(t testing.TB) []*Rule {
	var out []*Rule
	for _, r := range builtin(t).Rules() {
		if r.split != nil {
			out = append(out, r)
		}
	}
	return out
}

// ruleInput is what r's pattern sees of v: lower-cased unless fold = false.
func ruleInput(r *Rule, v string) []byte {
	b := []byte(v)
	if r.Fold {
		lower(b)
	}
	return b
}

// TestSplitRulesMatchWhole: a rule split into branches finds exactly the
// match its whole pattern finds (start and end) on every rule sample, in
// several contexts, and on every value of the corpora, raw and decoded.
func TestSplitRulesMatchWhole(t *testing.T) {
	rules := splitRules(t)
	if len(rules) < 20 {
		t.Fatalf("%d rules split into branches; want the long alternations (JAVA-004, LFI-001, SCAN-013 …)", len(rules))
	}
	var inputs []string
	for _, r := range builtin(t).Rules() {
		for _, s := range append(slices.Clone(r.Attack), r.Benign...) {
			inputs = append(inputs, s, "x\n"+s+"\n", "a=1\n"+s+"\nb="+s)
		}
	}
	files, _ := filepath.Glob("corpus/heldout*/attacks/*.txt")
	more, _ := filepath.Glob("corpus/heldout*/benign.txt")
	for _, name := range append(files, more...) {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if _, v, ok := strings.Cut(sc.Text(), "\t"); ok {
				inputs = append(inputs, v)
				if d, err := url.QueryUnescape(v); err == nil && d != v {
					inputs = append(inputs, d)
				}
			}
		}
		f.Close()
	}
	matched := 0
	for _, r := range rules {
		for _, in := range inputs {
			b := ruleInput(r, in)
			want := r.Pattern.FindIndex(b)
			if got := r.findIndex(b); !slices.Equal(got, want) {
				t.Errorf("%s on %q: branches %v, whole pattern %v", r.ID, b, got, want)
			}
			if want != nil {
				matched++
			}
		}
	}
	t.Logf("%d split rules, %d inputs, %d matches compared", len(rules), len(inputs), matched)
	if matched < 500 {
		t.Fatalf("only %d matches compared: the comparison tells little", matched)
	}
}

// TestBranchLeftmostFirst: at the same start the first branch wins, as in
// Go's leftmost-first matching; an earlier start wins whatever the branch.
func TestBranchLeftmostFirst(t *testing.T) {
	bs, err := splitBranches(`ab|abcd|bcd|xy`, false)
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string][]int{"abcd": {0, 2}, "zbcdab": {1, 4}, "zzxy": {2, 4}, "q": nil} {
		if got := bs.findIndex([]byte(in)); !slices.Equal(got, want) {
			t.Errorf("findIndex(%q) = %v, want %v", in, got, want)
		}
	}
}

// FuzzSplitRules: on any input the split rules find what their patterns
// find.
func FuzzSplitRules(f *testing.F) {
	for _, s := range []string{"java.lang.runtime", "../../etc/passwd", "/phpmyadmin/", "x;id;", "t(java.lang.runtime)"} {
		f.Add(s)
	}
	rules := splitRules(f)
	f.Fuzz(func(t *testing.T, in string) {
		for _, r := range rules {
			b := ruleInput(r, in)
			want := r.Pattern.FindIndex(b)
			if got := r.findIndex(b); !slices.Equal(got, want) {
				t.Fatalf("%s on %q: branches %v, whole pattern %v", r.ID, b, got, want)
			}
		}
	})
}

// TestBranchSetCases: patterns whose text splitting is easy to get wrong —
// flag groups whose scope crosses "|", named groups, \Q…\E (also inside
// a group), classes holding "|" or "]", empty branches, and the two runes
// that case-fold to ASCII letters (K, ſ) — find and match as the whole
// pattern does.
func TestBranchSetCases(t *testing.T) {
	for _, c := range []struct {
		pat, in string
		lowered bool
	}{
		{`(?P<n>x)|y`, "y", false},
		{`(?<n>x)|y`, "y", false},
		{`a(?i)b|c`, "C", false},
		{`(?:(?i)a|b)`, "B", false},
		{`a|(?i)b|c`, "C", false},
		{`(?:\Q(\E)(?:x|\Q)\E)`, ")", false},
		{`(?i)script|x`, "\u017fcript", true},
		{`(?i)kill|x`, "\u212aill", true},
		{`[\]|]x|y`, "|x", false},
		{`[[:alpha:]|]x|y`, "|x", false},
		{`\Q|\E|y`, "|", false},
		{`\Qa|b`, "a|b", false},
		{`a|`, "b", false},
		{`(?i)ab|cd`, "CD", false},
		{`(?i)AB|CD`, "cd", true},
		{`(?s)a.b|c`, "a\nb", false},
		{`(?m)^a|b`, "x\na", false},
		{`(?i)(?:ab|cd)`, "CD", false},
		{`(a)|b`, "b", false},
		{`x{0}abc|d`, "d", false},
		{`(?:abc)?|d`, "d", false},
		{`(?U)a+|b`, "aaa", false},
		{`(?i)[^a]bc|q`, "xbc", true},
		{`\bab|cd\b`, "xcd", false},
		{`(?i:AB)|cd`, "ab", true},
		{`(?i)(?-i:A)bc|d`, "abc", true},
		{`(?i)(?-i:A)bc|d`, "Abc", false},
	} {
		re := regexp.MustCompile(c.pat)
		bs, err := splitBranches(c.pat, c.lowered)
		if err != nil {
			t.Errorf("%q: %v", c.pat, err)
			continue
		}
		v := []byte(c.in)
		if c.lowered {
			lower(v)
		}
		if w, g := re.FindIndex(v), bs.findIndex(v); !slices.Equal(w, g) {
			t.Errorf("%q on %q: whole pattern finds %v, branches %v", c.pat, v, w, g)
		}
		if w, g := re.Match(v), bs.match(v); w != g {
			t.Errorf("%q on %q: whole pattern matches %v, branches %v", c.pat, v, w, g)
		}
	}
}
