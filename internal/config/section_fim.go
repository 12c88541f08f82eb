package config

import (
	"path"
	"path/filepath"
	"strings"
	"time"
)

// FIM is the [fim] table: file integrity monitoring (docs/FIM.md).
type FIM struct {
	// Enabled runs the scheduled full checks and the realtime watcher in the daemon.
	Enabled bool
	// Paths are the absolute trees recorded in the baseline; shell patterns
	// allowed (/home/*/.ssh).
	Paths []string
	// Exclude are patterns: with a slash, a whole path; without, a base name.
	Exclude []string
	// Realtime are the paths watched with inotify.
	Realtime []string
	// Schedule is the time between full re-checks.
	Schedule time.Duration
	// Baseline is the baseline file.
	Baseline string
}

// fimSection is [fim]: file integrity.
type fimSection struct{}

func (fimSection) name() string { return "fim" }

func (fimSection) decode(d *decoder, t *node, c *Config) {
	c.FIM = defaults(fimKeys())
	if t != nil {
		decodeTable(d, t, fimKeys(), &c.FIM, nil)
	}
}

func (fimSection) show(c *Config) any { return showTable(fimKeys(), &c.FIM) }

// fimPaths reads a list of absolute paths, each may be a shell pattern.
func (d *decoder) fimPaths(n *node) ([]string, bool) {
	list, ok := d.list(n, false)
	if !ok {
		return nil, false
	}
	for i, p := range list {
		if !strings.HasPrefix(p, "/") {
			d.fail(n, "%q must be an absolute path (write /%s)", p, p)
			return nil, false
		}
		if _, err := filepath.Match(p, ""); err != nil {
			d.fail(n, "%q: bad pattern: %v", p, err)
			return nil, false
		}
		list[i] = filepath.Clean(p)
	}
	return list, true
}

// fimKeys declares the keys of [fim].
func fimKeys() []key[FIM] {
	return []key[FIM]{
		{
			name: "enabled", typ: "boolean", def: false,
			doc:    "run fim in the daemon: the full re-check every `schedule` and the `realtime` watcher, publishing `integrity-change` events (the `rampart fim` commands run either way)",
			decode: func(d *decoder, n *node, v *FIM) { v.Enabled, _ = d.boolean(n) },
			show:   func(v *FIM) any { return v.Enabled },
		},
		{
			name: "paths", typ: "paths",
			def: []any{"/etc", "/usr/bin", "/usr/sbin", "/usr/lib/systemd", "/root/.ssh", "/home/*/.ssh"},
			doc: "absolute trees recorded in the baseline; shell patterns allowed (`/home/*/.ssh`), expanded at each run",
			decode: func(d *decoder, n *node, v *FIM) {
				var ok bool
				if v.Paths, ok = d.fimPaths(n); ok && len(v.Paths) == 0 {
					d.fail(n, "empty: name at least one directory or file")
				}
			},
			show: func(v *FIM) any { return v.Paths },
		},
		{
			name: "exclude", typ: "patterns", def: []any{"/etc/mtab", "*.swp"},
			doc: "skipped paths: a pattern with a slash matches the whole path (and a directory's subtree), one without matches the base name at any depth",
			decode: func(d *decoder, n *node, v *FIM) {
				list, ok := d.list(n, false)
				if !ok {
					return
				}
				for _, p := range list {
					if _, err := path.Match(p, ""); err != nil {
						d.fail(n, "%q: bad pattern: %v", p, err)
						return
					}
				}
				v.Exclude = list
			},
			show: func(v *FIM) any { return v.Exclude },
		},
		{
			name: "realtime", typ: "paths",
			def:    []any{"/etc/passwd", "/etc/shadow", "/etc/sudoers", "/etc/sudoers.d", "/etc/ssh", "/root/.ssh"},
			doc:    "paths watched (inotify; fanotify names the process when the daemon has CAP_SYS_ADMIN); a change is reported within a second",
			decode: func(d *decoder, n *node, v *FIM) { v.Realtime, _ = d.fimPaths(n) },
			show:   func(v *FIM) any { return v.Realtime },
		},
		{
			name: "schedule", typ: "duration", def: "1h",
			doc: "time between full re-checks (at least `1m`)",
			decode: func(d *decoder, n *node, v *FIM) {
				t, ok := d.duration(n)
				if !ok {
					return
				}
				if t == Permanent || t < time.Minute {
					d.fail(n, "must be at least 1m")
					return
				}
				v.Schedule = t
			},
			show: func(v *FIM) any { return FormatDuration(v.Schedule) },
		},
		{
			name: "baseline", typ: "path", def: "/var/lib/rampart/fim.baseline",
			doc:    "absolute path of the baseline file (mode 0600, checksummed; see docs/FIM.md)",
			decode: func(d *decoder, n *node, v *FIM) { v.Baseline, _ = d.absPath(n) },
			show:   func(v *FIM) any { return v.Baseline },
		},
	}
}
