package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/signal"
	"syscall"
	"time"

	"github.com/rampart-ids/rampart/internal/config"
	"github.com/rampart-ids/rampart/internal/policy"
	"github.com/spf13/cobra"
)

// firewallFlags are the flags the firewall subcommands share.
type firewallFlags struct {
	config string
	json   bool
}

func (f *firewallFlags) add(c *cobra.Command) {
	c.Flags().StringVar(&f.config, "config", "", "configuration `FILE` (default "+config.DefaultPath+" if present, and its rampart.d)")
	c.Flags().BoolVar(&f.json, "json", false, "print JSON")
}

// load reads the configuration and builds the baseline it asks for.
func (f *firewallFlags) load() (*config.Config, *policy.Policy, error) {
	opt := config.Options{SkipFileChecks: true}
	file := f.config
	if file == "" {
		file, opt.MissingOK = config.DefaultPath, true
	}
	c, err := config.LoadWith(file, opt)
	if err != nil {
		return nil, nil, usageErr(err)
	}
	return c, policy.Build(c.Baseline, policy.Env{UsesDHCP: policy.UsesDHCP("")}), nil
}

func newFirewallCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "firewall",
		Short: "The baseline policy: default-deny inbound that cannot lock you out",
		Long: `Manage rampart's baseline policy ([baseline] in the configuration): the
chain policy-input of table inet rampart, which drops inbound traffic the
baseline does not allow. 'plan' shows what 'apply' would change, 'apply'
changes it (refusing a baseline that would close sshd's port or your SSH
session's address), 'apply --confirm 60s' rolls back on its own unless
'confirm' runs in time. See docs/FIREWALL.md.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newFirewallPlanCmd(g), newFirewallShowCmd(g), newFirewallApplyCmd(g),
		newFirewallConfirmCmd(g), newFirewallRollbackCmd(g), newFirewallWatchCmd(g))
	return cmd
}

func newFirewallPlanCmd(g *globals) *cobra.Command {
	var f firewallFlags
	c := &cobra.Command{
		Use:   "plan",
		Short: "Show the difference between the kernel's baseline and the configuration's",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, p, err := f.load()
			if err != nil {
				return err
			}
			res, err := policy.Apply(cmd.Context(), p, policy.Options{DryRun: true, Session: true, StateDir: cfg.Daemon.StateDir})
			var gerr *policy.GuardError
			if err != nil && !errors.As(err, &gerr) {
				return failErr(err)
			}
			if pend, _ := policy.ReadPending(cfg.Daemon.StateDir); pend != nil {
				res.Plan.Pending = pend.Deadline.Format(time.RFC3339)
			}
			if f.json {
				return printJSON(g.stdout, res)
			}
			res.Plan.WriteText(g.stdout)
			for _, v := range res.Violations {
				fmt.Fprintf(g.stdout, "refused: %s\n", v.Msg)
			}
			return nil
		},
	}
	f.add(c)
	return c
}

func newFirewallShowCmd(g *globals) *cobra.Command {
	var f firewallFlags
	c := &cobra.Command{
		Use:   "show",
		Short: "Print the baseline the kernel enforces now",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := policy.Kernel{}.Read()
			if err != nil {
				return failErr(err)
			}
			if f.json {
				return printJSON(g.stdout, a)
			}
			writeActive(g.stdout, a)
			return nil
		},
	}
	c.Flags().BoolVar(&f.json, "json", false, "print JSON")
	return c
}

func writeActive(w io.Writer, a *policy.Active) {
	switch {
	case !a.Present:
		fmt.Fprintf(w, "no baseline: chain inet %s %s does not exist (inbound traffic is not filtered by rampart)\n", policy.TableName, policy.ChainName)
		return
	case a.Drop:
		fmt.Fprintf(w, "chain inet %s %s: hook input priority filter, policy drop\n", policy.TableName, policy.ChainName)
	default:
		fmt.Fprintf(w, "chain inet %s %s: hook input priority filter, policy accept (not enforcing)\n", policy.TableName, policy.ChainName)
	}
	for i, r := range a.Rules {
		fmt.Fprintf(w, "  %-60s packets %d\n", r.String(), a.Packets[i])
	}
	if a.Foreign > 0 {
		fmt.Fprintf(w, "  (%d rule(s) not made by rampart)\n", a.Foreign)
	}
}

func newFirewallApplyCmd(g *globals) *cobra.Command {
	var (
		f             firewallFlags
		confirm       time.Duration
		force, dryRun bool
	)
	c := &cobra.Command{
		Use:   "apply",
		Short: "Make the kernel enforce the configured baseline (one atomic change)",
		Long: `Apply [baseline] in one netlink transaction. A baseline that would close the
