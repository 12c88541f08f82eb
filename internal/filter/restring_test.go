package filter

import (
	"regexp/syntax"
	"testing"
)

var reStringCases = []string{
	`^\S+ for (?P<user>(?:\S+|.*)) from \[?(?:(?P<ip4>\d{1,3}(?:\.\d{1,3}){3})|(?P<ip6>[0-9a-fA-F:]+))\]?$`,
	`[^\]]+\s*$`,
	`(?s).*?[^\n]+`,
	`(?m)^a[^x]$`,
	`(?i)Failed [^ ]+ for`,  // a case-folded literal: printed by String as it is
	`(?i:ab)[^a]c(?-i:d)\S`, // flag spans next to fold-closed classes
	`[\x00-\x{10FFFF}]`,
	`[^\x00-\x{10FFFF}]`,
	`[\-\]^a-z]\x{f0000}`, // a placeholder rune in a literal
	`[\x{f0000}-\x{f0010}]x`,
	`\pL+\PN*\p{Greek}`,
	`[\a\f\t\n\r\v\x01\x{100}-\x{2000}]`,
	`(?U)a*[b-c]+?`,
	`(?:a|b[^c])*(?:)`,
}

func TestReStringMatchesString(t *testing.T) {
	for _, p := range reStringCases {
		for _, flags := range []syntax.Flags{syntax.Perl, syntax.Perl | syntax.DotNL, syntax.POSIX} {
			re, err := syntax.Parse(p, flags)
			if err != nil {
				continue
			}
			for _, r := range []*syntax.Regexp{re, re.Simplify()} {
				if got, want := reString(r), r.String(); got != want {
					t.Errorf("reString(%q) = %q, want %q", p, got, want)
				}
			}
		}
	}
}

// The class text must be what String prints for a class alone.
func TestClassString(t *testing.T) {
	for _, p := range reStringCases {
		re, err := syntax.Parse(p, syntax.Perl)
		if err != nil {
			t.Fatal(err)
		}
		walk(re, func(e *syntax.Regexp) {
			if e.Op == syntax.OpCharClass {
				if got, want := classString(e.Rune), e.String(); got != want {
					t.Errorf("classString(%v) = %q, want %q", e.Rune, got, want)
				}
			}
		})
	}
}

func BenchmarkReString(b *testing.B) {
	re, err := syntax.Parse(reStringCases[0], syntax.Perl)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("reString", func(b *testing.B) {
		for b.Loop() {
			_ = reString(re)
		}
	})
	b.Run("String", func(b *testing.B) {
		for b.Loop() {
			_ = re.String()
		}
	})
}

// FuzzReString: for every pattern Go parses, reString prints exactly what
// String prints.
func FuzzReString(f *testing.F) {
	for _, p := range reStringCases {
		f.Add(p, false)
	}
	f.Fuzz(func(t *testing.T, p string, simplify bool) {
		if len(p) > 300 {
			return
		}
		re, err := syntax.Parse(p, syntax.Perl)
		if err != nil {
			return
		}
		if simplify {
			re = re.Simplify()
		}
		if got, want := reString(re), re.String(); got != want {
			t.Fatalf("reString(%q) = %q, want %q", p, got, want)
		}
	})
}
