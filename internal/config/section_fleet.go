package config

import (
	"net/netip"
	"strings"
	"time"
)

// Fleet is the [fleet] table: bans shared with other rampart nodes over
// NATS JetStream (docs/FLEET.md).
type Fleet struct {
	Enabled      bool
	Servers      []string // NATS URLs
	User         string
	PasswordFile string
	CredsFile    string
	NKeyFile     string
	CA           string // TLS: the servers' CA (PEM)
	Cert, Key    string // TLS client certificate and key (PEM)
	Node         string // this node's name; empty: the host name
	Share        []string
	AcceptFrom   []string
	Stream       string
	Replicas     int
	MaxAge       time.Duration
	MinPrefixV4  int
	MinPrefixV6  int
	MaxPerMinute int
	IgnoreIP     []netip.Prefix
	Outbox       int
}

// fleetSection is [fleet].
type fleetSection struct{}

func (fleetSection) name() string { return "fleet" }

func (fleetSection) decode(d *decoder, t *node, c *Config) {
	c.Fleet = defaults(fleetKeys())
	if t != nil {
		decodeTable(d, t, fleetKeys(), &c.Fleet, nil)
		if c.Fleet.Enabled && len(c.Fleet.Servers) == 0 {
			d.fail(t, "enabled = true needs servers (e.g. servers = [\"nats://10.0.0.5:4222\"])")
		}
		if c.Fleet.PasswordFile != "" && c.Fleet.User == "" {
			d.fail(t, "password_file needs user")
		}
		if (c.Fleet.Cert == "") != (c.Fleet.Key == "") {
			d.fail(t, "cert and key go together")
		}
	}
}

// show leaves [fleet] out unless it is enabled.
func (fleetSection) show(c *Config) any {
	if !c.Fleet.Enabled {
		return nil
	}
	return showTable(fleetKeys(), &c.Fleet)
}

func fleetPath(field func(v *Fleet) *string) func(d *decoder, n *node, v *Fleet) {
	return func(d *decoder, n *node, v *Fleet) { *field(v), _ = d.absPath(n) }
}

func fleetNode(d *decoder, n *node, v *Fleet) {
	s, ok := d.str(n)
	if !ok {
		return
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			d.fail(n, "%q may hold only letters, digits, '-' and '_' (it is a NATS subject token)", s)
			return
		}
	}
	if len(s) > 64 {
		d.fail(n, "%q is longer than 64 characters", s)
		return
	}
	v.Node = s
}

