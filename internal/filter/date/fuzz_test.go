package date

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// FuzzFind runs every kind of detector over arbitrary lines: no panic, the
// span inside the line, and a State that keeps working after hostile input.
func FuzzFind(f *testing.F) {
	for _, s := range []string{
		"Jan 23 21:59:59 host sshd[1]: x", "2026-11-24T14:55:01.123456+00:00 host", "[23/Jan/2005:21:59:59 +0100] x",
		"@4000000041f4104f00000000 x", "audit(1106513999.000:987): x", "\x00\x00Jan 23 21:59:59\xff",
		"<34>1 2005-01-23T21:59:59.003Z x", "20050123T215959+0100", "Jan 23, 2005 9:59:59 PM",
	} {
		f.Add([]byte(s))
	}
	loc := testLoc(f)
	var dets []*Detector
	for _, p := range []string{"", "{^LN-BEG}", `^<\d+>\d+\s+{DATE}`, "^[^\\[]*\\[({DATE})\n{^LN-BEG}", "LEPOCH", "{NONE}", "%H:%M:%S"} {
		d, err := Compile(p)
		if err != nil {
			f.Fatal(err)
		}
		dets = append(dets, d)
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		orig := bytes.Clone(line)
		start := time.Now()
		defer func() {
			if el := time.Since(start); el > 3*time.Second {
				t.Fatalf("Find(%q) took %v", line, el)
			}
		}()
		for _, d := range dets {
			var st State
			for range 2 {
				m, ok := d.Find(line, &st, testNow, loc)
				if ok && (m.Start < 0 || m.Start > m.End || m.End > len(line)) {
					t.Fatalf("Find(%q) span [%d,%d] outside the line", line, m.Start, m.End)
				}
			}
		}
		if !bytes.Equal(line, orig) {
			t.Fatalf("Find modified the line")
		}
	})
}

// FuzzCompile feeds arbitrary datepatterns to Compile: an error or a
// detector that can run, never a panic.
func FuzzCompile(f *testing.F) {
	for _, p := range shippedDatepatterns {
		f.Add(p)
	}
	for _, p := range []string{"%", "%%", "%E", "**", "{UNB}", "{DATE}{DATE}", "(?P<Y>", "(?P=_sep)", "[", `\`, "{^LN-BEG}{NONE}", "(?iu)%b"} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if len(p) > 300 || strings.Count(p, "{DATE}") > 2 {
			return
		}
		start := time.Now()
		defer func() {
			if el := time.Since(start); el > 3*time.Second {
				t.Fatalf("Compile(%q) and Find took %v", p, el)
			}
		}()
		d, err := Compile(p)
		if err != nil {
			return
		}
		var st State
		line := []byte("Jan 23 21:59:59 2005-01-23T21:59:59Z 1106513999 x")
		if m, ok := d.Find(line, &st, testNow, time.UTC); ok && (m.Start < 0 || m.Start > m.End || m.End > len(line)) {
			t.Fatalf("Compile(%q).Find: span [%d,%d]", p, m.Start, m.End)
		}
	})
}

// Long and hostile lines must not stall the search.
func TestFindHostileLines(t *testing.T) {
	loc := testLoc(t)
	big := bytes.Repeat([]byte("Jan 23 21:59:5"), (1<<20)/14)
	nul := make([]byte, 1<<20)
	bad := bytes.Repeat([]byte{0xff, 0xc3}, 1<<19)
	digits := bytes.Repeat([]byte("2005-01-23 "), (1<<20)/11)
	for _, p := range []string{"", "{^LN-BEG}", "^[^\\[]*\\[({DATE})"} {
		d, err := Compile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range [][]byte{big, nul, bad, digits} {
			var st State
			start := time.Now()
			d.Find(line, &st, testNow, loc)
			t.Logf("pattern %q, %d bytes: %v", p, len(line), time.Since(start))
		}
	}
}

func TestFindSearchLimit(t *testing.T) {
	pad := strings.Repeat("x ", maxLine/2)
	d := Default()
	var st State
	if m, ok := d.Find([]byte("y "+"Jan 23 21:59:59 "+pad), &st, testNow, time.UTC); !ok || m.Start != 2 {
		t.Errorf("date at 2 of a long line: Find = %v, %v", m, ok)
	}
	if m, ok := d.Find([]byte(pad+"Jan 23 21:59:59 x"), &st, testNow, time.UTC); ok {
		t.Errorf("date past %d bytes: Find = %v, want no match", maxLine, m)
	}
}
