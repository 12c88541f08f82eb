package hostwatch

import (
	"context"
	"path"
	"strings"
)

// unitDirs are where systemd reads units from.
var unitDirs = []string{"/etc/systemd/system", "/run/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system",
	"/etc/systemd/user", "/usr/lib/systemd/user", "/usr/local/lib/systemd/system"}

var unitSuffixes = []string{".service", ".socket", ".timer", ".path", ".mount", ".automount", ".target", ".conf"}

// unitsCollector: systemd units and drop-ins (content hash, or a symlink's
// target: enabling a unit links it into a .wants directory).
func unitsCollector() Collector {
	return Collector{
		Name: "systemd-units",
		Doc:  "systemd units, timers and drop-ins (and their .wants links) in the system and user unit directories",
		Collect: func(_ context.Context, env Env) ([]Item, error) {
			return hashItems(env, unitDirs, func(name string) bool {
				for _, s := range unitSuffixes {
					if strings.HasSuffix(name, s) {
						return true
					}
				}
				return false
			}), nil
		},
		Severity: func(c Change) string {
			switch {
			case c.Kind == Removed:
				return "low"
			case strings.HasSuffix(c.Key, ".timer") || strings.HasSuffix(c.Key, ".service") || strings.HasSuffix(c.Key, ".path"):
				return "high"
			}
			return "medium"
		},
	}
}

// cronCollector: crontab lines (system crontab, /etc/cron.d, the users'
// spool) as items of their own, and the scripts of cron.hourly…monthly by
// content hash.
func cronCollector() Collector {
	return Collector{
		Name: "cron",
		Doc:  "cron jobs: lines of /etc/crontab, /etc/cron.d/* and users' crontabs; scripts in /etc/cron.{hourly,daily,weekly,monthly}",
		Collect: func(_ context.Context, env Env) ([]Item, error) {
			files := append([]string{"/etc/crontab"}, env.glob("/etc/cron.d/*", "/var/spool/cron/crontabs/*", "/var/spool/cron/*")...)
			var tabs []string
			for _, f := range files {
				if v, ok := fileState(env.path(f)); ok && strings.HasPrefix(v, "sha256:") && path.Base(f) != "crontabs" {
					tabs = append(tabs, f)
				}
			}
			out, err := lineItems(env, tabs, hashComment)
			if err != nil {
				return nil, err
			}
			return append(out, hashItems(env, []string{"/etc/cron.hourly", "/etc/cron.daily", "/etc/cron.weekly", "/etc/cron.monthly"},
				func(n string) bool { return n != ".placeholder" })...), nil
		},
		Severity: func(c Change) string {
			if c.Kind == Removed {
				return "low"
			}
			return "high"
		},
	}
}
