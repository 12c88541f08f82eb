package config

import (
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/rampart-ids/rampart/internal/jail"
)

// defaultsSection is [defaults]: jail keys that apply to every jail
// (Fail2ban's [DEFAULT]).
type defaultsSection struct{}

func (defaultsSection) name() string { return "defaults" }

func (defaultsSection) decode(d *decoder, t *node, _ *Config) {
	base := jailDefaults()
	if t != nil {
		decodeTable(d, t, jailKeys(), &base, fail2banHint)
	}
	d.jailBase, d.defaultsTable = &base, t
}

// show leaves [defaults] out: its values show in every jail.
func (defaultsSection) show(*Config) any { return nil }

// jailsSection is [jails]: one [jails.NAME] table per jail.
type jailsSection struct{}

func (jailsSection) name() string { return "jails" }

func (jailsSection) decode(d *decoder, t *node, c *Config) {
	base := d.jailBase
	if base == nil {
		b := jailDefaults()
		base = &b
	}
	if t != nil {
		for _, n := range t.sortedKids() {
			c.Jails = append(c.Jails, d.jail(n, *base))
		}
	}
	slices.SortFunc(c.Jails, func(a, b Jail) int { return strings.Compare(a.Name, b.Name) })
}

func (jailsSection) show(c *Config) any {
	out := make(map[string]any, len(c.Jails))
	for i := range c.Jails {
		out[c.Jails[i].Name] = showTable(jailKeys(), &c.Jails[i])
	}
	return out
}

// jailDefaults holds the values a jail has when neither [defaults] nor its
// own table sets a key: the declared defaults, which are Fail2ban's
// jail.conf defaults.
func jailDefaults() Jail {
	j := defaults(jailKeys())
	j.Increment = defaults(incrementKeys())
	return j
}

var jailNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,47}$`)

// jail decodes one [jails.NAME] table over base and checks the result.
func (d *decoder) jail(t *node, base Jail) Jail {
	j := base
	j.Name = t.path[len(t.path)-1]
	j.Protocols = slices.Clone(base.Protocols)
	j.LogPath = slices.Clone(base.LogPath)
	j.JournalMatch = slices.Clone(base.JournalMatch)
	j.Ports = slices.Clone(base.Ports)
	j.IgnoreIP = slices.Clone(base.IgnoreIP)
	j.IgnoreNames = slices.Clone(base.IgnoreNames)
	j.Increment.Multipliers = slices.Clone(base.Increment.Multipliers)
	j.FilterOptions = maps.Clone(base.FilterOptions)
	if !jailNameRE.MatchString(j.Name) {
		d.fail(t, "jail name %q must be 1-48 letters, digits, '_', '.' or '-', starting with a letter or digit", j.Name)
	}
	if j.Name == ManualJail {
		d.fail(t, "the jail name %q is reserved for bans made with `rampart ban`; choose another name", j.Name)
	}
	if t.kids == nil {
		d.fail(t, "must be a table: [jails.%s]", j.Name)
		return j
	}
	decodeTable(d, t, jailKeys(), &j, fail2banHint)
	if j.Filter == "" {
		j.Filter = j.Name // Fail2ban: filter = %(__name__)s
	}
	if !j.Enabled {
		return j
	}
	d.checkJail(&j, t)
	return j
}

// checkJail checks what only makes sense for an enabled jail: a log source,
// the filter, and log files on disk.
func (d *decoder) checkJail(j *Jail, t *node) {
	at := func(key string) *node {
		if n, ok := t.kids[key]; ok {
			return n
		}
		if d.defaultsTable != nil {
			if n, ok := d.defaultsTable.kids[key]; ok {
				return n
			}
		}
		return t
	}
	if j.Backend != BackendJournal && len(j.LogPath) == 0 && (j.Backend != BackendAuto || len(j.JournalMatch) == 0) &&
		!d.failed(at("logpath")) {
		d.fail(at("logpath"), "jail %q has no logpath (set logpath = [\"/var/log/...\"], or backend = \"journal\" with a journalmatch)", j.Name)
	}
	if j.Increment.Enabled && !d.failed(at("increment")) {
		// The jail package owns the growth formula; let it judge.
		inc := j.Increment
		if _, err := jail.New(jail.Config{
			Name: j.Name, MaxRetry: j.MaxRetry, FindTime: j.FindTime, BanTime: j.BanTime,
			IPv4Prefix: j.IPv4Prefix, IPv6Prefix: j.IPv6Prefix, MaxTracked: j.MaxTracked,
			Increment: &jail.Increment{Factor: inc.Factor, Formula: inc.Formula, Multipliers: inc.Multipliers,
				MaxTime: inc.MaxTime, RndTime: inc.RndTime, OverallJails: inc.OverallJails},
		}); err != nil {
			n := at("increment")
			if f, ok := n.kids["formula"]; ok {
				n = f
			}
			d.fail(n, "%v (see docs/CONFIG.md)", err)
		}
	}
	if d.opt.FilterExists != nil && j.Filter != "" && !d.opt.FilterExists(j.Filter) {
		d.fail(at("filter"), "unknown filter %q (see `rampart filter list`, or give the path of a filter file)", j.Filter)
	}
	if d.opt.SkipFileChecks || j.Backend == BackendJournal {
		return
	}
	found := false
	type miss struct{ pattern, dir string }
	var misses []miss
	for _, p := range j.LogPath {
		m, err := d.opt.Glob(p)
		if err == nil && len(m) > 0 {
			found = true
			continue
		}
		dir := globDir(p)
		if _, err := d.opt.Stat(dir); err != nil {
			// Not even the directory: a typo or a service not installed.
			misses = append(misses, miss{p, dir})
			continue
		}
		misses = append(misses, miss{p, ""})
	}
	if !found && j.Backend == BackendAuto && len(j.JournalMatch) > 0 {
		return // auto falls back to the journal
	}
	for _, m := range misses {
		n := at("logpath")
		if m.dir != "" {
			d.fail(n, "no file matches %q and directory %s does not exist (fix the path, install the service, or set enabled = false)", m.pattern, m.dir)
		} else {
			d.warn(n, "no file matches %q yet; rampart watches for it to appear", m.pattern)
		}
	}
}

// globDir returns the directory part of a glob before its first wildcard.
func globDir(p string) string {
	if i := strings.IndexAny(p, "*?[\\"); i >= 0 {
		p = p[:i]
		if j := strings.LastIndexByte(p, '/'); j >= 0 {
			return max(p[:j], "/")
		}
		return "/"
	}
	if j := strings.LastIndexByte(p, '/'); j > 0 {
		return p[:j]
	}
	return "/"
}
