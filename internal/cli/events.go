package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/rampart-ids/rampart/internal/config"
	"github.com/rampart-ids/rampart/internal/control"
	"github.com/rampart-ids/rampart/internal/event"
	"github.com/spf13/cobra"
)

func newEventsCmd(g *globals) *cobra.Command {
	var (
		asJSON, follow bool
		since, ip, jl  string
		kinds          []string
		limit          int
	)
	c := &cobra.Command{
		Use:   "events",
		Short: "Show the event history: findings, bans, unbans, reloads (from the daemon)",
		Long: `Show what the daemon saw and did, oldest first: each finding with the log
line that caused it, each ban with its origin, unbans, expiries, reloads and
source errors. --follow keeps printing new events as they happen (Ctrl-C
stops). --json prints one JSON object per line.

Kinds: ` + strings.Join(event.KindNames(), ", ") + `.`,
		Example: `  rampart events --since 1h --kind ban
  rampart events --ip 192.0.2.7
  rampart events --follow --kind ban,unban --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			req := control.EventsRequest{Jail: jl, Limit: limit}
			if since != "" {
				d, err := config.ParseDuration(since)
				if err != nil || d <= 0 || d == config.Permanent {
					return usageErr(fmt.Errorf("--since %q: want a duration such as 30m, 1h or 7d", since))
				}
				req.Since = time.Now().Add(-d)
			}
			for _, k := range kinds {
				var kind event.Kind
				if err := kind.UnmarshalText([]byte(k)); err != nil {
					return usageErr(fmt.Errorf("--kind: %v", err))
				}
				req.Kinds = append(req.Kinds, kind)
			}
			if ip != "" {
				a, err := netip.ParseAddr(ip)
				if err != nil {
					return usageErr(fmt.Errorf("--ip %q: not an address", ip))
				}
				req.Addr = a.Unmap()
			}
			if limit < 0 || limit > 100000 {
				return usageErr(fmt.Errorf("--limit %d: want 1 to 100000", limit))
			}
			print := func(e control.Event) error { return printEvent(g.stdout, e, asJSON) }
			if follow {
				ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
				defer stop()
				if err := control.NewClient(g.socket).Follow(ctx, req, print); err != nil {
					return failErr(err)
				}
				return nil
			}
			return daemonCall(cmd, g, func(ctx context.Context, c *control.Client) error {
				evs, err := c.Events(ctx, req)
				if err != nil {
					return err
				}
				if len(evs) == 0 && !asJSON {
					fmt.Fprintln(g.stdout, "no events")
				}
				for _, e := range evs {
					if err := print(e); err != nil {
						return err
					}
				}
				return nil
			})
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "one JSON object per event and line")
	c.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new events as they happen")
	c.Flags().StringVar(&since, "since", "", "only events of the last DURATION (e.g. 1h, 7d)")
	c.Flags().StringSliceVar(&kinds, "kind", nil, "only these kinds (comma-separated: "+strings.Join(event.KindNames(), ", ")+")")
	c.Flags().StringVar(&ip, "ip", "", "only events about this address")
	c.Flags().StringVar(&jl, "jail", "", "only events of this jail")
	c.Flags().IntVar(&limit, "limit", 1000, "at most this many events (the newest)")
	_ = c.RegisterFlagCompletionFunc("kind", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return event.KindNames(), cobra.ShellCompDirectiveNoFileComp
	})
	return c
}

// printEvent writes one event: a JSON line, or a line for people.
func printEvent(w io.Writer, e control.Event, asJSON bool) error {
	if asJSON {
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	_, err := fmt.Fprintln(w, eventLine(e.Event))
	return err
}

// eventLine is an event in one line: time, kind, then what matters for
// the kind.
func eventLine(e event.Event) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s  %-14s", clock(e.Time), e.Kind)
	add := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, " %s=%s", k, v)
		}
	}
	add("jail", e.Jail)
	if e.Prefix.IsValid() {
		add("ip", prefixText(e.Prefix))
	}
	add("origin", e.Origin)
	add("rule", e.Rule)
	add("source", e.Source)
	switch e.Kind {
	case event.BanAdded:
		until := "permanent"
		if !e.Until.IsZero() {
			until = clock(e.Until)
		}
		add("until", until)
		if e.Count > 0 {
			add("count", fmt.Sprint(e.Count))
		}
	case event.FirewallBatch:
		add("adds", fmt.Sprint(e.Adds))
		add("removes", fmt.Sprint(e.Removes))
		add("took", e.Took.Round(time.Microsecond).String())
	}
	add("reason", e.Reason)
	add("error", e.Err)
	for _, ev := range e.Evidence {
		fmt.Fprintf(&b, "\n    | %s", ev)
	}
	return b.String()
}
