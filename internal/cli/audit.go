package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/rampart-ids/rampart/internal/audit"
)

func newAuditCmd(g *globals) *cobra.Command {
	var (
		format, failOn, root, config, explain, only string
		rampartSock, f2bSock                        string
		timeout                                     time.Duration
		list, asJSON                                bool
	)
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Check that each defence layer is in force: firewall, SSH, bans, IDS, auditd, updates, logging, users, backups, docs",
		Long: `rampart audit reads what is in force on this host (the effective sshd
configuration and a live SSH probe, the live nftables ruleset, the running
ban engine and daemons, pending security updates) and reports a hardening
score, a summary per area and each finding with its evidence and a
remediation to paste.

With --root DIR it audits a mounted image or container filesystem offline:
checks read files under DIR, and checks that need the live system skip.

Facts only the admin knows (intended ports, backup marker, incident
procedure) come from --config (default /etc/rampart/audit.toml).

Exit status: 0 no failed check at or above --fail-on, 1 at least one,
2 the audit could not run.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			checks := audit.Checks()
			if explain != "" {
				c, ok := audit.Lookup(checks, explain)
				if !ok {
					return usageErr(fmt.Errorf("audit: unknown check %q (rampart audit --list shows them)", explain))
				}
				return audit.Explain(g.stdout, c)
			}
			if asJSON {
				if cmd.Flags().Changed("format") && format != "json" {
					return usageErr(fmt.Errorf("audit: --json and --format %s disagree; give one", format))
				}
				format = "json"
			}
			if list {
				if asJSON {
					type entry struct {
						ID       string `json:"id"`
						Area     string `json:"area"`
						Severity string `json:"severity"`
						Title    string `json:"title"`
					}
					out := make([]entry, 0, len(checks))
					for _, c := range checks {
						out = append(out, entry{c.ID, string(c.Area), c.Severity.String(), c.Title})
					}
					return printJSON(g.stdout, out)
				}
				for _, c := range checks {
					fmt.Fprintf(g.stdout, "%-34s %-7s %s\n", c.ID, c.Severity, c.Title)
				}
				return nil
			}
			f, err := audit.ParseFormat(format)
			if err != nil {
				return usageErr(err)
			}
			min, err := audit.ParseSeverity(failOn)
			if err != nil {
				return usageErr(fmt.Errorf("--fail-on: %w", err))
			}
			if only != "" {
				checks, err = selectChecks(checks, only)
				if err != nil {
					return usageErr(err)
				}
			}
			cfg, err := loadAuditConfig(cmd, config, root)
			if err != nil {
				return usageErr(err)
			}
			now := time.Now()
			var env *audit.Env
			if root != "" {
				fi, err := os.Stat(root)
				if err != nil {
					return usageErr(fmt.Errorf("--root: %w", err))
				}
				if !fi.IsDir() {
					return usageErr(fmt.Errorf("--root %s: not a directory", root))
				}
				env = audit.Offline(root, cfg, now)
			} else {
				env = audit.Live(cfg, now)
				env.RampartSocket = rampartSock
				env.Fail2banSocket = f2bSock
			}
			rep := audit.Run(cmd.Context(), env, checks, audit.Options{Timeout: timeout})
			if err := audit.Render(g.stdout, rep, f, f == audit.FormatText && isTerminal(g.stdout)); err != nil {
				return usageErr(fmt.Errorf("audit: writing report: %w", err))
			}
			if rep.Failed(min) {
				return silentExit(ExitFail)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&format, "format", "text", "output format: text, json, sarif or html")
	fl.BoolVar(&asJSON, "json", false, "same as --format json (with --list: the checks as JSON)")
	fl.StringVar(&failOn, "fail-on", "high", "exit 1 when a check of this severity or higher fails: high, medium or low")
	fl.StringVar(&root, "root", "", "audit the filesystem under `DIR` offline (a mounted image or container)")
	fl.StringVar(&config, "config", "", "audit config `FILE` with declared facts (default "+audit.DefaultConfigPath+" if present)")
	fl.StringVar(&explain, "explain", "", "print what check `ID` reads, why it matters and how to fix it")
	fl.StringVar(&only, "only", "", "run only these comma-separated check IDs or areas (e.g. ssh,firewall.ipv6)")
	fl.BoolVar(&list, "list", false, "list the checks and exit")
	fl.DurationVar(&timeout, "timeout", audit.DefaultTimeout, "time limit for each check")
	fl.StringVar(&rampartSock, "rampart-socket", "", "rampart daemon socket the brute-force checks ask (default: --socket)")
	fl.StringVar(&f2bSock, "fail2ban-socket", "/var/run/fail2ban/fail2ban.sock", "fail2ban-server socket the brute-force checks ask")
	cmd.PreRun = func(cmd *cobra.Command, args []string) {
		if rampartSock == "" {
			rampartSock = g.socket
		}
	}
	return cmd
}

// loadAuditConfig reads --config, or the default file when it exists (under
// --root, the image's own).
func loadAuditConfig(cmd *cobra.Command, path, root string) (audit.Config, error) {
	if path != "" {
		return audit.LoadConfig(path)
	}
	def := audit.DefaultConfigPath
	if root != "" {
		def = strings.TrimRight(root, "/") + def
	}
	if _, err := os.Stat(def); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return audit.Config{}, nil
		}
		return audit.Config{}, fmt.Errorf("audit config: %w", err)
	}
	return audit.LoadConfig(def)
}

// selectChecks keeps the checks named by ID or area in a comma list.
func selectChecks(all []audit.Check, spec string) ([]audit.Check, error) {
	want := map[string]bool{}
	for _, s := range strings.Split(spec, ",") {
		if s = strings.TrimSpace(s); s != "" {
			want[s] = true
		}
	}
	var out []audit.Check
	used := map[string]bool{}
	for _, c := range all {
		if want[c.ID] || want[string(c.Area)] {
			out = append(out, c)
			used[c.ID], used[string(c.Area)] = true, true
		}
	}
	var unknown []string
	for s := range want {
		if !used[s] {
			unknown = append(unknown, s)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("--only: unknown check or area %s", strings.Join(unknown, ", "))
	}
	return out, nil
}

// isTerminal reports whether w is a terminal (colour on) and NO_COLOR unset.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("NO_COLOR") != "" {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
