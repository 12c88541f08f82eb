package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"github.com/rampart-ids/rampart/internal/config"
	"github.com/rampart-ids/rampart/internal/fim"
	"github.com/rampart-ids/rampart/internal/hostwatch"
)

// hostFlags are the flags of the host subcommands.
type hostFlags struct {
	config, root, baseline string
	asJSON                 bool
}

func (f *hostFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.config, "config", "", "read the [host] section of `FILE` (default "+config.DefaultPath+" if present, and its rampart.d)")
	fl.StringVar(&f.root, "root", "", "read the host under `DIR` (a mounted image or a fixture): every path is taken under it")
	fl.StringVar(&f.baseline, "baseline", "", "host baseline `FILE` (default: host.baseline of the config, "+hostwatch.DefaultBaselinePath+")")
	fl.BoolVar(&f.asJSON, "json", false, "print one JSON object per line")
}

// setup reads the config and returns the environment, the collectors
// (names given on the command line, else host.collectors) and the baseline file.
func (f *hostFlags) setup(names []string) (hostwatch.Env, []hostwatch.Collector, string, error) {
	opt := config.Options{SkipFileChecks: true}
	file := f.config
	if file == "" {
		file, opt.MissingOK = config.DefaultPath, true
	}
	c, err := config.LoadWith(file, opt)
	if err != nil {
		return hostwatch.Env{}, nil, "", usageErr(err)
	}
	if len(names) == 0 {
		names = c.Host.HostCollectors()
	}
	cs, err := hostwatch.Select(names)
	if err != nil {
		return hostwatch.Env{}, nil, "", usageErr(err)
	}
	root, err := hostRoot(f.root)
	if err != nil {
		return hostwatch.Env{}, nil, "", usageErr(err)
	}
	env := hostwatch.Env{Root: root, SUIDPaths: c.Host.SUIDPaths, ConfigFiles: c.Files[1:]}
	if root != "" {
		// Another root's configuration is its own.
		env.ConfigFiles = []string{"/etc/rampart/rampart.toml", "/etc/rampart/rampart.d/*.toml"}
	}
	bl := c.Host.Baseline
	if f.baseline != "" {
		bl = f.baseline
	}
	return env, cs, bl, nil
}

func newHostCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "host",
		Short: "Host changes: new SUID files, accounts, sudoers rules, keys, sockets, units, cron jobs, modules",
		Long: `rampart host runs small collectors of host state — SUID/SGID files and file
capabilities, accounts, groups, password states, sudoers rules, SSH
authorized keys, listening sockets, systemd units, cron jobs, kernel
modules, sshd and PAM configuration, rampart's own configuration — and
compares what they see with a baseline in the state directory.

Exit status: 0 no change, 1 changes (or a collector that could not read),
2 bad usage or input (including a truncated or tampered baseline).`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newHostCheckCmd(g), newHostAcceptCmd(g), newHostCollectorsCmd(g))
	return cmd
}

func newHostCheckCmd(g *globals) *cobra.Command {
	var f hostFlags
	cmd := &cobra.Command{
		Use:   "check [COLLECTOR...]",
		Short: "Run the collectors and list what changed since the baseline",
		RunE: func(cmd *cobra.Command, args []string) error {
			env, cs, file, err := f.setup(args)
			if err != nil {
				return err
			}
			b, err := hostwatch.Load(file)
			if err != nil {
				return usageErr(err)
			}
			rep, err := hostwatch.Check(cmd.Context(), env, cs, b)
			if err != nil {
				return usageErr(err)
			}
			if err := printHostReport(g, f.asJSON, rep); err != nil {
				return err
			}
			if !f.asJSON {
				fmt.Fprintf(g.stdout, "%d changes in %d items from %d collectors\n", len(rep.Changes), rep.Items, len(cs))
			}
			switch {
			case len(rep.Changes) > 0:
				return silentExit(ExitFail)
			case len(rep.Errors) > 0 || len(rep.Missing) > 0:
				return failErr(fmt.Errorf("host check: incomplete (collectors that could not read, or have no baseline; above)"))
			}
			return nil
		},
	}
	f.register(cmd)
	return cmd
}

