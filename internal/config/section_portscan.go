package config

import (
	"net/netip"
	"time"
)

// Portscan is the [portscan] table: packets to ports that are not open are
// logged by the kernel to an NFLOG group, and a source touching `ports`
// distinct closed ports within `within` is banned.
type Portscan struct {
	Enabled bool
	// Ports is the number of distinct closed ports that bans.
	Ports int
	// Within is the window the ports are counted in.
	Within  time.Duration
	BanTime time.Duration
	// IgnoreIP is [defaults] ignoreip unless the table sets it; Ignore
	// adds to it. AllIgnored returns both.
	IgnoreIP []netip.Prefix
	Ignore   []netip.Prefix
	// IgnoreSelf is [defaults] ignoreself.
	IgnoreSelf bool
	// Increment and MaxTracked are [defaults]': repeat scanners are
	// banned longer like any jail's repeat offenders.
	Increment  Increment
	MaxTracked int
	// NflogGroup is the NFLOG group the port-scan chain logs to.
	NflogGroup uint16
	// LogRate caps the packets the kernel logs per second, in all.
	LogRate int
}

// portscanSection is [portscan].
type portscanSection struct{}

func (portscanSection) name() string { return "portscan" }

func (portscanSection) decode(d *decoder, t *node, c *Config) {
	c.Portscan = defaults(portscanKeys())
	base := d.jailBase
	if base == nil {
		b := jailDefaults()
		base = &b
	}
	c.Portscan.IgnoreIP = append([]netip.Prefix(nil), base.IgnoreIP...)
	c.Portscan.IgnoreSelf = base.IgnoreSelf
	c.Portscan.Increment, c.Portscan.MaxTracked = base.Increment, base.MaxTracked
	if t != nil {
		decodeTable(d, t, portscanKeys(), &c.Portscan, nil)
		if j, ok := c.Jail("portscan"); ok && j.Enabled && c.Portscan.Enabled {
			d.fail(t, "a jail called \"portscan\" is enabled: [portscan] bans in a jail of that name; rename [jails.portscan]")
		}
	}
}

// AllIgnored returns ignoreip and ignore together: the sources never
// banned for scanning.
func (p *Portscan) AllIgnored() []netip.Prefix {
	return append(append([]netip.Prefix(nil), p.IgnoreIP...), p.Ignore...)
}

// decodePrefixes reads a list of addresses and CIDRs.
func decodePrefixes(d *decoder, n *node) ([]netip.Prefix, bool) {
	l, ok := d.list(n, true)
	if !ok {
		return nil, false
	}
	out := []netip.Prefix{}
	for _, s := range l {
		p, name, err := parseIgnore(s)
		switch {
		case err != nil:
			d.fail(n, "%v", err)
			return nil, false
		case name != "":
			d.fail(n, "%q: give an address or CIDR (host names are not resolved here)", s)
			return nil, false
		}
		out = append(out, p)
	}
	return out, true
}

func showPrefixes(l []netip.Prefix) []string {
	out := make([]string, 0, len(l))
	for _, p := range l {
		out = append(out, p.String())
	}
	return out
}

func (portscanSection) show(c *Config) any { return showTable(portscanKeys(), &c.Portscan) }

// portscanKeys declares the keys of [portscan].
func portscanKeys() []key[Portscan] {
	return []key[Portscan]{
		{
			name: "enabled", typ: "bool", def: false,
			doc:    "log packets to closed ports in the kernel and ban sources that scan",
			decode: func(d *decoder, n *node, v *Portscan) { v.Enabled, _ = d.boolean(n) },
			show:   func(v *Portscan) any { return v.Enabled },
		},
		{
			name: "ports", typ: "integer", def: int64(12),
			doc: "distinct closed ports (TCP and UDP) one source touches within `within` that ban it (2 … 1000)",
			decode: func(d *decoder, n *node, v *Portscan) {
				if i, ok := d.integer(n, 2, 1000); ok {
					v.Ports = int(i)
				}
			},
			show: func(v *Portscan) any { return int64(v.Ports) },
		},
		{
			name: "within", typ: "duration", def: "10s",
			doc: "the sliding window the distinct ports are counted in (`1s` … `1d`)",
			decode: func(d *decoder, n *node, v *Portscan) {
				t, ok := d.duration(n)
				if !ok {
					return
				}
				if t < time.Second || t > 24*time.Hour {
					d.fail(n, "must be between 1s and 1d")
					return
				}
				v.Within = t
			},
			show: func(v *Portscan) any { return FormatDuration(v.Within) },
		},
		{
			name: "bantime", typ: "duration", def: "1h",
			doc: "how long a scanner is banned (grows for repeat offenders with `[defaults] bantime.increment`)",
			decode: func(d *decoder, n *node, v *Portscan) {
				t, ok := d.duration(n)
				if !ok {
					return
				}
				if t < time.Minute {
					d.fail(n, "must be at least 1m")
					return
				}
				v.BanTime = t
			},
			show: func(v *Portscan) any { return FormatDuration(v.BanTime) },
		},
		{
			name: "ignoreip", typ: "list", defDoc: "`[defaults] ignoreip`",
			doc: "addresses and CIDRs never banned for scanning (host names are not resolved here)",
			decode: func(d *decoder, n *node, v *Portscan) {
				if l, ok := decodePrefixes(d, n); ok {
					v.IgnoreIP = l
				}
			},
			show: func(v *Portscan) any { return showPrefixes(v.IgnoreIP) },
		},
		{
			name: "ignore", typ: "list", def: []any{}, defDoc: "`[]`",
			doc: "more addresses and CIDRs never banned for scanning, added to `ignoreip`",
			decode: func(d *decoder, n *node, v *Portscan) {
				if l, ok := decodePrefixes(d, n); ok {
					v.Ignore = l
				}
			},
			show: func(v *Portscan) any { return showPrefixes(v.Ignore) },
		},
		{
			name: "nflog_group", typ: "integer", def: int64(4760),
			doc: "the NFLOG group the kernel logs packets to closed ports to (1 … 65535; no other program may read it; `[limits]` use their own)",
			decode: func(d *decoder, n *node, v *Portscan) {
				if i, ok := d.integer(n, 1, 65535); ok {
					v.NflogGroup = uint16(i)
				}
			},
			show: func(v *Portscan) any { return int64(v.NflogGroup) },
		},
		{
			name: "log_rate", typ: "integer", def: int64(200),
			doc: "packets to closed ports the kernel logs per second, from all sources together (10 … 100000): the cost under a flood stays bounded",
			decode: func(d *decoder, n *node, v *Portscan) {
				if i, ok := d.integer(n, 10, 100000); ok {
					v.LogRate = int(i)
				}
			},
			show: func(v *Portscan) any { return int64(v.LogRate) },
		},
	}
}
