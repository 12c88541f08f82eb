package builtin

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io/fs"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

// definition mirrors the rampart filter format of docs/FILTERS.md; decoding
// is strict so a typo in a key name fails here rather than being ignored.
type definition struct {
	Description  string             `toml:"description"`
	Journalmatch string             `toml:"journalmatch"`
	Daemon       string             `toml:"daemon"`
	Datepattern  string             `toml:"datepattern"`
	Maxlines     int                `toml:"maxlines"`
	Prefregex    string             `toml:"prefregex"`
	Failregex    []string           `toml:"failregex"`
	Ignoreregex  []string           `toml:"ignoreregex"`
	DefaultMode  string             `toml:"default_mode"`
	Modes        map[string]modeDef `toml:"modes"`
}

type modeDef struct {
	Include     []string `toml:"include"`
	Failregex   []string `toml:"failregex"`
	Ignoreregex []string `toml:"ignoreregex"`
}

// required lists the filters issue 2 asks the library to ship.
var required = []string{
	"apache-auth", "apache-badbots", "dovecot", "mysqld-auth", "named-refused",
	"nginx-botsearch", "nginx-http-auth", "nginx-limit-req", "pam-generic",
	"postfix", "postgresql", "proftpd", "recidive", "selinux-ssh", "sshd", "vsftpd",
}

func TestNames(t *testing.T) {
	names := Names()
	if !slices.IsSorted(names) {
		t.Errorf("Names() = %v, not sorted", names)
	}
	for _, r := range required {
		if !slices.Contains(names, r) {
			t.Errorf("Names() = %v, missing %q", names, r)
		}
	}
}

func TestFilesPaired(t *testing.T) {
	entries, err := fs.ReadDir(FS(), ".")
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, e := range entries {
		have[e.Name()] = true
	}
	for name := range have {
		base, ext, _ := strings.Cut(name, ".")
		switch ext {
		case "toml":
			if !have[base+".sample"] {
				t.Errorf("%s has no %s.sample", name, base)
			}
		case "sample":
			if !have[base+".toml"] {
				t.Errorf("%s has no %s.toml", name, base)
			}
		}
	}
}

func loadDefinition(t *testing.T, name string) definition {
	t.Helper()
	data, err := fs.ReadFile(FS(), name+".toml")
	if err != nil {
		t.Fatal(err)
	}
	var d definition
	md, err := toml.Decode(string(data), &d)
	if err != nil {
		t.Fatalf("%s.toml: %v", name, err)
	}
	if u := md.Undecoded(); len(u) > 0 {
		t.Fatalf("%s.toml: unknown keys %v", name, u)
	}
	return d
}

// tagRe finds the tags of docs/FILTERS.md; the test swaps them for simple
// groups only to check that each regex is RE2 and anchored. Matching is the
// engine's job and is tested there against the samples.
var tagRe = regexp.MustCompile(`</?F-[A-Z_]+>|<(?:HOST|ADDR|IP4|IP6|CIDR|SUBNET|DNS|PREFIX)>`)

func compileTagged(re string) error {
	_, err := regexp.Compile(tagRe.ReplaceAllStringFunc(re, func(tag string) string {
		switch {
		case strings.HasPrefix(tag, "</"):
			return ")"
		case strings.HasPrefix(tag, "<F-"):
			return "("
		}
		return `(?:\S+)`
	}))
	return err
}

