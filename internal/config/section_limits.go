package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Limit is one [limits.NAME] table: a connection limit the kernel enforces
// on a service that writes no log. A source over max_conn concurrent
// connections or over rate new connections is banned by the kernel itself,
// and rampart records the ban with origin "kernel limit NAME".
type Limit struct {
	Name string
	// Port and Protocol are the limited service ("9000/tcp").
	Port     uint16
	Protocol string
	// MaxConn is the number of concurrent connections per source; 0: no
	// concurrency limit.
	MaxConn int
	// Rate is new connections per Per per source; 0: no rate limit.
	Rate int
	Per  time.Duration
	// BanTime is the kernel's ban and the first ban's length (repeat
	// offenders' bans grow with [defaults] bantime.increment).
	BanTime time.Duration
	// IPv4Prefix and IPv6Prefix group sources: one count per /IPv6Prefix.
	IPv4Prefix, IPv6Prefix int
	// Increment is [defaults] bantime.increment: repeat offenders' bans
	// (rampart's record, not the kernel's first ban) grow with it.
	Increment Increment
}

// limitsSection is [limits]: one [limits.NAME] table per limit.
type limitsSection struct{}

func (limitsSection) name() string { return "limits" }

func (limitsSection) decode(d *decoder, t *node, c *Config) {
	if t == nil {
		return
	}
	for _, n := range t.sortedKids() {
		l := defaults(limitKeys())
		l.Name = n.path[len(n.path)-1]
		if n.kids == nil {
			d.fail(n, "must be a table: [limits.%s]", l.Name)
			continue
		}
		if err := checkLimitName(l.Name); err != nil {
			d.fail(n, "%v", err)
			continue
		}
		decodeTable(d, n, limitKeys(), &l, nil)
		if _, ok := n.kids["port"]; !ok {
			d.fail(n, "port is missing: the limited service, e.g. port = \"9000/tcp\"")
		}
		if l.MaxConn == 0 && l.Rate == 0 {
			d.fail(n, "set max_conn (concurrent connections per source) or rate (e.g. \"30/minute\"), or both")
		}
		if d.jailBase != nil {
			l.Increment = d.jailBase.Increment
		}
		c.Limits = append(c.Limits, l)
	}
	slices.SortFunc(c.Limits, func(a, b Limit) int { return strings.Compare(a.Name, b.Name) })
}

// checkLimitName refuses a name that cannot name the limit's pseudo-jail
// ("limit-NAME") and its kernel sets.
func checkLimitName(name string) error {
	if name == "" || len(name) > 48 {
		return fmt.Errorf("limit name %q must be 1-48 characters", name)
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return fmt.Errorf("limit name %q may hold only letters, digits, '_' and '-'", name)
		}
	}
	return nil
}

func (limitsSection) show(c *Config) any {
	if len(c.Limits) == 0 {
		return nil
	}
	out := make(map[string]any, len(c.Limits))
	for i := range c.Limits {
		out[c.Limits[i].Name] = showTable(limitKeys(), &c.Limits[i])
	}
	return out
}

// ParseRate reads "30/minute" (also second, hour, day; "30/m" and "30/min"
// too) as a count and its period.
func ParseRate(s string) (n int, per time.Duration, err error) {
	num, unit, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return 0, 0, fmt.Errorf("%q is not a rate: write COUNT/UNIT, e.g. \"30/minute\"", s)
	}
	n, err = strconv.Atoi(strings.TrimSpace(num))
	if err != nil || n < 1 || n > 1_000_000 {
		return 0, 0, fmt.Errorf("%q: the count must be a number between 1 and 1000000", s)
	}
	switch strings.TrimSpace(unit) {
	case "s", "sec", "second":
		per = time.Second
	case "m", "min", "minute":
		per = time.Minute
	case "h", "hour":
		per = time.Hour
	case "d", "day":
		per = 24 * time.Hour
	default:
		return 0, 0, fmt.Errorf("%q: unknown unit %q (use second, minute, hour or day)", s, unit)
	}
	return n, per, nil
}

