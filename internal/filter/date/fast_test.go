package date

import (
	"math/rand/v2"
	"testing"
)

// fastTemplates returns the templates of {^LN-BEG} and nginx-botsearch's
// datepattern that have a hand-written matcher.
func fastTemplates(t testing.TB) []*template {
	t.Helper()
	var out []*template
	for _, p := range []string{"{^LN-BEG}", `{^LN-BEG}%ExY(?P<_sep>[-/.])%m(?P=_sep)%d[T ]%H:%M:%S(?:[.,]%f)?(?:\s*%z)?`,
		`{^LN-BEG}(?:%a )?%b %d %H:%M:%S(?:\.%f)?(?: %ExY)?`, `^[^\[]*\[({DATE})`, `^<\d+>\d+\s+{DATE}`} {
		d, err := Compile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, tm := range d.templates {
			if tm.fast != fastNone {
				out = append(out, tm)
			}
		}
	}
	if len(out) != 6 {
		t.Fatalf("found %d templates with a fast matcher, want 6", len(out))
	}
	return out
}

// checkFast compares a template's hand-written matcher with its regex on line.
func checkFast(t *testing.T, tm *template, line string) {
	t.Helper()
	loc := testLoc(t)
	var st State
	c := findCtx{line: []byte(line), now: testNow, loc: loc, st: &st}
	var fr, rr result
	fok := tm.match(&c, 0, len(line), &fr)
	rok := tm.matchRegex(&c, 0, len(line), &rr)
	if fok != rok || (fok && fr != rr) {
		t.Errorf("template %q on %q: fast = %v %+v, regex = %v %+v", tm.name, line, fok, fr, rok, rr)
	}
}

func TestFastMatchesRegex(t *testing.T) {
	seeds := []string{
		"2026-11-24T14:55:01.123456+00:00 host sshd[1]: x",
		"2026-11-24 14:55:01,123 x", "2026/11/24 14:55:01Z", "2026.11.24T14:55:01 UTC x", "2026-11-24T14:55:01+0530",
		"2026-11-24T14:55:01 -05 x", "2026-11-24T14:55:01+05:x", "2026-11-24  4:55:01 x", "[2026-11-24T14:55:01]",
		"Nov 24 14:55:01 host sshd[1]: x", "Nov  4 14:55:01 host", "Tue Nov 24 14:55:01 2026 x", "Nov 24 14:55:01.123 2026",
		"nov 4 04:05:06 x", "Aug 8 11:25:50 20030f2329b8", "[Aug 31 23:59:59] x", "Sat Feb 29 00:00:00 2004",
		`192.0.2.1 - - [24/Nov/2026:14:55:01 +0100] "GET / HTTP/1.1" 401 381`, "x [24-nov-2026 14:55:01.123 -05:30]",
		"[01/Feb/2026:00:00:00 UTC] x", "a [b] [24/Nov/2026:14:55:01 +0100]", "[24/Nov/2026:14:55:01+0100]",
		"<38>1 2026-11-24T14:55:01.954167-04:00 host sshd 57915 - - x", "<1>12  2026-11-24 14:55:01Z", "<38>1 2026-11-24T14:55:01",
	}
	alphabet := []byte("0123456789 :-/.,TZUTCGMTz+_[]()abcNovJanSatx\t\xc3\xa9")
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tm := range fastTemplates(t) {
		for _, s := range seeds {
			checkFast(t, tm, s)
			for range 400 {
				b := []byte(s)
				for range 1 + rng.IntN(3) {
					i := rng.IntN(len(b) + 1)
					switch rng.IntN(3) {
					case 0: // replace
						if i < len(b) {
							b[i] = alphabet[rng.IntN(len(alphabet))]
						}
					case 1: // insert
						b = append(b[:i], append([]byte{alphabet[rng.IntN(len(alphabet))]}, b[i:]...)...)
					case 2: // delete / cut
						if i < len(b) {
							b = append(b[:i], b[i+1:]...)
						}
					}
				}
				checkFast(t, tm, string(b))
			}
		}
	}
}

// FuzzFastPath checks the hand-written matchers against their regexes.
func FuzzFastPath(f *testing.F) {
	for _, s := range []string{"2026-11-24T14:55:01.123456+00:00 x", "Nov  4 14:55:01 host", "Tue Nov 24 14:55:01 2026 x"} {
		f.Add(s)
	}
	tms := fastTemplates(f)
	f.Fuzz(func(t *testing.T, line string) {
		if len(line) > 200 {
			return
		}
		for _, tm := range tms {
			checkFast(t, tm, line)
		}
	})
}
