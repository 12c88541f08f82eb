package date

import (
	"strings"
	"testing"
)

// The default templates compile on first use: every one of them must
// compile (a broken one would otherwise only show on the line that needs
// it).
func TestDefaultTemplatesLoad(t *testing.T) {
	all, err := defaults()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < 10 {
		t.Fatalf("%d default templates", len(all))
	}
	for _, b := range all {
		if err := b.t.load(); err != nil {
			t.Errorf("%s: %v", b.t.name, err)
		}
		if b.t.re == nil {
			t.Errorf("%s: no regex after load", b.t.name)
		}
	}
}

// A filter's own datepattern still fails at compile time, not when the
// first line needs it.
func TestOwnPatternErrorsAtCompile(t *testing.T) {
	for _, p := range []string{`^(?P<x>%Y`, `{DATE} [z-a]`, `%Y [z-a]`} {
		if _, err := Compile(p); err == nil {
			t.Errorf("Compile(%q): no error", p)
		} else if !strings.Contains(err.Error(), "date pattern") {
			t.Errorf("Compile(%q): %v (want the pattern named)", p, err)
		}
	}
}
