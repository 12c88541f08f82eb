package cli

import (
	"context"
	"fmt"

	"github.com/rampart-ids/rampart/internal/control"
	"github.com/spf13/cobra"
)

func newReloadCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "reload",
		Short: "Make the daemon re-read its configuration",
		Long: `Ask the daemon to re-read its configuration and drop-ins and apply them.
A configuration with errors is refused and the running one stays; check it
first with 'rampart config check'.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return daemonCall(cmd, g, func(ctx context.Context, c *control.Client) error {
				if err := c.Reload(ctx); err != nil {
					return err
				}
				fmt.Fprintln(g.stdout, "configuration reloaded")
				return nil
			})
		},
	}
}
