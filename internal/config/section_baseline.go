package config

import (
	"errors"
	"net/netip"
	"slices"
	"strings"

	"github.com/rampart-ids/rampart/internal/policy/portspec"
)

// Baseline is the [baseline] table: the host's default-deny inbound policy
// (docs/FIREWALL.md).
type Baseline struct {
	Enabled bool
	// Allow are the ports open to everyone.
	Allow []portspec.Spec
	// AllowFrom are ports open to some sources only.
	AllowFrom []AllowFrom
	ICMP      bool
	// DHCP is "auto", "yes" or "no".
	DHCP string
}

// AllowFrom is one entry of allow_from: a port open to some networks.
type AllowFrom struct {
	Port    portspec.Spec
	Sources []netip.Prefix
}

// baselineSection is [baseline].
type baselineSection struct{}

func (baselineSection) name() string { return "baseline" }

func (baselineSection) decode(d *decoder, t *node, c *Config) {
	c.Baseline = defaults(baselineKeys())
	if t != nil {
		decodeTable(d, t, baselineKeys(), &c.Baseline, nil)
	}
}

// show leaves [baseline] out unless it is enabled.
func (baselineSection) show(c *Config) any {
	if !c.Baseline.Enabled {
		return nil
	}
	return showTable(baselineKeys(), &c.Baseline)
}

func baselineAllowFrom(d *decoder, n *node, v *Baseline) {
	if n.kids == nil {
		d.wrongType(n, `a table of port = [networks], e.g. { "9100/tcp" = ["192.0.2.0/24"] }`)
		return
	}
	v.AllowFrom = nil
	for _, k := range n.sortedKids() {
		spec := k.path[len(k.path)-1]
		p, err := portspec.Parse(spec)
		if err != nil {
			d.fail(k, "%v", err)
			continue
		}
		l, ok := d.list(k, false)
		if !ok {
			continue
		}
		if len(l) == 0 {
			d.fail(k, "lists no network; add one (\"192.0.2.0/24\") or move %s to allow", spec)
			continue
		}
		e := AllowFrom{Port: p}
		for _, s := range l {
			pre, err := parseNetwork(s)
			if err != nil {
				d.fail(k, "%q: %v", s, err)
				continue
			}
			e.Sources = append(e.Sources, pre)
		}
		v.AllowFrom = append(v.AllowFrom, e)
	}
	slices.SortFunc(v.AllowFrom, func(a, b AllowFrom) int { return strings.Compare(a.Port.String(), b.Port.String()) })
}

// parseNetwork reads an address or CIDR and returns its masked prefix.
func parseNetwork(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, errors.New("not an address or CIDR (write 192.0.2.0/24 or 2001:db8::/32)")
		}
		if p.Addr().Is4In6() {
			return netip.Prefix{}, errors.New("an IPv4-mapped IPv6 network; write the IPv4 network (192.0.2.0/24)")
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, errors.New("not an address or CIDR (write 192.0.2.0/24 or 2001:db8::/32)")
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// baselineKeys declares the keys of [baseline].
func baselineKeys() []key[Baseline] {
	return []key[Baseline]{
		{
			name: "enabled", typ: "bool", def: false,
			doc:    "drop inbound traffic the baseline does not allow (`rampart firewall apply`, and the daemon at start)",
			decode: func(d *decoder, n *node, v *Baseline) { v.Enabled, _ = d.boolean(n) },
			show:   func(v *Baseline) any { return v.Enabled },
		},
		{
			name: "allow", typ: "list", def: []any{},
			doc: "ports open to everyone: `\"22/tcp\"`, `\"60000-61000/udp\"`",
			decode: func(d *decoder, n *node, v *Baseline) {
				l, ok := d.list(n, false)
				if !ok {
					return
				}
				v.Allow = nil
				for _, s := range l {
					p, err := portspec.Parse(s)
					if err != nil {
						d.fail(n, "%v", err)
						continue
					}
					v.Allow = append(v.Allow, p)
				}
			},
			show: func(v *Baseline) any {
				out := []string{}
				for _, p := range v.Allow {
					out = append(out, p.String())
				}
				return out
			},
		},
		{
			name: "allow_from", typ: "table", defDoc: "`{}`",
			doc:    "ports open to some sources: `{ \"9100/tcp\" = [\"192.0.2.0/24\", \"2001:db8::/32\"] }`",
			decode: baselineAllowFrom,
			show: func(v *Baseline) any {
				out := map[string]any{}
				for _, e := range v.AllowFrom {
					var l []string
					for _, p := range e.Sources {
						l = append(l, p.String())
					}
					out[e.Port.String()] = l
				}
				return out
			},
			omitEmpty: true,
		},
		{
			name: "icmp", typ: "bool", def: true,
			doc:    "answer ping (echo request); the ICMP the network needs (packet too big, neighbour discovery, errors) stays open either way",
			decode: func(d *decoder, n *node, v *Baseline) { v.ICMP, _ = d.boolean(n) },
			show:   func(v *Baseline) any { return v.ICMP },
		},
		{
			name: "dhcp", typ: "string", def: "auto",
			doc: "accept DHCPv4/DHCPv6 client replies: `auto` (when a DHCP client runs or has a lease), `yes`, `no`",
			decode: func(d *decoder, n *node, v *Baseline) {
				v.DHCP, _ = d.oneOf(n, "auto", "yes", "no")
			},
			show: func(v *Baseline) any { return v.DHCP },
		},
	}
}