func TestDefinitions(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			d := loadDefinition(t, name)
			if d.Description == "" {
				t.Error("no description")
			}
			if len(d.Failregex) == 0 && len(d.Modes) == 0 {
				t.Error("no failregex")
			}
			if d.DefaultMode != "" {
				if _, ok := d.Modes[d.DefaultMode]; !ok {
					t.Errorf("default_mode %q is not a mode", d.DefaultMode)
				}
			}
			check := func(kind, re string) {
				if !strings.HasPrefix(re, "^") {
					t.Errorf("%s %q is not anchored with ^", kind, re)
				}
				if strings.HasPrefix(re, "^.*") {
					t.Errorf("%s %q starts with .*", kind, re)
				}
				if err := compileTagged(re); err != nil {
					t.Errorf("%s %q: %v", kind, re, err)
				}
			}
			if d.Prefregex != "" {
				check("prefregex", d.Prefregex)
			}
			for _, re := range d.Failregex {
				check("failregex", re)
			}
			for _, re := range d.Ignoreregex {
				check("ignoreregex", re)
			}
			for mode, m := range d.Modes {
				for _, inc := range m.Include {
					if _, ok := d.Modes[inc]; !ok || inc == mode {
						t.Errorf("mode %q includes unknown mode %q", mode, inc)
					}
				}
				for _, re := range m.Failregex {
					check("failregex", re)
				}
				for _, re := range m.Ignoreregex {
					check("ignoreregex", re)
				}
			}
		})
	}
}

// expectation is one "# expect:" line of a sample.
type expectation struct {
	Match string  `json:"match"`
	IP    string  `json:"ip"`
	User  *string `json:"user"`
	ID    string  `json:"id"`
	Time  string  `json:"time"`
}

var docNets = []netip.Prefix{
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("2001:db8::/32"),
}

func documentation(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range docNets {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// addrRe finds IPv4 and IPv6 literals in sample lines.
var addrRe = regexp.MustCompile(`(?:[0-9a-fA-F]{0,4}:){2,6}(?:\d{1,3}\.){3}\d{1,3}|(?:\d{1,3}\.){3}\d{1,3}|[0-9a-fA-F]{0,4}(?::[0-9a-fA-F]{0,4}){2,7}`)

func TestSamples(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			d := loadDefinition(t, name)
			data, err := fs.ReadFile(FS(), name+".sample")
			if err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(bytes.NewReader(data))
			sc.Buffer(nil, 1<<20)
			n, hits, lines := 0, 0, 0
			pending := false
			for sc.Scan() {
				n++
				line := sc.Text()
				switch {
				case strings.HasPrefix(line, "# mode:"):
					mode := strings.TrimSpace(strings.TrimPrefix(line, "# mode:"))
					if _, ok := d.Modes[mode]; !ok {
						t.Errorf("%s.sample:%d: mode %q not in %s.toml", name, n, mode, name)
					}
				case strings.HasPrefix(line, "# expect:"):
					if pending {
						t.Errorf("%s.sample:%d: two expectations for one line", name, n)
					}
					pending = true
					var e expectation
					dec := json.NewDecoder(strings.NewReader(strings.TrimPrefix(line, "# expect:")))
					dec.DisallowUnknownFields()
					if err := dec.Decode(&e); err != nil {
						t.Errorf("%s.sample:%d: %v", name, n, err)
						continue
					}
					switch e.Match {
					case "hit":
						hits++
						if e.IP == "" && e.ID == "" {
							t.Errorf("%s.sample:%d: a hit names no ip or id", name, n)
						}
					case "ignore", "none":
					default:
						t.Errorf("%s.sample:%d: match %q, want hit, ignore or none", name, n, e.Match)
					}
					if e.IP != "" {
						a, err := netip.ParseAddr(e.IP)
						if err != nil || !documentation(a) {
							t.Errorf("%s.sample:%d: ip %q is not a documentation address", name, n, e.IP)
						}
					}
				case strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "":
				default:
					lines++
					pending = false
					for _, m := range addrRe.FindAllStringIndex(line, -1) {
						if m[0] > 0 && isWordByte(line[m[0]-1]) {
							continue // part of a word such as "routines::bad"
						}
						s := line[m[0]:m[1]]
						a, err := netip.ParseAddr(s)
						if err == nil && !a.IsLoopback() && !a.IsUnspecified() && !documentation(a) {
							t.Errorf("%s.sample:%d: address %s is not a documentation address", name, n, s)
						}
					}
				}
			}
			if err := sc.Err(); err != nil {
				t.Fatal(err)
			}
			if hits == 0 || lines == hits {
				t.Errorf("%s.sample: %d lines, %d hits: want both hits and non-hits", name, lines, hits)
			}
		})
	}
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
