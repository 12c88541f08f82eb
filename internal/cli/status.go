package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/rampart-ids/rampart/internal/control"
	"github.com/spf13/cobra"
)

func newStatusCmd(g *globals) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "status [JAIL]",
		Short: "Show each jail's failures and bans (from the daemon)",
		Long: `Show, for every jail or only JAIL: its filter and log sources, the
addresses failing now (inside findtime) and the failures seen since start,
the addresses banned now and the bans since start, and the banned addresses.`,
		Example: `  rampart status
  rampart status sshd --json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			jail := ""
			if len(args) == 1 {
				jail = args[0]
			}
			return daemonCall(cmd, g, func(ctx context.Context, c *control.Client) error {
				r, err := c.Status(ctx, jail)
				if err != nil {
					return err
				}
				if asJSON {
					return printJSON(g.stdout, r)
				}
				printStatus(g, r)
				return nil
			})
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the status as JSON")
	return c
}

func printStatus(g *globals, r control.StatusReply) {
	if r.StateError != "" {
		fmt.Fprintf(g.stdout, "WARNING: the state database refuses writes; %d bans are enforced but not stored yet (retried every 5 s): %s\n\n", r.Unstored, r.StateError)
	}
	if len(r.Jails) == 0 {
		fmt.Fprintln(g.stdout, "no jails are enabled")
		return
	}
	for i, j := range r.Jails {
		if i > 0 {
			fmt.Fprintln(g.stdout)
		}
		banned := make([]string, len(j.Banned))
		for i, p := range j.Banned {
			banned[i] = prefixText(p)
		}
		fmt.Fprintf(g.stdout, "jail %s (filter %s)\n", j.Name, j.Filter)
		fmt.Fprintf(g.stdout, "  sources:    %s\n", orNone(strings.Join(j.Sources, ", ")))
		fmt.Fprintf(g.stdout, "  failing:    %d now, %d failures in total\n", j.FailuresNow, j.FailuresTotal)
		fmt.Fprintf(g.stdout, "  banned:     %d now, %d in total\n", j.BannedNow, j.BannedTotal)
		fmt.Fprintf(g.stdout, "  addresses:  %s\n", orNone(strings.Join(banned, " ")))
	}
}

func orNone(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