// FormatRate writes a rate as ParseRate reads it.
func FormatRate(n int, per time.Duration) string {
	unit := map[time.Duration]string{time.Second: "second", time.Minute: "minute", time.Hour: "hour", 24 * time.Hour: "day"}[per]
	return fmt.Sprintf("%d/%s", n, unit)
}

// parsePortProto reads "9000/tcp" or "9000/udp".
func parsePortProto(s string) (uint16, string, error) {
	p, proto, ok := strings.Cut(s, "/")
	if !ok || (proto != "tcp" && proto != "udp") {
		return 0, "", fmt.Errorf("%q: write PORT/tcp or PORT/udp, e.g. \"9000/tcp\"", s)
	}
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil || n == 0 {
		return 0, "", fmt.Errorf("%q: the port must be a number between 1 and 65535", s)
	}
	return uint16(n), proto, nil
}

// limitKeys declares the keys of [limits.NAME].
func limitKeys() []key[Limit] {
	return []key[Limit]{
		{
			name: "port", typ: "string", defDoc: "-",
			doc: "the limited service, `PORT/tcp` or `PORT/udp` (`\"9000/tcp\"`)",
			decode: func(d *decoder, n *node, v *Limit) {
				s, ok := d.str(n)
				if !ok {
					return
				}
				p, proto, err := parsePortProto(s)
				if err != nil {
					d.fail(n, "%v", err)
					return
				}
				v.Port, v.Protocol = p, proto
			},
			show: func(v *Limit) any { return fmt.Sprintf("%d/%s", v.Port, v.Protocol) },
		},
		{
			name: "max_conn", typ: "integer", def: int64(0), defDoc: "`0` (no limit)",
			doc: "concurrent connections per source (per `ipv6_prefix` network for IPv6) above which the source is banned; counted by conntrack in the kernel",
			decode: func(d *decoder, n *node, v *Limit) {
				if i, ok := d.integer(n, 0, 1_000_000); ok {
					v.MaxConn = int(i)
				}
			},
			show: func(v *Limit) any { return int64(v.MaxConn) },
		},
		{
			name: "rate", typ: "string", def: "", defDoc: "`\"\"` (no limit)",
			doc: "new connections per source above which it is banned: `COUNT/second`, `/minute`, `/hour` or `/day` (`\"30/minute\"`)",
			decode: func(d *decoder, n *node, v *Limit) {
				s, ok := d.str(n)
				if !ok || s == "" {
					v.Rate, v.Per = 0, 0
					return
				}
				r, per, err := ParseRate(s)
				if err != nil {
					d.fail(n, "%v", err)
					return
				}
				v.Rate, v.Per = r, per
			},
			show: func(v *Limit) any {
				if v.Rate == 0 {
					return ""
				}
				return FormatRate(v.Rate, v.Per)
			},
		},
		{
			name: "bantime", typ: "duration", def: "10m",
			doc: "how long the kernel bans a source over the limit (`1m` … `30d`); rampart's record of the ban grows for repeat offenders with `[defaults] bantime.increment`",
			decode: func(d *decoder, n *node, v *Limit) {
				t, ok := d.duration(n)
				if !ok {
					return
				}
				if t < time.Minute || t > 30*24*time.Hour {
					d.fail(n, "must be between 1m and 30d")
					return
				}
				v.BanTime = t
			},
			show: func(v *Limit) any { return FormatDuration(v.BanTime) },
		},
		{
			name: "ipv4_prefix", typ: "integer", def: int64(32),
			doc: "IPv4 sources are counted and banned per network of this length",
			decode: func(d *decoder, n *node, v *Limit) {
				if i, ok := d.integer(n, 8, 32); ok {
					v.IPv4Prefix = int(i)
				}
			},
			show: func(v *Limit) any { return int64(v.IPv4Prefix) },
		},
		{
			name: "ipv6_prefix", typ: "integer", def: int64(64),
			doc: "IPv6 sources are counted and banned per network of this length (one host usually holds a whole /64)",
			decode: func(d *decoder, n *node, v *Limit) {
				if i, ok := d.integer(n, 16, 128); ok {
					v.IPv6Prefix = int(i)
				}
			},
			show: func(v *Limit) any { return int64(v.IPv6Prefix) },
		},
	}
}
