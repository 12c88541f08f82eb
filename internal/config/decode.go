package config

import (
	"fmt"
	"slices"
	"strings"
)

// section is one top-level table of the configuration file.
//
// Adding a section ([portscan], [limits.NAME], …) takes a file
// section_NAME.go with a type implementing section — usually a key[T] list
// for its keys, decoded with decodeTable and shown with showTable — the
// fields it fills in Config, and one entry in sections. The decoder then
// accepts the table, refuses its unknown keys with suggestions, `config
// show` writes it, and docs/CONFIG.md gets its key table from TestDocs.
type section interface {
	// name is the section's top-level key, e.g. "daemon".
	name() string
	// decode reads the section's table t into c; t is nil when no layer
	// has the section, and the section then applies its defaults.
	decode(d *decoder, t *node, c *Config)
	// show returns the section as `config show` writes it, or nil to leave
	// it out (the [defaults] values show in every jail instead).
	show(c *Config) any
}

// sections lists the top-level tables, in the order they are decoded and
// shown: [defaults] before [jails], which starts from it.
func sections() []section {
	return []section{daemonSection{}, defaultsSection{}, jailsSection{}, eventsSection{}, alertsSection{}, logSection{}, fimSection{}, webSection{}, fleetSection{}, baselineSection{}, hostSection{}, auditdSection{}, limitsSection{}, portscanSection{}, auditSection{}, blocklistsSection{}}
}

// decoder turns the merged tree into a Config, collecting every error.
type decoder struct {
	opt   Options
	errs  Errors
	warns Errors
	// jailBase is what [defaults] made of the jail defaults, for [jails].
	jailBase *Jail
	// defaultsTable is the [defaults] table, for placing errors about a key
	// a jail takes from it; nil without one.
	defaultsTable *node
}

func (d *decoder) fail(n *node, format string, args ...any) {
	d.errs = append(d.errs, Error{File: n.file, Line: n.line, Key: n.key(), Msg: fmt.Sprintf(format, args...)})
}

// failed reports whether an error was already recorded for n's key.
func (d *decoder) failed(n *node) bool {
	k := n.key()
	return slices.ContainsFunc(d.errs, func(e Error) bool { return e.Key == k && e.File == n.file })
}

func (d *decoder) warn(n *node, format string, args ...any) {
	d.warns = append(d.warns, Error{File: n.file, Line: n.line, Key: n.key(), Msg: fmt.Sprintf(format, args...)})
}

// unknown reports a key the schema does not have, with a suggestion.
func (d *decoder) unknown(n *node, known []string, hint string) {
	last := n.path[len(n.path)-1]
	switch {
	case hint != "":
		d.fail(n, "unknown key: %s", hint)
	case suggest(last, known) != "":
		d.fail(n, "unknown key (did you mean %q?)", suggest(last, known))
	default:
		d.fail(n, "unknown key (known keys here: %s)", strings.Join(known, ", "))
	}
}

// config decodes every section of the merged tree root.
func (d *decoder) config(root *node) *Config {
	c := &Config{}
	secs := sections()
	names := make([]string, len(secs))
	for i, s := range secs {
		names[i] = s.name()
	}
	for _, n := range root.sortedKids() {
		name := n.path[0]
		switch {
		case slices.Contains(names, name):
			if n.kids == nil {
				d.fail(n, "must be a table, e.g. [%s]", name)
			}
		case strings.EqualFold(name, "default"):
			d.unknown(n, nil, "Fail2ban's [DEFAULT] section is [defaults] here")
		case n.kids != nil && suggest(name, names) == "":
			d.unknown(n, names, fmt.Sprintf("jails are tables under jails: write [jails.%s]", name))
		default:
			d.unknown(n, names, "")
		}
	}
	for _, s := range secs {
		t := root.kids[s.name()]
		if t != nil && t.kids == nil {
			t = nil // refused above
		}
		s.decode(d, t, c)
	}
	return c
}
