package cli

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/rampart-ids/rampart/internal/config"
	"github.com/spf13/cobra"
)

func newConfigCmd(g *globals) *cobra.Command {
	var path, f2bDir string
	c := &cobra.Command{
		Use:   "config",
		Short: "Check or show the configuration",
		Long: `The configuration is ` + config.DefaultPath + ` (or --config) and the
*.toml drop-ins in the rampart.d directory beside it, layered over rampart's
built-in defaults; with --fail2ban DIR, the jails of a Fail2ban configuration
directory instead, as 'rampart run --fail2ban DIR' reads them. See
docs/CONFIG.md.`,
	}
	c.PersistentFlags().StringVar(&path, "config", config.DefaultPath, "main configuration file")
	c.PersistentFlags().StringVar(&f2bDir, "fail2ban", "", "check a Fail2ban configuration directory (e.g. /etc/fail2ban) as 'rampart run --fail2ban' would run it")
	// load reads exactly what `rampart run` with the same flags would.
	load := func(cmd *cobra.Command) (*config.Config, error) {
		cfg, notes, err := loadConfig(path, f2bDir, cmd.Flags().Changed("config"))
		for _, n := range notes {
			fmt.Fprintf(g.stderr, "not carried over: %s\n", n)
		}
		return cfg, err
	}
	check := &cobra.Command{
		Use:   "check",
		Short: "Check the configuration and print every problem with its file, line and key",
		Long: `Load the configuration as 'rampart run' would and print every error
(file:line: key: what to do) and warning. Exit status 0 when it is valid,
2 when it has errors.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := load(cmd)
			if err != nil {
				return configErrors(g, err)
			}
			for _, w := range cfg.Warnings {
				fmt.Fprintf(g.stderr, "warning: %s\n", w)
			}
			var names []string
			for _, j := range cfg.Enabled() {
				names = append(names, j.Name)
			}
			fmt.Fprintf(g.stdout, "OK: %d jail(s) enabled (%s); read %s\n", len(names), orNone(strings.Join(names, ", ")), strings.Join(cfg.Files, ", "))
			for _, j := range cfg.Enabled() {
				fmt.Fprintf(g.stdout, "  %s reads %s\n", j.Name, describeSource(&j))
			}
			return nil
		},
	}
	var asJSON bool
	show := &cobra.Command{
		Use:   "show",
		Short: "Print the effective configuration (defaults and drop-ins applied)",
		Long: `Print the configuration rampart would run with, after the built-in defaults,
the main file and the drop-ins: as TOML that rampart can load again, or with
--json as JSON with the same key names.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := load(cmd)
			if err != nil {
				return configErrors(g, err)
			}
			out, err := cfg.TOML()
			if asJSON {
				out, err = cfg.JSON()
			}
			if err != nil {
				return failErr(err)
			}
			_, err = g.stdout.Write(out)
			return err
		},
	}
	show.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of TOML")
	c.AddCommand(check, show)
	return c
}

// configErrors prints every configuration error on its own line and ends
// with exit status 2.
func configErrors(g *globals, err error) error {
	var es config.Errors
	if !errors.As(err, &es) {
		return usageErr(err)
	}
	for _, e := range es {
		fmt.Fprintln(g.stderr, e)
	}
	fmt.Fprintf(g.stderr, "rampart: the configuration has %d error(s)\n", len(es))
	return silentExit(ExitUsage)
}

// describeSource says where a jail will read its log lines, and why the
// journal when backend auto found none of its files.
func describeSource(j *config.Jail) string {
	src := j.Source(filepath.Glob)
	if !src.Journal {
		how := ""
		if src.Polling {
			how = " (polling)"
		}
		return strings.Join(src.Files, ", ") + how
	}
	out := "the journal"
	if len(src.JournalMatch) > 0 {
		out += " (" + strings.Join(src.JournalMatch, " ") + ")"
	}
	if j.Backend == config.BackendAuto && len(j.LogPath) > 0 {
		out += "; no file matches " + strings.Join(j.LogPath, ", ")
	}
	return out
}
