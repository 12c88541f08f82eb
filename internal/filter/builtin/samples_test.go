package builtin_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io/fs"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/filter"
	"github.com/rampart-ids/rampart/internal/filter/builtin"
)

// sampleNow and the UTC zone are the test clock of docs/FILTERS.md.
var sampleNow = time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)

// sampleLine is one log line of a sample with its expectation.
type sampleLine struct {
	n    int // 1-based line number in the sample
	mode string
	text string
	want *sampleExpect // nil: must not be a hit
}

type sampleExpect struct {
	Match string  `json:"match"`
	IP    string  `json:"ip"`
	User  *string `json:"user"`
	ID    string  `json:"id"`
	Time  string  `json:"time"`
}

func readSample(t testing.TB, name string) []sampleLine {
	t.Helper()
	data, err := fs.ReadFile(builtin.FS(), name+".sample")
	if err != nil {
		t.Fatal(err)
	}
	var out []sampleLine
	var mode string
	var want *sampleExpect
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "# mode:"):
			mode = strings.TrimSpace(strings.TrimPrefix(l, "# mode:"))
		case strings.HasPrefix(l, "# expect:"):
			want = new(sampleExpect)
			if err := json.Unmarshal([]byte(strings.TrimPrefix(l, "# expect:")), want); err != nil {
				t.Fatalf("%s.sample:%d: %v", name, n, err)
			}
		case strings.HasPrefix(l, "#"), strings.TrimSpace(l) == "":
		default:
			out = append(out, sampleLine{n: n, mode: mode, text: l, want: want})
			want = nil
		}
	}
	return out
}

func compileBuiltin(t testing.TB, name, mode string) *filter.Filter {
	t.Helper()
	return compileBuiltinOpts(t, name, mode, filter.Options{Location: time.UTC})
}

// compileBuiltinOpts compiles built-in filter name in mode ("" = default).
func compileBuiltinOpts(t testing.TB, name, mode string, o filter.Options) *filter.Filter {
	t.Helper()
	data, err := fs.ReadFile(builtin.FS(), name+".toml")
	if err != nil {
		t.Fatal(err)
	}
	var opts map[string]string
	if mode != "" {
		opts = map[string]string{"mode": mode}
	}
	def, err := filter.ParseDefinition(name, name+".toml", data, opts)
	if err != nil {
		t.Fatal(err)
	}
	f, err := filter.Compile(def, o)
	if err != nil {
		t.Fatal(err)
	}
	if slow := f.SlowPatterns(); len(slow) > 0 {
		t.Errorf("%s: built-in filters must be RE2-only, slow path: %v", name, slow)
	}
	return f
}

// TestSamplesWithEngine replays every sample through the filter engine, one
// matcher per mode, and checks each line's expectation and that every
// failregex is hit by some line.
func TestSamplesWithEngine(t *testing.T) {
	for _, name := range builtin.Names() {
		t.Run(name, func(t *testing.T) {
			type modeState struct {
				f *filter.Filter
				m *filter.Matcher
			}
			modes := map[string]modeState{}
			used := map[string]bool{}    // failregex text -> hit by a line
			defined := map[string]bool{} // every failregex of the modes used
			for _, l := range readSample(t, name) {
				st, ok := modes[l.mode]
				if !ok {
					st.f = compileBuiltin(t, name, l.mode)
					st.m = st.f.NewMatcher()
					for i := 0; i < st.f.FailRegexCount(); i++ {
						defined[st.f.FailRegex(i).Expr] = true
					}
					modes[l.mode] = st
				}
				got := st.m.Match([]byte(l.text), sampleNow)
				if got.Regex >= 0 {
					used[st.f.FailRegex(got.Regex).Expr] = true
				}
				checkLine(t, name, l, got)
			}
			for re := range defined {
				if !used[re] {
					t.Errorf("%s: failregex never matched by the sample: %s", name, re)
				}
			}
		})
	}
}

func checkLine(t *testing.T, name string, l sampleLine, got filter.Result) {
	t.Helper()
	where := name + ".sample:" + strconv.Itoa(l.n)
	if l.want == nil {
		if got.Kind == filter.Hit {
			t.Errorf("%s: Match(%q) = hit %s, want no hit", where, l.text, got.Host)
		}
		return
	}
	if got.Kind.String() != l.want.Match {
		t.Errorf("%s: Match(%q) = %v (host %q), want %s", where, l.text, got.Kind, got.Host, l.want.Match)
		return
	}
	if got.Kind != filter.Hit {
		return
	}
	if l.want.IP != "" && got.Addr.String() != l.want.IP {
		t.Errorf("%s: Match(%q) ip = %v, want %s", where, l.text, got.Addr, l.want.IP)
	}
	if l.want.User != nil && got.User != *l.want.User {
		t.Errorf("%s: Match(%q) user = %q, want %q", where, l.text, got.User, *l.want.User)
	}
	if l.want.ID != "" && got.ID != l.want.ID {
		t.Errorf("%s: Match(%q) id = %q, want %q", where, l.text, got.ID, l.want.ID)
	}
	if l.want.Time != "" {
		wt, err := time.Parse(time.RFC3339Nano, l.want.Time)
		if err != nil {
			t.Errorf("%s: bad expected time %q: %v", where, l.want.Time, err)
		} else if !got.HasTime || !got.Time.Equal(wt) {
			t.Errorf("%s: Match(%q) time = %v (has %v), want %v", where, l.text, got.Time, got.HasTime, wt)
		}
	}
}
