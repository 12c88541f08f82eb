package cli

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"text/tabwriter"

	"github.com/rampart-ids/rampart/internal/control"
	"github.com/spf13/cobra"
)

func newBannedCmd(g *globals) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "banned",
		Short: "List the active bans (from the daemon)",
		Long: `List every active ban: jail, address or network, when it started, when it
ends (or "permanent"), how many times the address was banned, and its origin:
why the ban exists ("jail sshd", "manual root", "fleet web-1", "blocklist NAME",
"kernel limit NAME"). Bans of a jail no longer configured stay until they end.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return daemonCall(cmd, g, func(ctx context.Context, c *control.Client) error {
				bans, err := c.Banned(ctx)
				if err != nil {
					return err
				}
				if asJSON {
					if bans == nil {
						bans = []control.BannedEntry{}
					}
					return printJSON(g.stdout, control.BannedReply{Bans: bans})
				}
				if len(bans) == 0 {
					fmt.Fprintln(g.stdout, "no active bans")
					return nil
				}
				tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "JAIL\tADDRESS\tORIGIN\tSINCE\tUNTIL\tCOUNT")
				for _, b := range bans {
					until := "permanent"
					if !b.Until.IsZero() {
						until = clock(b.Until)
					}
					count := "-"
					if b.Count > 0 {
						count = strconv.Itoa(b.Count)
					}
					org := b.Origin.String()
					if org == "" {
						org = "-"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", b.Jail, prefixText(b.Prefix), org, clock(b.Since), until, count)
				}
				return tw.Flush()
			})
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the bans as JSON")
	return c
}

// prefixText writes a single address without its /32 or /128.
func prefixText(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}
