package config

import (
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Alert is one [alerts.NAME] table: where notifications go and which
// events they carry.
type Alert struct {
	Name string
	// Type is "webhook", "slack", "ntfy" or "email".
	Type string
	// URL is the endpoint of webhook, slack and ntfy alerts (ntfy: the
	// topic's URL).
	URL string
	// Kinds are the event kinds that alert ("ban", "unban", …).
	Kinds []string
	// Jails, when set, limits the alert to these jails.
	Jails []string
	// Digest is how long events are gathered into one message; 0 sends each
	// event alone.
	Digest time.Duration
	// MinSeverity, when set, keeps only events of that severity or above
	// among those that carry one.
	MinSeverity string
	// AuditBelow and AuditDrop (0: off) select the audit results that
	// alert: a score below AuditBelow, or a drop of AuditDrop points.
	AuditBelow, AuditDrop int
	// SMTP settings of email alerts.
	SMTP         string // host:port
	From         string
	To           []string
	Username     string
	PasswordFile string
	// TLS is "starttls" (required), "tls" (implicit, port 465),
	// "opportunistic" or "none".
	TLS string
}

// alertsSection is [alerts]: one [alerts.NAME] table per alert.
type alertsSection struct{}

func (alertsSection) name() string { return "alerts" }

func (alertsSection) decode(d *decoder, t *node, c *Config) {
	if t == nil {
		return
	}
	for _, n := range t.sortedKids() {
		a := defaults(alertKeys())
		a.Name = n.path[len(n.path)-1]
		if n.kids == nil {
			d.fail(n, "must be a table: [alerts.%s]", a.Name)
			continue
		}
		decodeTable(d, n, alertKeys(), &a, nil)
		checkAlert(d, n, &a)
		c.Alerts = append(c.Alerts, a)
	}
	slices.SortFunc(c.Alerts, func(a, b Alert) int { return strings.Compare(a.Name, b.Name) })
}

// checkAlert checks what one key alone cannot: the keys each type needs.
// A key that is set but was refused has been reported already.
func checkAlert(d *decoder, n *node, a *Alert) {
	set := func(k string) bool { _, ok := n.kids[k]; return ok }
	switch {
	case a.Type == "":
		if !set("type") {
			d.fail(n, "type is missing (webhook, slack, ntfy or email)")
		}
	case a.Type == "email":
		if !set("smtp") || !set("from") || !set("to") {
			d.fail(n, "an email alert needs smtp (host:port), from and to")
		}
	case !set("url"):
		d.fail(n, "a %s alert needs url", a.Type)
	}
}

func (alertsSection) show(c *Config) any {
	if len(c.Alerts) == 0 {
		return nil
	}
	out := make(map[string]any, len(c.Alerts))
	for i := range c.Alerts {
		out[c.Alerts[i].Name] = showTable(alertKeys(), &c.Alerts[i])
	}
	return out
}

// alertKinds are the event kinds an alert may carry.
var alertKinds = []string{"finding", "ban", "unban", "expiry", "reload", "source-error",
	"integrity-change", "host-change", "audit-result", "policy", "firewall-restored"}

// alertKeys declares the keys of [alerts.NAME].
func alertKeys() []key[Alert] {
	return []key[Alert]{
		{
			name: "type", typ: "string",
			doc:    "`webhook` (JSON POST), `slack` (incoming webhook), `ntfy` (topic URL) or `email` (SMTP)",
			decode: func(d *decoder, n *node, v *Alert) { v.Type, _ = d.oneOf(n, "webhook", "slack", "ntfy", "email") },
			show:   func(v *Alert) any { return v.Type },
		},
		{
			name: "url", typ: "string", defDoc: "-",
			doc: "the endpoint of a `webhook`, `slack` or `ntfy` alert (`http://` or `https://`)",
			decode: func(d *decoder, n *node, v *Alert) {
				s, ok := d.str(n)
				if !ok {
					return
				}
				u, err := url.Parse(s)
				if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
					d.fail(n, "%q is not an http:// or https:// URL", s)
					return
				}
				v.URL = s
			},
			show: func(v *Alert) any { return v.URL }, omitEmpty: true,
		},
		{
			name: "kinds", typ: "list", def: []any{"ban"},
			doc: "the event kinds that alert: " + strings.Join(alertKinds, ", "),
			decode: func(d *decoder, n *node, v *Alert) {
				l, ok := d.list(n, false)
				if !ok {
					return
				}
				for _, k := range l {
					if !slices.Contains(alertKinds, k) {
						d.fail(n, "unknown kind %q (want %s)", k, strings.Join(alertKinds, ", "))
						return
					}
				}
				v.Kinds = l
			},
			show: func(v *Alert) any { return nonNil(v.Kinds) },
		},
		{
			name: "jails", typ: "list", defDoc: "every jail",
			doc:    "only events of these jails (events that belong to no jail — integrity, host and audit events, reloads — are not filtered by jail)",
			decode: func(d *decoder, n *node, v *Alert) { v.Jails, _ = d.list(n, false) },
			show:   func(v *Alert) any { return nonNil(v.Jails) }, omitEmpty: true,
		},
		{
			name: "digest", typ: "duration", def: "30s",
			doc: "events are gathered this long into one message that summarises them (counts, top addresses); `0` sends each event alone; at most `1h`",
			decode: func(d *decoder, n *node, v *Alert) {
				t, ok := d.duration(n)
				if ok && (t < 0 || t > time.Hour) {
					d.fail(n, "must be 0 to 1h")
					return
				}
				v.Digest = t
			},
			show: func(v *Alert) any { return FormatDuration(v.Digest) },
		},
		{
			name: "min_severity", typ: "string", defDoc: "every severity",
			doc: "only events of this severity or above (`info`, `low`, `medium`, `high`, `critical`) among those that carry one: findings, integrity and host changes; events without a severity (bans, unbans, reloads…) pass, audit results are judged by `audit_below` and `audit_drop`",
			decode: func(d *decoder, n *node, v *Alert) {
				v.MinSeverity, _ = d.oneOf(n, "info", "low", "medium", "high", "critical")
			},
			show: func(v *Alert) any { return v.MinSeverity }, omitEmpty: true,
		},
		{
			name: "audit_below", typ: "integer", def: int64(0),
			doc: "with kind `audit-result`: an audit alerts when its score (0–100) is below this; `0` is off. With neither this nor `audit_drop` every audit result alerts; an audit that did not run always does",
			decode: func(d *decoder, n *node, v *Alert) {
				if i, ok := d.integer(n, 0, 100); ok {
					v.AuditBelow = int(i)
				}
			},
			show: func(v *Alert) any { return int64(v.AuditBelow) },
		},
		{
			name: "audit_drop", typ: "integer", def: int64(0),
			doc: "with kind `audit-result`: an audit alerts when its score fell by this many points or more since the previous result (the history's last one at start); `0` is off",
			decode: func(d *decoder, n *node, v *Alert) {
				if i, ok := d.integer(n, 0, 100); ok {
					v.AuditDrop = int(i)
				}
			},
			show: func(v *Alert) any { return int64(v.AuditDrop) },
		},
		{
			name: "smtp", typ: "string", defDoc: "-",
			doc: "`host:port` of the mail server (email)",
			decode: func(d *decoder, n *node, v *Alert) {
				s, ok := d.str(n)
				if ok {
					if err := checkListen(s); err != nil || strings.HasPrefix(s, ":") {
						d.fail(n, "%q: want host:port, e.g. mail.example.com:587", s)
						return
					}
					v.SMTP = s
				}
			},
			show: func(v *Alert) any { return v.SMTP }, omitEmpty: true,
		},
		{
			name: "from", typ: "string", defDoc: "-",
			doc:    "sender address (email)",
			decode: func(d *decoder, n *node, v *Alert) { v.From = mailAddr(d, n) },
			show:   func(v *Alert) any { return v.From }, omitEmpty: true,
		},
		{
			name: "to", typ: "list", defDoc: "-",
			doc: "recipient addresses (email)",
			decode: func(d *decoder, n *node, v *Alert) {
				l, ok := d.list(n, false)
				if !ok {
					return
				}
				for _, a := range l {
					if _, err := mail.ParseAddress(a); err != nil {
						d.fail(n, "%q is not a mail address", a)
						return
					}
				}
				v.To = l
			},
			show: func(v *Alert) any { return nonNil(v.To) }, omitEmpty: true,
		},
		{
			name: "username", typ: "string", defDoc: "-",
			doc:    "SMTP user (email; with password_file)",
			decode: func(d *decoder, n *node, v *Alert) { v.Username, _ = d.str(n) },
			show:   func(v *Alert) any { return v.Username }, omitEmpty: true,
		},
		{
			name: "password_file", typ: "path", defDoc: "-",
			doc:    "file holding the SMTP password (email); keep it mode 0600",
			decode: func(d *decoder, n *node, v *Alert) { v.PasswordFile, _ = d.absPath(n) },
			show:   func(v *Alert) any { return v.PasswordFile }, omitEmpty: true,
		},
		{
			name: "tls", typ: "string", def: "starttls",
			doc:    "email: `starttls` (required), `tls` (implicit TLS, port 465), `opportunistic` or `none`",
			decode: func(d *decoder, n *node, v *Alert) { v.TLS, _ = d.oneOf(n, "starttls", "tls", "opportunistic", "none") },
			show:   func(v *Alert) any { return v.TLS },
		},
	}
}

func mailAddr(d *decoder, n *node) string {
	s, ok := d.str(n)
	if !ok {
		return ""
	}
	if _, err := mail.ParseAddress(s); err != nil {
		d.fail(n, "%q is not a mail address", s)
		return ""
	}
	return s
}
