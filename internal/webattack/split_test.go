package webattack

import (
	"bufio"
	"net/url"
	"os"
	"path/filepath"
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
