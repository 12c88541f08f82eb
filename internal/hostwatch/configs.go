package hostwatch

import (
	"context"
	"strings"
)

// sshdCollector: the directives of sshd_config and its drop-ins, one item
// per line, so a report names the line added or removed.
func sshdCollector() Collector {
	return Collector{
		Name: "sshd-config",
		Doc:  "directive lines of /etc/ssh/sshd_config and /etc/ssh/sshd_config.d/*",
		Collect: func(_ context.Context, env Env) ([]Item, error) {
			return lineItems(env, append([]string{"/etc/ssh/sshd_config"}, env.glob("/etc/ssh/sshd_config.d/*")...), hashComment)
		},
		Severity: func(c Change) string {
			l := strings.ToLower(c.Key)
			switch {
			case c.Kind == Removed:
				return "medium"
			case strings.Contains(l, "permitrootlogin yes"), strings.Contains(l, "permitemptypasswords yes"),
				strings.Contains(l, "authorizedkeysfile"), strings.Contains(l, "authorizedkeyscommand"):
				return "critical"
			}
			return "high"
		},
	}
}

// pamCollector: the lines of /etc/pam.conf and /etc/pam.d/*. pam_permit or
// pam_exec added to a stack is critical.
func pamCollector() Collector {
	return Collector{
		Name: "pam-config",
		Doc:  "lines of /etc/pam.conf and /etc/pam.d/*",
		Collect: func(_ context.Context, env Env) ([]Item, error) {
			return lineItems(env, append([]string{"/etc/pam.conf"}, env.glob("/etc/pam.d/*")...), hashComment)
		},
		Severity: func(c Change) string {
			switch {
			case c.Kind == Removed:
				return "high"
			case strings.Contains(c.Key, "pam_permit.so"), strings.Contains(c.Key, "pam_exec.so"):
				return "critical"
			}
			return "high"
		},
	}
}

// rampartConfigCollector: rampart's own configuration files, line by line.
func rampartConfigCollector() Collector {
	return Collector{
		Name: "rampart-config",
		Doc:  "lines of rampart's configuration (rampart.toml and rampart.d/*.toml)",
		Collect: func(_ context.Context, env Env) ([]Item, error) {
			return lineItems(env, env.glob(env.ConfigFiles...), hashComment)
		},
		Severity: func(Change) string { return "medium" },
	}
}
