package webattack

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func builtinActive(t testing.TB) (*activeMarkers, *regexp.Regexp) {
	t.Helper()
	rs := builtin(t)
	if rs.freeText.Active == nil {
		t.Fatal("the built-in free_text.toml has no active pattern")
	}
	m := rs.freeText.Active
	return m, regexp.MustCompile(m.pattern)
}

// TestActiveSplitMatchesWhole: the split branches answer what the whole
// pattern answers, on every value of the corpora (attacks and benign
// requests, lower-cased as the detector lower-cases them).
func TestActiveSplitMatchesWhole(t *testing.T) {
	m, wholeRe := builtinActive(t)
	if len(m.branches) < 10 {
		t.Fatalf("the active pattern split into %d branches only", len(m.branches))
	}
	files, _ := filepath.Glob("corpus/heldout*/attacks/*.txt")
	more, _ := filepath.Glob("corpus/heldout*/benign.txt")
	files = append(files, more...)
	if len(files) < 20 {
		t.Fatalf("found %d corpus files", len(files))
	}
	n, hits := 0, 0
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			_, v, ok := strings.Cut(sc.Text(), "\t")
			if !ok {
				continue
			}
			low := []byte(strings.ToLower(v))
			whole, split := wholeRe.Match(low), m.match(low)
			if whole != split {
				t.Errorf("%s: %q: whole pattern %v, split %v", name, v, whole, split)
			}
			n++
			if whole {
				hits++
			}
		}
		f.Close()
	}
	t.Logf("%d values, %d with an active marker", n, hits)
	if hits == 0 || hits == n {
		t.Fatalf("%d of %d values matched: the comparison tells nothing", hits, n)
	}
}

func TestRequiredLiteral(t *testing.T) {
	m, err := compileActive(`(?i)\bsrcdoc\b|\b(?:sleep|exp)\s*\(|\b(?:file|jar)://|\$\{|<[a-z]`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range m.branches {
		got = append(got, string(b.need))
	}
	want := []string{"srcdoc", "(", "://", "${", "<"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("required literals %q, want %q", got, want)
	}
	for v, want := range map[string]bool{"srcdoc": true, "x sleep (1)": true, "file://x": true, "${x}": true, "<b": true, "sleep 1": false, "file:/x": false, "<1": false} {
		if got := m.match([]byte(v)); got != want {
			t.Errorf("match(%q) = %v, want %v", v, got, want)
		}
	}
}

// FuzzActiveSplit: on any value, lower-cased as the detector does (ASCII),
// the split branches agree with the whole pattern.
func FuzzActiveSplit(f *testing.F) {
	m, wholeRe := builtinActive(f)
	for _, s := range []string{"alert(1)", "1' or 1=1--", "how to use $(pwd)", "<svg onload> event", "SELECT sleep(5)", "../../etc/passwd", "/proc/\u017felf/environ", "\u212aill -9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		b := []byte(v)
		lower(b)
		if whole, split := wholeRe.Match(b), m.match(b); whole != split {
			t.Errorf("%q: whole pattern %v, split %v", b, whole, split)
		}
	})
}

func TestSplitAlternation(t *testing.T) {
	for _, tt := range []struct{ p, flags, want string }{
		{`(?i)(?:a|b)`, "(?i)", "a b"},
		{`(?i)(?s)a|b`, "(?i)(?s)", "a b"},
		{`a|(b|c)|[|]|\||\Q|\E`, "", `a (b|c) [|] \| \Q|\E`},
		{`(?:a)|(?:b)`, "", "(?:a) (?:b)"},
		{`[]|]|x`, "", "[]|] x"},
		{`[^]|]|[[:alpha:]|]`, "", "[^]|] [[:alpha:]|]"},
		{`(?i:a|b)`, "", "(?i:a|b)"},
		{`abc`, "", "abc"},
	} {
		flags, br := splitAlternation(tt.p)
		if flags != tt.flags || strings.Join(br, " ") != tt.want {
			t.Errorf("splitAlternation(%q) = %q, %q; want %q, %q", tt.p, flags, br, tt.flags, tt.want)
		}
	}
}

// FuzzCompileActive: any pattern Go accepts compiles into markers that
// answer as the whole pattern does (on lower-cased values), and
// into branches that find the whole pattern's leftmost match on any
// value; any pattern it refuses is refused.
func FuzzCompileActive(f *testing.F) {
	for _, s := range [][2]string{{`(?i)(?:a|b)`, "xa"}, {`[]|]|x`, "|"}, {`\Q|\E|y`, "y"}, {`(?i)\bsrc\s*=|on\w+=`, "src ="}, {`(`, ""}, {"(?i)\u017f", "s"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, v string) {
		whole, err := regexp.Compile(pattern)
		m, err2 := compileActive(pattern)
		if (err == nil) != (err2 == nil) {
			t.Fatalf("%q: regexp.Compile error %v, compileActive error %v", pattern, err, err2)
		}
		if err != nil {
			return
		}
		b := []byte(v)
		lower(b)
		if w, s := whole.Match(b), m.match(b); w != s {
			t.Errorf("%q on %q: whole pattern %v, split %v", pattern, b, w, s)
		}
		// as a rule's pattern (not lowered): the same leftmost match
		bs, err := splitBranches(pattern, false)
		if err != nil {
			t.Fatalf("%q: %v", pattern, err)
		}
		raw := []byte(v)
		if w, s := whole.FindIndex(raw), bs.findIndex(raw); !slices.Equal(w, s) {
			t.Errorf("%q on %q: whole pattern finds %v, branches %v", pattern, raw, w, s)
		}
	})
}
