package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/rampart-ids/rampart/internal/control"
	"github.com/rampart-ids/rampart/internal/fleet"
	"github.com/spf13/cobra"
)

func newFleetCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "fleet",
		Short: "Bans shared across servers over NATS JetStream",
		Long: `rampart nodes share their bans through a NATS JetStream stream ([fleet] in
the configuration; docs/FLEET.md). "fleet status" asks the local daemon how
its link is doing; "fleet hub" runs an embedded NATS server for a small fleet.`,
		Args: cobra.NoArgs,
	}
	c.AddCommand(newFleetStatusCmd(g), newFleetHubCmd(g))
	return c
}

func newFleetStatusCmd(g *globals) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "status",
		Short: "Show the fleet link: connection, stream lag, bans sent and received per node",
		Long: `Show this node's fleet link (from the daemon): whether it is connected and to
which server, the last stream sequence applied and how far behind the stream
it is, the outbox of local bans waiting to be published, and per node the
bans sent, received and rejected by the caps (prefix, rate, ignoreip, node,
invalid). Exit status 1 when the link is down.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return daemonCall(cmd, g, func(ctx context.Context, c *control.Client) error {
				st, err := c.FleetStatus(ctx)
				if err != nil {
					return err
				}
				if asJSON {
					if err := printJSON(g.stdout, st); err != nil {
						return err
					}
				} else if err := printFleetStatus(g, st); err != nil {
					return err
				}
				if !st.Connected {
					return fmt.Errorf("fleet: not connected to any NATS server")
				}
				return nil
			})
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the status as JSON")
	return c
}

func printFleetStatus(g *globals, st control.FleetStatus) error {
	conn := "not connected"
	if st.Connected {
		conn = "connected to " + st.Server
	}
	fmt.Fprintf(g.stdout, "node:       %s\n", st.Node)
	fmt.Fprintf(g.stdout, "connection: %s\n", conn)
	catch := ""
	if st.CatchingUp {
		catch = " (catching up)"
	}
	fmt.Fprintf(g.stdout, "stream:     %s, sequence %d of %d, lag %d%s\n", st.Stream, st.LastSeq, st.StreamSeq, st.Lag, catch)
	fmt.Fprintf(g.stdout, "outbox:     %d waiting (limit %d, %d dropped)\n", st.Outbox, st.OutboxLimit, st.OutboxDropped)
	fmt.Fprintf(g.stdout, "fleet bans: %d in force here\n", st.FleetBans)
	if len(st.Nodes) == 0 {
		return nil
	}
	fmt.Fprintln(g.stdout)
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tSENT\tRECEIVED\tREJECTED\tLAST")
	for _, n := range st.Nodes {
		var rej []string
		for r, v := range n.Rejected {
			rej = append(rej, fmt.Sprintf("%s=%d", r, v))
		}
		sort.Strings(rej)
		rs, last := "-", "-"
		if len(rej) > 0 {
			rs = strings.Join(rej, ",")
		}
		if !n.Last.IsZero() {
			last = clock(n.Last)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\n", n.Node, n.Sent, n.Received, rs, last)
	}
	return tw.Flush()
}

func newFleetHubCmd(g *globals) *cobra.Command {
	var o fleet.HubOptions
	c := &cobra.Command{
		Use:   "hub",
		Short: "Run an embedded NATS server with JetStream on disk, for a small fleet",
		Long: `Run a NATS server (the nats-server library, with JetStream storing on disk)
for the fleet's nodes to connect to. --config takes a nats-server
configuration file: put the accounts, users and their permissions there (each
node may publish only on rampart.bans.NODE.>; docs/FLEET.md has a complete
file), and TLS. Three hubs with --cluster and --routes form a cluster that
survives losing one. For more than a few dozen nodes, or several sites, run a
real NATS cluster instead (docs/FLEET.md says when).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			log := slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
			o.Log = log
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			h, err := fleet.StartHub(o)
			if err != nil {
				return failErr(err)
			}
			log.Info("fleet hub ready", "url", h.ClientURL())
			h.Run(ctx)
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&o.ConfigFile, "config", "", "nats-server configuration file (accounts, users, permissions, TLS, cluster)")
	f.StringVar(&o.Name, "name", "", "server name, unique in the cluster (default: the host name)")
	f.StringVar(&o.Listen, "listen", "", "client address host:port (default 0.0.0.0:4222, or the file's)")
	f.StringVar(&o.StoreDir, "store", "", "JetStream directory (default /var/lib/rampart/hub)")
	f.StringVar(&o.Cluster, "cluster", "", "cluster name (with --cluster-listen and --routes)")
	f.StringVar(&o.ClusterListen, "cluster-listen", "", "route address host:port, e.g. 0.0.0.0:6222")
	f.StringSliceVar(&o.Routes, "routes", nil, "other servers' route URLs, e.g. nats://10.0.0.6:6222 (repeat or comma-separate)")
	return c
}
