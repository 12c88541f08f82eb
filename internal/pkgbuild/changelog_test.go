package pkgbuild

import (
	"bytes"
	"compress/gzip"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestChangelog(t *testing.T) {
	long := strings.Repeat("word ", 40)
	got := string(Changelog("rampart", "1.2-1", "A B <a@b.invalid>", "abc1234",
		time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC), []Change{{"def5678", "short change"}, {"0123456", long}}))
	lines := strings.Split(strings.TrimRight(got, "\n"), "\n")
	if lines[0] != "rampart (1.2-1) unstable; urgency=medium" {
		t.Errorf("first line = %q", lines[0])
	}
	if want := " -- A B <a@b.invalid>  Thu, 03 Dec 2026 10:00:00 +0000"; lines[len(lines)-1] != want {
		t.Errorf("trailer = %q, want %q", lines[len(lines)-1], want)
	}
	item := regexp.MustCompile(`^(  \* |    )\S`)
	for _, l := range lines[2 : len(lines)-2] {
		if len(l) > 80 || !item.MatchString(l) {
			t.Errorf("changelog line %q: not an item or continuation within 80 columns", l)
		}
	}
	if !strings.Contains(got, "  * short change (def5678)\n") {
		t.Errorf("changelog lacks the short change:\n%s", got)
	}
}

func TestGzipDeterministic(t *testing.T) {
	a, err := Gzip([]byte("same input"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Gzip([]byte("same input"))
	if !bytes.Equal(a, b) {
		t.Error("Gzip gave different bytes for the same input")
	}
	r, err := gzip.NewReader(bytes.NewReader(a))
	if err != nil {
		t.Fatal(err)
	}
	if !r.ModTime.IsZero() || r.Name != "" {
		t.Errorf("gzip header has ModTime %v, Name %q; want neither", r.ModTime, r.Name)
	}
	if out, _ := io.ReadAll(r); string(out) != "same input" {
		t.Errorf("round trip = %q", out)
	}
}
