package builtin_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/rampart-ids/rampart/internal/filter"
	"github.com/rampart-ids/rampart/internal/filter/builtin"
)

// allModes compiles every built-in filter in each of its modes used by its
// sample (and the default mode).
func allModes(t testing.TB) map[string]*filter.Filter {
	t.Helper()
	out := map[string]*filter.Filter{}
	for _, name := range builtin.Names() {
		out[name] = compileBuiltin(t, name, "")
		for _, l := range readSample(t, name) {
			if k := name + "[" + l.mode + "]"; l.mode != "" && out[k] == nil {
				out[k] = compileBuiltin(t, name, l.mode)
			}
		}
	}
	return out
}

// FuzzBuiltinFilters feeds arbitrary lines (seeded with every sample line)
// to every built-in filter: no panic, and a hit's host is text of the line.
func FuzzBuiltinFilters(f *testing.F) {
	for _, name := range builtin.Names() {
		for _, l := range readSample(f, name) {
			f.Add([]byte(l.text))
		}
	}
	filters := allModes(f)
	f.Fuzz(func(t *testing.T, line []byte) {
		for name, flt := range filters {
			r := flt.NewMatcher().Match(line, sampleNow)
			if r.Kind == filter.Hit && r.Host != "" && !bytes.Contains(line, []byte(r.Host)) {
				t.Errorf("%s: Match(%q) host %q is not in the line", name, line, r.Host)
			}
		}
	})
}

// TestHostileLines runs every filter over a 1 MiB line, invalid UTF-8 and
// NUL bytes built from sample lines: each must finish (RE2 is linear) and a
// hit's host must be text of the line.
func TestHostileLines(t *testing.T) {
	filters := allModes(t)
	pad := strings.Repeat(`x" from [] port 22 ssh2: `, 1<<20/25)
	for _, name := range builtin.Names() {
		lines := readSample(t, name)
		hostile := [][]byte{[]byte(lines[0].text + pad), []byte(pad + lines[0].text)}
		for _, l := range lines {
			hostile = append(hostile,
				[]byte(l.text[:len(l.text)/2]+"\xff\xfe\x00"+l.text[len(l.text)/2:]),
				bytes.ReplaceAll([]byte(l.text), []byte(" "), []byte{0}),
			)
		}
		for key, flt := range filters {
			if key != name && !strings.HasPrefix(key, name+"[") {
				continue
			}
			m := flt.NewMatcher()
			for _, h := range hostile {
				r := m.Match(h, sampleNow)
				if r.Kind == filter.Hit && !bytes.Contains(h, []byte(r.Host)) {
					t.Errorf("%s: Match(%.80q...) host %q is not in the line", key, h, r.Host)
				}
			}
		}
	}
}
