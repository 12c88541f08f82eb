package config

// Auditd is the [auditd] table: auditd's log as a source (docs/FIM.md).
type Auditd struct {
	// Enabled follows the log in the daemon.
	Enabled bool
	// Log is the audit log auditd writes.
	Log string
	// Keys are the rule keys (auditctl -k) whose events are reported.
	Keys []string
}

// auditdSection is [auditd]: the audit log as a source.
type auditdSection struct{}

func (auditdSection) name() string { return "auditd" }

func (auditdSection) decode(d *decoder, t *node, c *Config) {
	c.Auditd = defaults(auditdKeys())
	if t != nil {
		decodeTable(d, t, auditdKeys(), &c.Auditd, nil)
	}
}

func (auditdSection) show(c *Config) any { return showTable(auditdKeys(), &c.Auditd) }

// auditdKeys declares the keys of [auditd].
func auditdKeys() []key[Auditd] {
	return []key[Auditd]{
		{
			name: "enabled", typ: "boolean", def: false,
			doc:    "follow the audit log in the daemon: events whose key is in `keys` become `integrity-change` events naming the file, syscall, executable, auid and uid",
			decode: func(d *decoder, n *node, v *Auditd) { v.Enabled, _ = d.boolean(n) },
			show:   func(v *Auditd) any { return v.Enabled },
		},
		{
			name: "log", typ: "path", def: "/var/log/audit/audit.log",
			doc:    "the log auditd writes (followed across rotation; RAW or ENRICHED format)",
			decode: func(d *decoder, n *node, v *Auditd) { v.Log, _ = d.absPath(n) },
			show:   func(v *Auditd) any { return v.Log },
		},
		{
			name: "keys", typ: "strings", def: []any{"identity", "scope", "sshd", "sshd_config", "binaries"},
			doc: "audit rule keys (`auditctl -k KEY`) whose events are reported; the defaults are the keys of the rules `rampart audit` recommends (identity, scope for sudoers, sshd) and `sshd_config`",
			decode: func(d *decoder, n *node, v *Auditd) {
				list, ok := d.list(n, false)
				if ok && len(list) == 0 {
					d.fail(n, "empty: name at least one key, or set enabled = false")
					return
				}
				v.Keys = list
			},
			show: func(v *Auditd) any { return v.Keys },
		},
	}
}
