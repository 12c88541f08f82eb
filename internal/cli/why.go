package cli

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/rampart-ids/rampart/internal/control"
	"github.com/spf13/cobra"
)

func newWhyCmd(g *globals) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "why ADDR",
		Short: "Explain why an address is banned, or why not (from the daemon)",
		Long: `Show everything rampart knows of ADDR: the bans in force that cover it,
each with its origin (the jail, the person, the fleet node or the list that
made it) and when it ends; the jails whose ignore lists hold it; its past
bans; how long each jail's next ban of it would last (ban time growth); and
its last events: the findings with the log lines that caused them, bans and
unbans. Exit status 0 when it is banned or on a blocklist in force, 1 when it is not.`,
		Example: `  rampart why 192.0.2.7
  rampart why 2001:db8::5 --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := netip.ParseAddr(args[0])
			if err != nil {
				return usageErr(fmt.Errorf("%q is not an address (give one address, e.g. 192.0.2.7)", args[0]))
			}
			var banned bool
			err = daemonCall(cmd, g, func(ctx context.Context, c *control.Client) error {
				r, err := c.Why(ctx, a.Unmap())
				if err != nil {
					return err
				}
				banned = len(r.Bans) > 0 || len(r.Blocklists) > 0 // a listed address is dropped too
				if asJSON {
					return printJSON(g.stdout, r)
				}
				printWhy(g, r)
				return nil
			})
			if err == nil && !banned {
				return silentExit(ExitFail)
			}
			return err
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the explanation as JSON")
	return c
}

func printWhy(g *globals, r control.WhyReply) {
	w := g.stdout
	if len(r.Bans) == 0 && len(r.Blocklists) == 0 {
		fmt.Fprintf(w, "%s is not banned.\n", r.Addr)
	}
	for _, b := range r.Bans {
		until := "permanently"
		if !b.Until.IsZero() {
			until = "until " + clock(b.Until) + " (" + time.Until(b.Until).Round(time.Second).String() + " left)"
		}
		fmt.Fprintf(w, "%s is banned by %s in jail %s %s, since %s", r.Addr, b.Origin, b.Jail, until, clock(b.Since))
		if b.Prefix.Bits() < b.Prefix.Addr().BitLen() {
			fmt.Fprintf(w, ", as part of %s", b.Prefix)
		}
		if b.Count > 1 {
			fmt.Fprintf(w, "; ban number %d of this address", b.Count)
		}
		fmt.Fprintln(w, ".")
	}
	for _, l := range r.Blocklists {
		fmt.Fprintf(w, "on blocklist %s (origin blocklist %s): dropped by the kernel while it is listed.\n", l, l)
	}
	if len(r.Ignored) > 0 {
		fmt.Fprintf(w, "ignored by jail%s %s: never banned there.\n", plural(len(r.Ignored)), strings.Join(r.Ignored, ", "))
	}
	if len(r.Next) > 0 {
		fmt.Fprintln(w, "\nnext ban:")
		for _, n := range r.Next {
			d := "permanent"
			if n.DurationSeconds >= 0 {
				d = (time.Duration(n.DurationSeconds) * time.Second).String()
			}
			fmt.Fprintf(w, "  %-16s %s (%d earlier ban%s count)\n", n.Jail, d, n.Count, plural(n.Count))
		}
	}
	if len(r.History) > 0 {
		fmt.Fprintln(w, "\nban history:")
		for _, b := range r.History {
			fmt.Fprintf(w, "  %s  %-16s %s\n", clock(b.Since), b.Jail, b.Origin)
		}
	}
	if len(r.Events) > 0 {
		fmt.Fprintln(w, "\nlast events:")
		for _, e := range r.Events {
			fmt.Fprintln(w, "  "+strings.ReplaceAll(eventLine(e.Event), "\n", "\n  "))
		}
	}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
