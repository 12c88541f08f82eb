package fail2ban

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestParseINI(t *testing.T) {
	src := `# comment
[DEFAULT]
a = 1 ; inline comment
[Definition]
failregex = ^one$
            # a commented-out regex
            ^two$

            ^three$
key: value with = sign
`
	f, err := parseINI("x.conf", strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.defaults.vals["a"].text; got != "1" {
		t.Errorf("a = %q, want 1", got)
	}
	d := f.sections["Definition"]
	if got, want := d.vals["failregex"].text, "^one$\n^two$\n\n^three$"; got != want {
		t.Errorf("failregex = %q, want %q", got, want)
	}
	if got := d.vals["key"].text; got != "value with = sign" {
		t.Errorf("key = %q", got)
	}
	if d.vals["failregex"].line != 5 {
		t.Errorf("failregex line = %d, want 5", d.vals["failregex"].line)
	}
}

func TestParseINIErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"outside section", "a = 1\n", "x.conf:1: "},
		{"not an option", "[Definition]\njust words\n", "x.conf:2: "},
		{"nul byte", "[Definition]\na = \x00\n", "x.conf:2: NUL"},
	}
	for _, tt := range tests {
		_, err := parseINI("x.conf", strings.NewReader(tt.src))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want containing %q", tt.name, err, tt.want)
		}
	}
}

func TestReadFilterIncludesAndModes(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"filter.d/common.conf": `[DEFAULT]
_daemon = \S*
__prefix_line = <_daemon>\[\d+\]:\s+
`,
		"filter.d/demo.conf": `[INCLUDES]
before = common.conf
[DEFAULT]
_daemon = demo
[Definition]
mode = normal
prefregex = ^%(__prefix_line)s<F-CONTENT>.+</F-CONTENT>$
base = ^bad login from <HOST>$
mdre-normal =
mdre-extra = ^very bad from <HOST>$
failregex = %(base)s
            <mdre-<mode>>
datepattern = {^LN-BEG}
`,
		"filter.d/demo.local": `[Definition]
failregex = %(known/failregex)s
            ^local from <HOST>$
`,
	})
	def, err := ReadFilter(dir, "demo", map[string]string{"mode": "extra"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range def.FailRegex {
		got = append(got, p.Expr)
	}
	want := []string{`^bad login from <HOST>$`, `^very bad from <HOST>$`, `^local from <HOST>$`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("failregex mismatch (-want +got):\n%s", diff)
	}
	if def.PrefRegex == nil || def.PrefRegex.Expr != `^demo\[\d+\]:\s+<F-CONTENT>.+</F-CONTENT>$` {
		t.Errorf("prefregex = %+v", def.PrefRegex)
	}
	def, err = ReadFilter(dir, "demo", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(def.FailRegex) != 2 {
		t.Errorf("normal mode: %d failregex, want 2", len(def.FailRegex))
	}
}

func TestReadFilterErrorsNameFileAndLine(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"filter.d/bad.conf":  "[Definition]\nfailregex = %(nope)s\n",
		"filter.d/self.conf": "[Definition]\nfailregex = <failregex>\n",
		"filter.d/none.conf": "[Definition]\nignoreregex = x\n",
	})
	for name, want := range map[string]string{
		"bad":     "bad.conf:2: failregex: %(nope)s refers to an option that is not defined",
		"self":    "refers to itself",
		"none":    "defines no failregex",
		"missing": "missing.conf",
	} {
		_, err := ReadFilter(dir, name, nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ReadFilter(%s) err = %v, want containing %q", name, err, want)
		}
	}
}

func FuzzParseINI(f *testing.F) {
	f.Add("[Definition]\nfailregex = ^x <HOST>$\n  ^y$\n")
	f.Add("[INCLUDES]\nbefore = common.conf\n[DEFAULT]\na=%(b)s\n")
	f.Add("\ufeff[a]\nb:c ; d\n")
	f.Fuzz(func(t *testing.T, src string) {
		c := &Config{defaults: newSection(), sections: map[string]*section{}}
		ini, err := parseINI("fuzz.conf", strings.NewReader(src))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.conf:") {
				t.Fatalf("error without file:line: %v", err)
			}
			return
		}
		c.merge(ini)
		for _, s := range c.Sections() {
			for _, k := range c.Keys(s) {
				_, _, _ = c.Get(s, k, nil)
			}
		}
		if _, err := definitionFrom(c, "fuzz", nil); err != nil && err.Error() == "" {
			t.Fatal("empty error")
		}
	})
}