func newHostAcceptCmd(g *globals) *cobra.Command {
	var f hostFlags
	cmd := &cobra.Command{
		Use:   "accept [COLLECTOR...]",
		Short: "Take what the collectors see now as the baseline (all, or those named)",
		Long: `rampart host accept runs the collectors (those named, or host.collectors)
and takes what they see as their baseline, creating the baseline file if
there is none. It prints the changes it accepted and records who ran it
and when.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			env, cs, file, err := f.setup(args)
			if err != nil {
				return err
			}
			b, err := hostwatch.Load(file)
			if err != nil && !isNotExist(err) {
				return usageErr(err)
			}
			nb, rep, err := hostwatch.Accept(cmd.Context(), env, cs, b, fim.Invoker(), time.Now())
			if err != nil {
				return usageErr(err)
			}
			if err := nb.Save(file); err != nil {
				return err
			}
			rep.Missing = nil // taken now
			if err := printHostReport(g, f.asJSON, rep); err != nil {
				return err
			}
			if !f.asJSON {
				fmt.Fprintf(g.stdout, "host baseline %s written: %d items from %d collectors, %d changes accepted\n", file, rep.Items, len(cs)-len(rep.Errors), len(rep.Changes))
			}
			if len(rep.Errors) > 0 {
				return failErr(fmt.Errorf("host accept: %d collectors could not read and kept their old state", len(rep.Errors)))
			}
			return nil
		},
	}
	f.register(cmd)
	return cmd
}

func newHostCollectorsCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "collectors",
		Short: "List the host collectors and what each watches",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, c := range hostwatch.Collectors() {
				if asJSON {
					if err := json.NewEncoder(g.stdout).Encode(map[string]string{"name": c.Name, "doc": c.Doc}); err != nil {
						return err
					}
					continue
				}
				fmt.Fprintf(g.stdout, "%-16s %s\n", c.Name, c.Doc)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per line")
	return cmd
}

// printHostReport prints the changes, then the collectors that failed or
// have no baseline (on stderr, or as JSON objects with an "error").
func printHostReport(g *globals, asJSON bool, rep *hostwatch.Report) error {
	enc := json.NewEncoder(g.stdout)
	for _, c := range rep.Changes {
		if asJSON {
			if err := enc.Encode(c); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintln(g.stdout, c)
	}
	names := make([]string, 0, len(rep.Errors))
	for n := range rep.Errors {
		names = append(names, n)
	}
	sort.Strings(names)
	var w io.Writer = g.stderr
	for _, n := range names {
		if asJSON {
			enc.Encode(map[string]string{"collector": n, "error": rep.Errors[n].Error()})
			continue
		}
		fmt.Fprintf(w, "rampart: host: %s: %v\n", n, rep.Errors[n])
	}
	for _, n := range rep.Missing {
		if asJSON {
			enc.Encode(map[string]string{"collector": n, "error": "no baseline for this collector; run 'rampart host accept " + n + "'"})
			continue
		}
		fmt.Fprintf(w, "rampart: host: %s: no baseline for this collector; run 'rampart host accept %s'\n", n, n)
	}
	return nil
}

func isNotExist(err error) bool { return errors.Is(err, os.ErrNotExist) }

// hostRoot cleans --root: "" for this host, else an absolute directory.
func hostRoot(root string) (string, error) {
	if root == "" || root == "/" {
		return "", nil
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return "", fmt.Errorf("--root %s: %w", root, err)
	}
	if fi, err := os.Stat(abs); err != nil {
		return "", fmt.Errorf("--root: %w", err)
	} else if !fi.IsDir() {
		return "", fmt.Errorf("--root %s: not a directory", root)
	}
	if abs == "/" {
		return "", nil
	}
	return abs, nil
}
