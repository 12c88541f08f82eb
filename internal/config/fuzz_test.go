package config

import (
	"errors"
	"testing"
)

func FuzzLoad(f *testing.F) {
	f.Add([]byte(richConfig))
	f.Add([]byte(defaultTOML))
	f.Add([]byte("[jails.sshd]\nfindtime = \"10x\"\nincrement = { enabled = true, factor = \"x\" }\n"))
	f.Add([]byte("a.b.c = [1, {x = 1}, \"\"\"\n\"\"\"]\n[[x]]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := LoadBytes("f.toml", data, Options{SkipFileChecks: true, FilterExists: func(string) bool { return true }})
		if err == nil {
			if c == nil {
				t.Fatal("LoadBytes returned neither config nor error")
			}
			if _, err := c.TOML(); err != nil {
				t.Fatalf("TOML() of a loaded config: %v", err)
			}
			return
		}
		var es Errors
		if !errors.As(err, &es) || len(es) == 0 {
			t.Fatalf("error %v is not a non-empty Errors", err)
		}
		for _, e := range es {
			if e.File == "" || e.Line < 1 {
				t.Errorf("error without file:line: %#v", e)
			}
		}
	})
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"600", "1h30m", "1d 12h", "1.5h", "-1", "2 weeks", "9999999999y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			return
		}
		if d < 0 && d != Permanent {
			t.Errorf("ParseDuration(%q) = %v, negative", s, d)
		}
		if back, err := ParseDuration(FormatDuration(d)); err != nil || back != d {
			t.Errorf("ParseDuration(FormatDuration(%v)) = %v, %v", d, back, err)
		}
	})
}
