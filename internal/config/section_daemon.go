package config

import (
	"fmt"
	"net"
	"os/user"
	"strconv"
	"time"
)

// daemonSection is [daemon]: the daemon's own settings.
type daemonSection struct{}

func (daemonSection) name() string { return "daemon" }

func (daemonSection) decode(d *decoder, t *node, c *Config) {
	c.Daemon = defaults(daemonKeys())
	if t != nil {
		decodeTable(d, t, daemonKeys(), &c.Daemon, nil)
	}
}

func (daemonSection) show(c *Config) any { return showTable(daemonKeys(), &c.Daemon) }

// daemonKeys declares the keys of [daemon].
func daemonKeys() []key[Daemon] {
	return []key[Daemon]{
		{
			name: "state_dir", typ: "path", def: "/var/lib/rampart",
			doc:    "absolute path; the SQLite database (bans, ban history, file positions, journal cursors)",
			decode: func(d *decoder, n *node, v *Daemon) { v.StateDir, _ = d.absPath(n) },
			show:   func(v *Daemon) any { return v.StateDir },
		},
		{
			name: "socket", typ: "path", def: "/run/rampart/rampart.sock",
			doc: "absolute path (at most 107 bytes) of the control socket; mode 0600, root only (0660 with `socket_group`)",
			decode: func(d *decoder, n *node, v *Daemon) {
				v.Socket, _ = d.absPath(n)
				if len(v.Socket) > 107 {
					d.fail(n, "path is %d bytes; a unix socket path must be at most 107", len(v.Socket))
				}
			},
			show: func(v *Daemon) any { return v.Socket },
		},
		{
			name: "socket_group", typ: "string", defDoc: "none",
			doc: "a group whose members may read through the control socket (`status`, `banned`, `events`, `why`, `fleet status`) but not ban, unban or reload; the socket becomes mode 0660, owned by the group",
			decode: func(d *decoder, n *node, v *Daemon) {
				s, ok := d.str(n)
				if !ok || s == "" {
					return
				}
				g, err := user.LookupGroup(s)
				if err != nil {
					g, err = user.LookupGroupId(s)
				}
				if err != nil {
					d.fail(n, "group %q does not exist (create it with `groupadd --system %s`, then add the readers with `usermod -aG %s USER`)", s, s, s)
					return
				}
				gid, err := strconv.Atoi(g.Gid)
				if err != nil || gid == 0 {
					d.fail(n, "group %q has gid %s: pick a group other than root's", s, g.Gid)
					return
				}
				v.SocketGroup, v.SocketGID = s, gid
			},
			show: func(v *Daemon) any { return v.SocketGroup }, omitEmpty: true,
		},
		{
			name: "log_level", typ: "string", def: "info",
			doc:    "`debug`, `info`, `warn` or `error`",
			decode: func(d *decoder, n *node, v *Daemon) { v.LogLevel, _ = d.oneOf(n, "debug", "info", "warn", "error") },
			show:   func(v *Daemon) any { return v.LogLevel },
		},
		{
			name: "firewall", typ: "string", def: "auto",
			doc: "`nftables` (netlink), `iptables` (iptables + ipset), `dryrun` (log what would be done), or `auto` (nftables when the kernel has it, else iptables)",
			decode: func(d *decoder, n *node, v *Daemon) {
				v.Firewall, _ = d.oneOf(n, "auto", "nftables", "iptables", "dryrun")
			},
			show: func(v *Daemon) any { return v.Firewall },
		},
		{
			name: "on_stop", typ: "string", def: "keep",
			doc:    "`keep`: bans stay in the kernel when rampart stops and expire there by their timeouts; `flush`: remove the bans' chains and sets on stop (and the table when nothing else is in it)",
			decode: func(d *decoder, n *node, v *Daemon) { v.OnStop, _ = d.oneOf(n, "keep", "flush") },
			show:   func(v *Daemon) any { return v.OnStop },
		},
		{
			name: "metrics_listen", typ: "string", def: "", defDoc: "`\"\"` (off)",
			doc: "`host:port` for Prometheus `/metrics`, e.g. `127.0.0.1:9731`",
			decode: func(d *decoder, n *node, v *Daemon) {
				s, ok := d.str(n)
				if ok && s != "" {
					if err := checkListen(s); err != nil {
						d.fail(n, "%q %v (use host:port, e.g. 127.0.0.1:9731, or \"\" for off)", s, err)
					}
				}
				v.MetricsListen = s
			},
			show: func(v *Daemon) any { return v.MetricsListen },
		},
		{
			name: "max_line_bytes", typ: "integer", def: int64(16384),
			doc: "256 … 16 MiB; longer log lines are cut to this length (and counted in `rampart_logsource_lines_truncated_total`)",
			decode: func(d *decoder, n *node, v *Daemon) {
				i, _ := d.integer(n, 256, 16<<20)
				v.MaxLineBytes = int(i)
			},
			show: func(v *Daemon) any { return v.MaxLineBytes },
		},
		{
			name: "history_keep", typ: "duration", def: "365d",
			doc: "how long the ban history is kept (at least `1d`, or `permanent`); `bantime.increment` counts earlier bans from it. Older entries are purged at start and daily (Fail2ban's `dbpurgeage`)",
			decode: func(d *decoder, n *node, v *Daemon) {
				t, ok := d.duration(n)
				if !ok {
					return
				}
				if t != Permanent && t < 24*time.Hour {
					d.fail(n, "must be at least 1d, or \"permanent\" (bantime.increment counts earlier bans from this history)")
					return
				}
				v.HistoryKeep = t
			},
			show: func(v *Daemon) any { return FormatDuration(v.HistoryKeep) },
		},
	}
}

func checkListen(s string) error {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("is not host:port")
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("has no valid port")
	}
	return nil
}
