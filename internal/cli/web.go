package cli

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/rampart-ids/rampart/internal/control"
	"github.com/spf13/cobra"
)

func newWebCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "web",
		Short: "The web dashboard ([web] listen)",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	c.AddCommand(newWebURLCmd(g))
	return c
}

func newWebURLCmd(g *globals) *cobra.Command {
	var (
		asJSON bool
		base   string
	)
	c := &cobra.Command{
		Use:   "url",
		Short: "Print a one-time login URL for the dashboard (valid 5 minutes)",
		Long: `Ask the daemon for a login URL of its web dashboard. The URL holds a
one-time token: opening it within 5 minutes logs that browser in (a session
cookie, for [web] session) and the token is then used up. Without it every
page answers 401. Needs root (the control socket), like every command that
changes the daemon.

--base replaces the URL's scheme and host, for a dashboard reached through
an SSH tunnel or a name the daemon does not know, e.g.
  ssh -L 9191:127.0.0.1:9191 host   then   rampart web url --base http://localhost:9191`,
		Example: `  rampart web url
  rampart web url --base https://rampart.example.org
  rampart web url --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var b *url.URL
			if base != "" {
				u, err := url.Parse(base)
				if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "" || u.RawQuery != "" {
					return usageErr(fmt.Errorf("--base %q: want a scheme and host, e.g. http://localhost:9191", base))
				}
				b = u
			}
			return daemonCall(cmd, g, func(ctx context.Context, c *control.Client) error {
				r, err := c.WebLogin(ctx)
				if err != nil {
					return err
				}
				if b != nil {
					u, err := url.Parse(r.URL)
					if err != nil {
						return fmt.Errorf("the daemon sent a bad URL %q: %w", r.URL, err)
					}
					u.Scheme, u.Host = b.Scheme, b.Host
					r.URL = u.String()
				}
				if asJSON {
					return printJSON(g.stdout, r)
				}
				fmt.Fprintln(g.stdout, r.URL)
				fmt.Fprintf(g.stderr, "valid once, until %s\n", clock(r.Expires))
				return nil
			})
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the URL and its expiry as JSON")
	c.Flags().StringVar(&base, "base", "", "scheme://host[:port] to put in the URL instead of the listen address")
	return c
}
