package audit

import (
	"context"
	"strings"
	"time"
)

func docsChecks() []Check {
	return []Check{
		{
			ID: "docs.incident-procedure", Area: AreaDocs, Severity: Medium,
			Title: "A written incident procedure exists and was reviewed this year", Reads: "[incident] procedure in the audit config: the file exists, is not empty, mtime within max_age (default 1 year)",
			Why:         "In an incident nobody remembers whom to call, what to preserve and how to isolate the host; a procedure written in calm times does.",
			Remediation: "write the procedure (contacts, isolation steps, evidence to keep) and declare [incident] procedure = \"/etc/rampart/incident.md\" in /etc/rampart/audit.toml",
			Run: func(ctx context.Context, e *Env) Result {
				p := e.Config.Incident.Procedure
				if p == "" {
					return warn("no incident procedure declared").fix("%s", e.Config.declareHint("[incident]\nprocedure = \"/etc/rampart/incident.md\"\nmax_age = \"8760h\""))
				}
				fi, err := e.Stat(p)
				if err != nil {
					if notExist(err) {
						return fail("%s does not exist", p)
					}
					return e.readErr(err)
				}
				if fi.Size() == 0 {
					return fail("%s is empty", p)
				}
				max := e.Config.Incident.MaxAge.Duration
				if max == 0 {
					max = 365 * 24 * time.Hour
				}
				if a := e.Now.Sub(fi.ModTime()); a > max {
					return fail("%s last changed %s ago (max_age %s)", p, age(a), age(max))
				}
				return pass("%s, %d bytes, changed %s ago", p, fi.Size(), age(e.Now.Sub(fi.ModTime())))
			},
		},
		{
			ID: "docs.owner", Area: AreaDocs, Severity: Low,
			Title: "The host's owner is declared", Reads: "owner in the audit config",
			Why:         "Findings and alerts need someone to go to.",
			Remediation: "declare owner = \"team@example.org\" in /etc/rampart/audit.toml",
			Run: func(ctx context.Context, e *Env) Result {
				if e.Config.Owner == "" {
					return warn("no owner declared").fix("%s", e.Config.declareHint("owner = \"ops@example.org\""))
				}
				return pass("owner %s", e.Config.Owner)
			},
		},
		{
			ID: "docs.intended-ports", Area: AreaDocs, Severity: Low,
			Title: "The intended listening ports are written down", Reads: "intended_ports in the audit config",
			Why:         "The list of what should be reachable is the reference firewall.listening-intended compares against.",
			Remediation: "declare intended_ports = [\"22/tcp\"] in /etc/rampart/audit.toml",
			Run: func(ctx context.Context, e *Env) Result {
				if len(e.Config.IntendedPorts) == 0 {
					return warn("no intended_ports declared").fix("%s", e.Config.declareHint("intended_ports = [\"22/tcp\"]"))
				}
				return pass("intended ports: %s", strings.Join(e.Config.IntendedPorts, ", "))
			},
		},
		{
			ID: "docs.login-banner", Area: AreaDocs, Severity: Low,
			Title: "A login banner states the terms of use", Reads: "/etc/issue.net and /etc/issue (non-empty, not the distribution default)",
			Why:         "A warning banner is what some jurisdictions require before unauthorised access can be prosecuted.",
			Remediation: "echo 'Authorised use only. Activity is logged.' > /etc/issue.net && echo 'Banner /etc/issue.net' > /etc/ssh/sshd_config.d/60-banner.conf && systemctl reload ssh",
			Run: func(ctx context.Context, e *Env) Result {
				for _, f := range []string{"/etc/issue.net", "/etc/issue"} {
					b, err := e.ReadFile(f)
					if err != nil {
						if notExist(err) {
							continue
						}
						return e.readErr(err)
					}
					s := strings.TrimSpace(string(b))
					if s == "" || strings.HasPrefix(s, "Debian GNU/Linux") || strings.HasPrefix(s, "Ubuntu") {
						continue
					}
					return pass("%s: %s", f, trunc(firstLine(s), 80))
				}
				return fail("/etc/issue.net and /etc/issue are missing, empty or the distribution default")
			},
		},
		{
			ID: "docs.banner-no-os-info", Area: AreaDocs, Severity: Low,
			Title: "Login banners do not reveal the OS version", Reads: "/etc/issue, /etc/issue.net, /etc/motd: getty escapes \\r \\s \\v \\m and distribution names",
			Why:         "The OS and kernel version tell an attacker which exploits to try.",
			Remediation: "remove \\r \\s \\v \\m and the distribution name from /etc/issue, /etc/issue.net and /etc/motd",
			Run: func(ctx context.Context, e *Env) Result {
				var bad []string
				for _, f := range []string{"/etc/issue", "/etc/issue.net", "/etc/motd"} {
					b, err := e.ReadFile(f)
					if err != nil {
						if notExist(err) {
							continue
						}
						return e.readErr(err)
					}
					s := string(b)
					for _, w := range []string{`\r`, `\s`, `\v`, `\m`, "Debian", "Ubuntu", "GNU/Linux"} {
						if strings.Contains(s, w) {
							bad = append(bad, f+" has "+w)
							break
						}
					}
				}
				if len(bad) > 0 {
					return fail("%s", strings.Join(bad, "; "))
				}
				return pass("no OS details in /etc/issue, /etc/issue.net, /etc/motd")
			},
		},
	}
}
