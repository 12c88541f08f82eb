package filter

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
)

// tomlDef is rampart's own filter definition format (docs/FILTERS.md).
type tomlDef struct {
	Description  string              `toml:"description"`
	JournalMatch string              `toml:"journalmatch"`
	Daemon       string              `toml:"daemon"`
	DatePattern  string              `toml:"datepattern"`
	MaxLines     int                 `toml:"maxlines"`
	PrefRegex    string              `toml:"prefregex"`
	FailRegex    []string            `toml:"failregex"`
	IgnoreRegex  []string            `toml:"ignoreregex"`
	DefaultMode  string              `toml:"default_mode"`
	Modes        map[string]tomlMode `toml:"modes"`
}

type tomlMode struct {
	FailRegex   []string `toml:"failregex"`
	IgnoreRegex []string `toml:"ignoreregex"`
	Include     []string `toml:"include"`
}

// keyLine finds the line where a key is set: the last key, under the table
// named by the others (BurntSushi/toml does not expose key positions).
// It returns 0 when the key is not found.
func keyLine(data []byte, keys ...string) int {
	if len(keys) == 0 {
		return 0
	}
	table := strings.Join(keys[:len(keys)-1], ".")
	key := keys[len(keys)-1]
	cur := ""
	for i, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "[") && strings.HasSuffix(l, "]") {
			cur = strings.Trim(l, "[] ")
			continue
		}
		if cur != table {
			continue
		}
		if rest, ok := strings.CutPrefix(l, key); ok && strings.HasPrefix(strings.TrimSpace(rest), "=") {
			return i + 1
		}
	}
	return 0
}

// Describe returns the description line of a rampart definition.
func Describe(data []byte) string {
	var d tomlDef
	if _, err := toml.Decode(string(data), &d); err != nil {
		return ""
	}
	return d.Description
}

// ParseDefinition reads a rampart filter definition (TOML) named name from
// data; source names the file in messages. opts are the filter options of
// the jail: only "mode" is known.
func ParseDefinition(name, source string, data []byte, opts map[string]string) (*Definition, error) {
	var d tomlDef
	md, err := toml.Decode(string(data), &d)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("%s:%d: %s", source, pe.Position.Line, pe.Message)
		}
		return nil, fmt.Errorf("%s: %v", source, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		k := und[0]
		return nil, fmt.Errorf("%s:%d: unknown key %q (known: description, journalmatch, daemon, datepattern, maxlines, prefregex, failregex, ignoreregex, default_mode, [modes.NAME] failregex/ignoreregex/include)",
			source, keyLine(data, k...), k.String())
	}
	line := func(keys ...string) int { return keyLine(data, keys...) }
	mode := d.DefaultMode
	for k, v := range opts {
		switch k {
		case "mode":
			mode = v
		default:
			return nil, fmt.Errorf("%s: unknown filter option %q (rampart filters take only mode=…)", source, k)
		}
	}
	if d.DatePattern == "" {
		// Dates at the start of the line, as Fail2ban's common.conf sets
		// for file logs (a line without one is not searched through), or
		// after an RFC 5424 "<PRI>VERSION" header.
		d.DatePattern = "{^LN-BEG}\n^<\\d+>\\d+\\s+{DATE}"
	}
	def := &Definition{
		Name:         name,
		Source:       source,
		DatePattern:  d.DatePattern,
		DateWhere:    Pattern{Expr: d.DatePattern, File: source, Line: line("datepattern")},
		MaxLines:     d.MaxLines,
		JournalMatch: d.JournalMatch,
		Daemon:       d.Daemon,
	}
	if d.PrefRegex != "" {
		def.PrefRegex = &Pattern{Expr: d.PrefRegex, File: source, Line: line("prefregex")}
	}
	add := func(dst *[]Pattern, list []string, keys ...string) {
		l := line(keys...)
		for _, e := range list {
			*dst = append(*dst, Pattern{Expr: e, File: source, Line: l})
		}
	}
	add(&def.FailRegex, d.FailRegex, "failregex")
	add(&def.IgnoreRegex, d.IgnoreRegex, "ignoreregex")
	if mode != "" {
		if _, ok := d.Modes[mode]; !ok {
			var known []string
			for k := range d.Modes {
				known = append(known, k)
			}
			sort.Strings(known)
			if len(known) > 0 || mode != d.DefaultMode {
				return nil, fmt.Errorf("%s: filter %q has no mode %q (modes: %s)", source, name, mode, strings.Join(known, ", "))
			}
		}
		seen := map[string]bool{}
		var visit func(m string) error
		visit = func(m string) error {
			if seen[m] {
				return nil
			}
			seen[m] = true
			md, ok := d.Modes[m]
			if !ok {
				return fmt.Errorf("%s:%d: mode %q includes unknown mode %q", source, line("modes", mode, "include"), mode, m)
			}
			for _, inc := range md.Include {
				if err := visit(inc); err != nil {
					return err
				}
			}
			add(&def.FailRegex, md.FailRegex, "modes", m, "failregex")
			add(&def.IgnoreRegex, md.IgnoreRegex, "modes", m, "ignoreregex")
			return nil
		}
		if _, ok := d.Modes[mode]; ok {
			if err := visit(mode); err != nil {
				return nil, err
			}
		}
	}
	if len(def.FailRegex) == 0 {
		return nil, fmt.Errorf("%s: filter %q has no failregex", source, name)
	}
	return def, nil
}
