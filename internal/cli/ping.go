package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/rampart-ids/rampart/internal/control"
	"github.com/spf13/cobra"
)

// requestTimeout bounds one request to the daemon; a reload may re-read
// every filter, so it is generous.
const requestTimeout = 60 * time.Second

// daemonCall runs fn with a client of the daemon at --socket and turns its
// error into an exit status: 2 for a request the daemon found invalid, 1
// for everything else (refused, not running, not root).
func daemonCall(cmd *cobra.Command, g *globals, fn func(ctx context.Context, c *control.Client) error) error {
	ctx, cancel := context.WithTimeout(cmd.Context(), requestTimeout)
	defer cancel()
	err := fn(ctx, control.NewClient(g.socket))
	switch {
	case err == nil:
		return nil
	case errors.Is(err, control.ErrInvalid):
		return usageErr(err)
	}
	return failErr(err)
}

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// clock formats a time for people: UTC, to the second.
func clock(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

func newPingCmd(g *globals) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "ping",
		Short: "Check that the daemon answers on its control socket",
		Long: `Ask the daemon at --socket (default /run/rampart/rampart.sock, or
$RAMPART_SOCKET) for its version, pid and start time. Exit status 0 when it
answers, 1 when it does not (not running, or not root).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return daemonCall(cmd, g, func(ctx context.Context, c *control.Client) error {
				r, err := c.Ping(ctx)
				if err != nil {
					return err
				}
				if asJSON {
					return printJSON(g.stdout, r)
				}
				fmt.Fprintf(g.stdout, "rampart %s is running (pid %d, since %s)\n", r.Version, r.PID, clock(r.Started))
				return nil
			})
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the reply as JSON")
	return c
}