port sshd listens on, or keep the address of the SSH session running this
command from connecting again, is refused with the key to change; --force
applies it anyway. With --confirm D the change rolls back to the previous
policy after D unless 'rampart firewall confirm' runs first; a detached
process keeps the deadline, so the rollback happens even if this command,
its terminal or its SSH session dies.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, p, err := f.load()
			if err != nil {
				return err
			}
			res, err := policy.Apply(cmd.Context(), p, policy.Options{
				Confirm: confirm, Force: force, DryRun: dryRun, Session: true, StateDir: cfg.Daemon.StateDir,
			})
			if res != nil && res.Forced {
				for _, v := range res.Violations {
					fmt.Fprintf(g.stderr, "rampart: WARNING: --force overrides the lock-out guard: %s\n", v.Msg)
				}
			}
			if err != nil {
				return failErr(err)
			}
			if f.json {
				return printJSON(g.stdout, res)
			}
			res.Plan.WriteText(g.stdout)
			switch {
			case dryRun:
				fmt.Fprintln(g.stdout, "dry run: nothing changed")
			case res.Pending != nil:
				fmt.Fprintf(g.stdout, "applied; rolls back at %s (in %s) unless 'rampart firewall confirm' runs\n",
					res.Pending.Deadline.Local().Format(time.TimeOnly), confirm)
			default:
				fmt.Fprintln(g.stdout, "applied")
			}
			return nil
		},
	}
	f.add(c)
	c.Flags().DurationVar(&confirm, "confirm", 0, "roll back after `D` (e.g. 60s) unless 'rampart firewall confirm' runs")
	c.Flags().BoolVar(&force, "force", false, "apply even if the lock-out guard refuses (loudly)")
	c.Flags().BoolVar(&dryRun, "dry-run", false, "show the plan and run the guard; change nothing")
	return c
}

func stateDir(f *firewallFlags) (string, error) {
	cfg, _, err := f.load()
	if err != nil {
		return "", err
	}
	return cfg.Daemon.StateDir, nil
}

func newFirewallConfirmCmd(g *globals) *cobra.Command {
	var f firewallFlags
	c := &cobra.Command{
		Use:   "confirm",
		Short: "Keep the change of 'firewall apply --confirm'",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, err := stateDir(&f)
			if err != nil {
				return err
			}
			p, err := policy.Confirm(dir)
			if err != nil {
				return failErr(err)
			}
			if f.json {
				return printJSON(g.stdout, map[string]any{"confirmed": p != nil})
			}
			if p == nil {
				return failErr(errors.New("no change is waiting for confirmation (it may have rolled back already: see 'rampart firewall show')"))
			}
			fmt.Fprintln(g.stdout, "confirmed: the baseline stays")
			return nil
		},
	}
	f.add(c)
	return c
}

func newFirewallRollbackCmd(g *globals) *cobra.Command {
	var f firewallFlags
	c := &cobra.Command{
		Use:   "rollback",
		Short: "Undo the unconfirmed change of 'firewall apply --confirm' now",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, err := stateDir(&f)
			if err != nil {
				return err
			}
			p, err := policy.Rollback(dir, "", policy.Kernel{})
			if err != nil {
				return failErr(err)
			}
			if f.json {
				return printJSON(g.stdout, map[string]any{"rolled_back": p != nil})
			}
			if p == nil {
				return failErr(errors.New("no unconfirmed change to roll back"))
			}
			fmt.Fprintln(g.stdout, "rolled back to the previous baseline")
			return nil
		},
	}
	f.add(c)
	return c
}

// newFirewallWatchCmd is the detached process apply --confirm starts.
func newFirewallWatchCmd(g *globals) *cobra.Command {
	var dir, id string
	c := &cobra.Command{
		Use:    "watch-rollback",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			// The terminal going away must not stop the rollback.
			signal.Ignore(syscall.SIGHUP, syscall.SIGINT, syscall.SIGPIPE)
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
			defer stop()
			p, err := policy.Watch(ctx, dir, id, policy.Kernel{})
			switch {
			case err != nil && ctx.Err() == nil:
				fmt.Fprintf(g.stderr, "%s rampart: rollback of %s failed: %v\n", time.Now().Format(time.RFC3339), id, err)
				return failErr(err)
			case p != nil:
				fmt.Fprintf(g.stderr, "%s rampart: change %s was not confirmed by %s: rolled back\n", time.Now().Format(time.RFC3339), id, p.Deadline.Format(time.RFC3339))
			}
			return nil
		},
	}
	c.Flags().StringVar(&dir, "state-dir", "", "state directory")
	c.Flags().StringVar(&id, "id", "", "pending change")
	return c
}
