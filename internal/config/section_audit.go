package config

import "time"

// Audit is the [audit] table: the daemon runs `rampart audit`'s checks
// on a schedule and publishes the score.
type Audit struct {
	// Schedule is how often the checks run; 0 turns the daemon's audit off.
	Schedule time.Duration
	// Delay is how long after start the first run waits.
	Delay time.Duration
	// Config is the audit's own configuration (audit.toml); empty: its
	// default path, when that file exists.
	Config string
}

// auditSection is [audit].
type auditSection struct{}

func (auditSection) name() string { return "audit" }

func (auditSection) decode(d *decoder, t *node, c *Config) {
	c.Audit = defaults(auditKeys())
	if t != nil {
		decodeTable(d, t, auditKeys(), &c.Audit, nil)
	}
}

func (auditSection) show(c *Config) any { return showTable(auditKeys(), &c.Audit) }

// auditKeys declares the keys of [audit].
func auditKeys() []key[Audit] {
	return []key[Audit]{
		{
			name: "schedule", typ: "duration", def: "24h",
			doc: "how often the daemon runs the audit's checks (an `audit-result` event, `rampart_audit_score`); `0` turns it off; else at least `10m`",
			decode: func(d *decoder, n *node, v *Audit) {
				t, ok := d.duration(n)
				if !ok {
					return
				}
				if t == Permanent || (t != 0 && t < 10*time.Minute) {
					d.fail(n, "must be 0 (off) or at least 10m (the checks run commands and probes)")
					return
				}
				v.Schedule = t
			},
			show: func(v *Audit) any { return FormatDuration(v.Schedule) },
		},
		{
			name: "delay", typ: "duration", def: "2m",
			doc: "how long after start the first run waits, so that start-up and restarts stay light; `0` runs at once; at most `24h`",
			decode: func(d *decoder, n *node, v *Audit) {
				t, ok := d.duration(n)
				if ok && (t < 0 || t > 24*time.Hour) {
					d.fail(n, "must be 0 to 24h")
					return
				}
				if ok {
					v.Delay = t
				}
			},
			show: func(v *Audit) any { return FormatDuration(v.Delay) },
		},
		{
			name: "config", typ: "path", defDoc: "/etc/rampart/audit.toml when it exists",
			doc:    "the audit's own configuration (which checks are waived, backup paths, …), as `rampart audit --config` reads it",
			decode: func(d *decoder, n *node, v *Audit) { v.Config, _ = d.absPath(n) },
			show:   func(v *Audit) any { return v.Config }, omitEmpty: true,
		},
	}
}
