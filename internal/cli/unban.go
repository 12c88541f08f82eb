package cli

import (
	"context"
	"fmt"

	"github.com/rampart-ids/rampart/internal/control"
	"github.com/spf13/cobra"
)

func newUnbanCmd(g *globals) *cobra.Command {
	var (
		jail string
		all  bool
	)
	c := &cobra.Command{
		Use:   "unban ADDR|CIDR | --all",
		Short: "Lift a ban, or every ban (through the daemon)",
		Long: `Lift the ban on ADDR or CIDR in every jail (or only --jail), or with --all
lift every ban (of every jail, or only --jail's). An address that was not
banned is reported and is not an error.`,
		Example: `  rampart unban 203.0.113.7
  rampart unban --all --jail sshd`,
		Args: func(cmd *cobra.Command, args []string) error {
			if all == (len(args) == 1) || len(args) > 1 {
				return usageErr(fmt.Errorf("give one ADDR or CIDR, or --all (see 'rampart unban --help')"))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			req := control.UnbanRequest{All: all, Jail: jail}
			if !all {
				p, err := parseTarget(args[0])
				if err != nil {
					return usageErr(err)
				}
				req.Prefix = p
			}
			return daemonCall(cmd, g, func(ctx context.Context, c *control.Client) error {
				r, err := c.Unban(ctx, req)
				if err != nil {
					return err
				}
				if len(r.Removed) == 0 {
					what := "no address"
					if !all {
						what = prefixText(req.Prefix)
					}
					fmt.Fprintf(g.stdout, "%s was not banned\n", what)
					return nil
				}
				for _, b := range r.Removed {
					fmt.Fprintf(g.stdout, "unbanned %s in jail %s\n", prefixText(b.Prefix), b.Jail)
				}
				return nil
			})
		},
	}
	c.Flags().StringVar(&jail, "jail", "", "only this jail's bans")
	c.Flags().BoolVar(&all, "all", false, "lift every ban")
	return c
}
