package cli

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/rampart-ids/rampart/internal/config"
	"github.com/rampart-ids/rampart/internal/control"
	"github.com/spf13/cobra"
)

func newBanCmd(g *globals) *cobra.Command {
	var (
		jail  string
		dur   string
		force bool
	)
	c := &cobra.Command{
		Use:   "ban ADDR|CIDR",
		Short: "Ban an address or network now (through the daemon)",
		Long: `Ban ADDR (an IPv4 or IPv6 address) or CIDR (a network such as
203.0.113.0/24) in JAIL's firewall set, for the jail's bantime or --for.

Without --force, rampart refuses to ban loopback, an address in the jail's
ignoreip, a network wider than /8 (IPv4) or /16 (IPv6), and the address of the
SSH session this command runs in (from $SSH_CONNECTION / $SSH_CLIENT), so
that you cannot lock yourself out by mistake.`,
		Example: `  rampart ban 203.0.113.7
  rampart ban 2001:db8:1::/48 --jail sshd --for 1d
  rampart ban 198.51.100.0/24 --for permanent`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := parseTarget(args[0])
			if err != nil {
				return usageErr(err)
			}
			req := control.BanRequest{Prefix: p, Jail: jail, Force: force, Protect: sshClients(os.Getenv)}
			if dur != "" {
				d, err := config.ParseDuration(dur)
				if err != nil || d == 0 {
					return usageErr(fmt.Errorf("--for %q: not a duration (use e.g. 600, 10m, 1h30m, 1d, or permanent)", dur))
				}
				req.DurationSeconds = -1
				if d != config.Permanent {
					req.DurationSeconds = int64(max((d+time.Second-1)/time.Second, 1))
				}
			}
			if err := control.CheckBan(req); err != nil {
				if errors.Is(err, control.ErrInvalid) {
					return usageErr(err)
				}
				return failErr(err)
			}
			return daemonCall(cmd, g, func(ctx context.Context, c *control.Client) error {
				r, err := c.Ban(ctx, req)
				if err != nil {
					return err
				}
				until := "permanently"
				if !r.Until.IsZero() {
					until = "until " + clock(r.Until)
				}
				verb := "banned"
				if r.Already {
					verb = "already banned; now"
				}
				fmt.Fprintf(g.stdout, "%s %s in jail %s, %s\n", prefixText(r.Prefix), verb, r.Jail, until)
				return nil
			})
		},
	}
	c.Flags().StringVar(&jail, "jail", "", "jail whose set and ports to use (default: the daemon's manual jail)")
	c.Flags().StringVar(&dur, "for", "", "ban duration, e.g. 10m, 1d, permanent (default: the jail's bantime)")
	c.Flags().BoolVar(&force, "force", false, "ban even loopback, ignoreip, wide networks and your own SSH client")
	return c
}

// parseTarget reads an address or a network; IPv4-mapped IPv6 addresses
// become IPv4, and a network must not have host bits set.
func parseTarget(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil {
		if a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("%q: leave out the zone (%%%s)", s, a.Zone())
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an address or a network (use e.g. 203.0.113.7, 2001:db8::1 or 198.51.100.0/24)", s)
	}
	if p.Addr().Is4In6() {
		if p.Bits() < 96 {
			return netip.Prefix{}, fmt.Errorf("%q: write IPv4 networks in IPv4 form", s)
		}
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	if p != p.Masked() {
		return netip.Prefix{}, fmt.Errorf("%q has host bits set (did you mean %s?)", s, p.Masked())
	}
	return p, nil
}

// sshClients returns the client addresses of the SSH session this command
// runs in, from OpenSSH's SSH_CONNECTION ("client port server port") and
// SSH_CLIENT ("client port port").
func sshClients(getenv func(string) string) []netip.Addr {
	var out []netip.Addr
	for _, v := range []string{"SSH_CONNECTION", "SSH_CLIENT"} {
		f := strings.Fields(getenv(v))
		if len(f) == 0 {
			continue
		}
		a, err := netip.ParseAddr(f[0])
		if err != nil {
			continue
		}
		a = a.Unmap().WithZone("")
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}
