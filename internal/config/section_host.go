package config

import (
	"slices"
	"strings"
	"time"

	"github.com/rampart-ids/rampart/internal/hostwatch"
)

// Host is the [host] table: host-change collectors (docs/FIM.md).
type Host struct {
	// Enabled runs the collectors every Interval in the daemon.
	Enabled bool
	// Interval is the time between two runs.
	Interval time.Duration
	// Collectors are the collectors run ("all" for every one).
	Collectors []string
	// SUIDPaths are the trees the suid collector walks.
	SUIDPaths []string
	// Baseline is the host baseline file.
	Baseline string
}

// hostSection is [host]: host-change collectors.
type hostSection struct{}

func (hostSection) name() string { return "host" }

func (hostSection) decode(d *decoder, t *node, c *Config) {
	c.Host = defaults(hostKeys())
	if t != nil {
		decodeTable(d, t, hostKeys(), &c.Host, nil)
	}
}

func (hostSection) show(c *Config) any { return showTable(hostKeys(), &c.Host) }

// hostKeys declares the keys of [host].
func hostKeys() []key[Host] {
	return []key[Host]{
		{
			name: "enabled", typ: "boolean", def: false,
			doc:    "run the host-change collectors in the daemon every `interval`, publishing `host-change` events (`rampart host check` runs either way)",
			decode: func(d *decoder, n *node, v *Host) { v.Enabled, _ = d.boolean(n) },
			show:   func(v *Host) any { return v.Enabled },
		},
		{
			name: "interval", typ: "duration", def: "5m",
			doc: "time between two runs of the collectors (at least `1s`)",
			decode: func(d *decoder, n *node, v *Host) {
				t, ok := d.duration(n)
				if !ok {
					return
				}
				if t == Permanent || t < time.Second {
					d.fail(n, "must be at least 1s")
					return
				}
				v.Interval = t
			},
			show: func(v *Host) any { return FormatDuration(v.Interval) },
		},
		{
			name: "collectors", typ: "names", def: []any{"all"},
			doc: "the collectors to run: `all`, or names among " + "`" + strings.Join(hostwatch.Names(), "`, `") + "`",
			decode: func(d *decoder, n *node, v *Host) {
				list, ok := d.list(n, false)
				if !ok {
					return
				}
				for _, c := range list {
					if c != "all" && !slices.Contains(hostwatch.Names(), c) {
						d.fail(n, "unknown collector %q (use all, or some of: %s)", c, strings.Join(hostwatch.Names(), ", "))
						return
					}
				}
				if len(list) == 0 {
					d.fail(n, "empty: write [\"all\"] or name collectors; set enabled = false to run none")
					return
				}
				v.Collectors = list
			},
			show: func(v *Host) any { return v.Collectors },
		},
		{
			name: "suid_paths", typ: "paths", def: []any{"/usr", "/bin", "/sbin", "/opt", "/srv", "/home", "/root", "/tmp", "/var/tmp", "/dev/shm"},
			doc: "trees the `suid` collector walks for SUID/SGID files and file capabilities",
			decode: func(d *decoder, n *node, v *Host) {
				var ok bool
				if v.SUIDPaths, ok = d.fimPaths(n); ok && len(v.SUIDPaths) == 0 {
					d.fail(n, "empty: name at least one directory")
				}
			},
			show: func(v *Host) any { return v.SUIDPaths },
		},
		{
			name: "baseline", typ: "path", def: "/var/lib/rampart/host.baseline",
			doc:    "absolute path of the host baseline (mode 0600, checksummed)",
			decode: func(d *decoder, n *node, v *Host) { v.Baseline, _ = d.absPath(n) },
			show:   func(v *Host) any { return v.Baseline },
		},
	}
}

// HostCollectors returns the collector names to run ("all" expanded).
func (h Host) HostCollectors() []string {
	if slices.Contains(h.Collectors, "all") {
		return nil
	}
	return h.Collectors
}