// fleetKeys declares the keys of [fleet].
func fleetKeys() []key[Fleet] {
	return []key[Fleet]{
		{
			name: "enabled", typ: "bool", def: false,
			doc:    "share bans with the other nodes",
			decode: func(d *decoder, n *node, v *Fleet) { v.Enabled, _ = d.boolean(n) },
			show:   func(v *Fleet) any { return v.Enabled },
		},
		{
			name: "servers", typ: "list", def: []any{},
			doc: "NATS URLs (`nats://host:4222`, `tls://host:4222`); the client fails over between them",
			decode: func(d *decoder, n *node, v *Fleet) {
				l, ok := d.list(n, false)
				if !ok {
					return
				}
				for _, s := range l {
					if !strings.Contains(s, "://") {
						d.fail(n, "%q is not a URL (write nats://host:4222)", s)
						return
					}
				}
				v.Servers = l
			},
			show: func(v *Fleet) any { return nonNil(v.Servers) },
		},
		{
			name: "user", typ: "string", def: "",
			doc:    "NATS user name (with `password_file`)",
			decode: func(d *decoder, n *node, v *Fleet) { v.User, _ = d.str(n) },
			show:   func(v *Fleet) any { return v.User }, omitEmpty: true,
		},
		{
			name: "password_file", typ: "path", defDoc: "none",
			doc:    "file holding the user's password",
			decode: fleetPath(func(v *Fleet) *string { return &v.PasswordFile }),
			show:   func(v *Fleet) any { return v.PasswordFile }, omitEmpty: true,
		},
		{
			name: "creds_file", typ: "path", defDoc: "none",
			doc:    "NATS credentials file (JWT and seed), instead of user and password",
			decode: fleetPath(func(v *Fleet) *string { return &v.CredsFile }),
			show:   func(v *Fleet) any { return v.CredsFile }, omitEmpty: true,
		},
		{
			name: "nkey_file", typ: "path", defDoc: "none",
			doc:    "NKey seed file, instead of user and password",
			decode: fleetPath(func(v *Fleet) *string { return &v.NKeyFile }),
			show:   func(v *Fleet) any { return v.NKeyFile }, omitEmpty: true,
		},
		{
			name: "ca", typ: "path", defDoc: "none",
			doc:    "PEM CA the servers' TLS certificates are checked against",
			decode: fleetPath(func(v *Fleet) *string { return &v.CA }),
			show:   func(v *Fleet) any { return v.CA }, omitEmpty: true,
		},
		{
			name: "cert", typ: "path", defDoc: "none",
			doc:    "PEM TLS client certificate (with `key`)",
			decode: fleetPath(func(v *Fleet) *string { return &v.Cert }),
			show:   func(v *Fleet) any { return v.Cert }, omitEmpty: true,
		},
		{
			name: "key", typ: "path", defDoc: "none",
			doc:    "PEM TLS client key",
			decode: fleetPath(func(v *Fleet) *string { return &v.Key }),
			show:   func(v *Fleet) any { return v.Key }, omitEmpty: true,
		},
		{
			name: "node", typ: "string", def: "", defDoc: "the host name",
			doc:    "this node's name: letters, digits, `-`, `_`; it publishes on `rampart.bans.NODE.>` only",
			decode: fleetNode,
			show:   func(v *Fleet) any { return v.Node }, omitEmpty: true,
		},
		{
			name: "share", typ: "list", def: []any{}, defDoc: "`[]` (every jail)",
			doc: "jails whose bans are published (`manual` for `rampart ban`); received bans are never published again",
			decode: func(d *decoder, n *node, v *Fleet) {
				v.Share, _ = d.list(n, false)
			},
			show: func(v *Fleet) any { return nonNil(v.Share) },
		},
		{
			name: "accept_from", typ: "list", def: []any{"*"},
			doc: "nodes whose bans this node enforces: names or shell patterns (`web-*`); `*` is all",
			decode: func(d *decoder, n *node, v *Fleet) {
				v.AcceptFrom, _ = d.list(n, false)
			},
			show: func(v *Fleet) any { return nonNil(v.AcceptFrom) },
		},
		{
			name: "stream", typ: "string", def: "RAMPART_BANS",
			doc:    "the JetStream stream's name",
			decode: func(d *decoder, n *node, v *Fleet) { v.Stream, _ = d.str(n) },
			show:   func(v *Fleet) any { return v.Stream },
		},
		{
			name: "replicas", typ: "integer", def: int64(0), defDoc: "3 with three servers or more, else 1",
			doc: "the stream's replicas when this node creates it (1 … 5)",
			decode: func(d *decoder, n *node, v *Fleet) {
				i, _ := d.integer(n, 0, 5)
				v.Replicas = int(i)
			},
			show: func(v *Fleet) any { return v.Replicas },
		},
		{
			name: "max_age", typ: "duration", def: "30d",
			doc: "the stream's backstop: no ban message outlives it, whatever its TTL (at least `1m`)",
			decode: func(d *decoder, n *node, v *Fleet) {
				t, ok := d.duration(n)
				if !ok {
					return
				}
				if t < time.Minute {
					d.fail(n, "must be at least 1m")
					return
				}
				v.MaxAge = t
			},
			show: func(v *Fleet) any { return FormatDuration(v.MaxAge) },
		},
		{
			name: "min_prefix_v4", typ: "integer", def: int64(16),
			doc: "received IPv4 networks shorter than this are not enforced (1 … 32)",
			decode: func(d *decoder, n *node, v *Fleet) {
				i, _ := d.integer(n, 1, 32)
				v.MinPrefixV4 = int(i)
			},
			show: func(v *Fleet) any { return v.MinPrefixV4 },
		},
		{
			name: "min_prefix_v6", typ: "integer", def: int64(32),
			doc: "received IPv6 networks shorter than this are not enforced (1 … 128)",
			decode: func(d *decoder, n *node, v *Fleet) {
				i, _ := d.integer(n, 1, 128)
				v.MinPrefixV6 = int(i)
			},
			show: func(v *Fleet) any { return v.MinPrefixV6 },
		},
		{
			name: "max_per_minute", typ: "integer", def: int64(60000),
			doc: "bans received from one node in a minute; more are not enforced, counted and logged",
			decode: func(d *decoder, n *node, v *Fleet) {
				i, _ := d.integer(n, 1, 100_000_000)
				v.MaxPerMinute = int(i)
			},
			show: func(v *Fleet) any { return v.MaxPerMinute },
		},
		{
			name: "ignoreip", typ: "list", def: []any{},
			doc: "addresses and CIDRs never banned from the fleet, beside every jail's `ignoreip` (which also win)",
			decode: func(d *decoder, n *node, v *Fleet) {
				l, ok := d.list(n, true)
				if !ok {
					return
				}
				v.IgnoreIP = nil
				for _, s := range l {
					p, name, err := parseIgnore(s)
					switch {
					case err != nil:
						d.fail(n, "%v", err)
					case name != "":
						d.fail(n, "%q: host names are not taken here; list addresses or CIDRs", s)
					default:
						v.IgnoreIP = append(v.IgnoreIP, p)
					}
				}
			},
			show: func(v *Fleet) any {
				out := []string{}
				for _, p := range v.IgnoreIP {
					out = append(out, p.String())
				}
				return out
			},
		},
		{
			name: "outbox", typ: "integer", def: int64(100000),
			doc: "local bans and unbans kept while NATS is unreachable; past it the oldest are dropped and counted",
			decode: func(d *decoder, n *node, v *Fleet) {
				i, _ := d.integer(n, 1, 10_000_000)
				v.Outbox = int(i)
			},
			show: func(v *Fleet) any { return v.Outbox },
		},
	}
}
