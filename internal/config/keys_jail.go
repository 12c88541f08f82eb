package config

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-ids/rampart/internal/fail2ban"
	"github.com/rampart-ids/rampart/internal/jail"
)

// jailKeys declares the keys of a jail table, [defaults] and
// [jails.NAME]. The order is the order of `config show` and of the table in
// docs/CONFIG.md; increment comes last because TOML writes sub-tables after
// the plain keys.
func jailKeys() []key[Jail] {
	return []key[Jail]{
		{
			name: "enabled", typ: "boolean", def: false, fail2ban: "enabled",
			doc:    "jails are off until enabled (the built-in sshd jail is on)",
			decode: func(d *decoder, n *node, j *Jail) { j.Enabled, _ = d.boolean(n) },
			show:   func(j *Jail) any { return j.Enabled },
			// Only enabled Fail2ban jails are carried over key by key.
			fromFail2ban: func(*f2bJail, string) (any, error) { return true, nil },
		},
		{
			name: "filter", typ: "string", defDoc: "the jail name", fail2ban: "filter",
			doc: "a filter name (built-in, see `rampart filter list`), or the path of a rampart `.toml` or Fail2ban `.conf` filter; with options in Fail2ban's syntax: `\"sshd[mode=aggressive]\"`, `'apache-auth[logtype=\"a, b\"]'`",
			decode: func(d *decoder, n *node, j *Jail) {
				s, ok := d.str(n)
				if !ok {
					return
				}
				name, opts, err := ParseFilterSpec(s)
				if err != nil {
					d.fail(n, "%v", err)
					return
				}
				j.Filter, j.FilterOptions = name, opts
			},
			show:         func(j *Jail) any { return j.FilterSpec() },
			fromFail2ban: fromString,
		},
		{
			name: "mode", typ: "string", defDoc: "—", fail2ban: "mode", late: true,
			doc: "shorthand for the filter option `mode` (`filter = \"sshd\"` + `mode = \"aggressive\"` = `\"sshd[mode=aggressive]\"`)",
			decode: func(d *decoder, n *node, j *Jail) {
				mode, _ := d.str(n)
				if mode == "" {
					return
				}
				if j.FilterOptions == nil {
					j.FilterOptions = map[string]string{}
				}
				if _, ok := j.FilterOptions["mode"]; !ok {
					j.FilterOptions["mode"] = mode
				}
			},
			// Fail2ban interpolates mode into filter; filter carries it over.
		},
		{
			name: "backend", typ: "string", def: BackendAuto, fail2ban: "backend",
			doc: "`auto` (files in `logpath`; the journal if none exists and `journalmatch` is set), `file` (inotify; Fail2ban's `pyinotify` is accepted), `polling` (for filesystems without inotify), `journal` (journald; Fail2ban's `systemd` is accepted)",
			decode: func(d *decoder, n *node, j *Jail) {
				s, ok := d.str(n)
				if !ok {
					return
				}
				if b, ok := backendName(s); ok {
					j.Backend = b
				} else {
					d.fail(n, "%q is not a backend (use auto, file, polling or journal; Fail2ban's pyinotify and systemd are accepted too)", s)
				}
			},
			show: func(j *Jail) any { return j.Backend },
			fromFail2ban: func(f *f2bJail, v string) (any, error) {
				switch b := strings.ToLower(v); {
				case strings.HasPrefix(b, "systemd"):
					return BackendJournal, nil
				case b == "polling":
					return BackendPolling, nil
				case b != "" && b != "auto" && b != "pyinotify" && b != "gamin":
					f.note("backend %q is unknown; rampart uses auto", v)
				}
				return BackendAuto, nil
			},
		},
		{
			name: "logpath", typ: "string or list", defDoc: "—", fail2ban: "logpath",
			doc: "absolute file paths or globs, a string or a list: `[\"/var/log/nginx/*error.log\"]`. New files matching a glob are picked up. Fail2ban's ` tail`/` head` suffixes are refused (rampart resumes from saved positions)",
			decode: func(d *decoder, n *node, j *Jail) {
				v, ok := d.list(n, false)
				if !ok {
					return
				}
				j.LogPath = nil
				for _, p := range v {
					if err := checkGlob(p); err != nil {
						d.fail(n, "%v", err)
						continue
					}
					j.LogPath = append(j.LogPath, p)
				}
			},
			show: func(j *Jail) any { return nonNil(j.LogPath) },
			fromFail2ban: func(_ *f2bJail, v string) (any, error) {
				var out []string
				for _, l := range strings.Split(v, "\n") {
					// "path tail" / "path head" choose where Fail2ban starts
					// reading; rampart always resumes from saved positions.
					l = strings.TrimSpace(l)
					l = strings.TrimSpace(strings.TrimSuffix(strings.TrimSuffix(l, " tail"), " head"))
					if l != "" {
						out = append(out, l)
					}
				}
				if len(out) == 0 {
					return nil, nil
				}
				return out, nil
			},
		},
		{
			name: "journalmatch", typ: "string or list", defDoc: "— (the filter's)", fail2ban: "journalmatch",
			doc: "journalctl matches, `FIELD=value` terms with `+` between alternatives: `\"_SYSTEMD_UNIT=ssh.service + _COMM=sshd\"`; a string or a list of strings",
			decode: func(d *decoder, n *node, j *Jail) {
				v, ok := d.list(n, false)
				if !ok {
					return
				}
				m, err := ParseJournalMatch(strings.Join(v, " "))
				if err != nil {
					d.fail(n, "%v", err)
					return
				}
				j.JournalMatch = m
			},
			show:         func(j *Jail) any { return strings.Join(j.JournalMatch, " ") },
			fromFail2ban: fromString,
		},
		{
			name: "port", typ: "port or list", def: "all", fail2ban: "port",
			doc: "ports to ban on: a number, a service name (`ssh`, `http`, `https`, `smtp`, `submission`, `imaps`, …; others from `/etc/services`), a range `\"8000:8100\"` (or `8000-8100`), a comma-separated string or a list (`[\"ssh\", 2222]`), or `\"all\"` (also `0:65535`)",
			decode: func(d *decoder, n *node, j *Jail) {
				all, ports, err := parsePorts(n.val)
				if err != nil {
					d.fail(n, "%v", err)
					return
				}
				j.AllPorts, j.Ports = all, ports
			},
			show: func(j *Jail) any {
				if j.AllPorts {
					return "all"
				}
				ps := make([]string, len(j.Ports))
				for i, p := range j.Ports {
					ps[i] = p.String()
				}
				return strings.Join(ps, ",")
			},
			fromFail2ban: func(f *f2bJail, v string) (any, error) {
				if f.AllPorts {
					return "all", nil
				}
				return v, nil
			},
		},
		{
			name: "protocol", typ: "string or list", def: "tcp", fail2ban: "protocol",
			doc: "`tcp`, `udp`, `sctp`, a list or comma-separated string of them, or `all`",
			decode: func(d *decoder, n *node, j *Jail) {
				v, ok := d.list(n, true)
				if !ok {
					return
				}
				var protos []string
				for _, p := range v {
					p = strings.ToLower(p)
					switch p {
					case "tcp", "udp", "sctp":
						if !slices.Contains(protos, p) {
							protos = append(protos, p)
						}
					case "all":
						protos = append(protos[:0], "tcp", "udp", "sctp")
					default:
						d.fail(n, "%q is not a protocol (use tcp, udp, sctp, a list of them, or all)", p)
					}
				}
				if len(protos) > 0 {
					j.Protocols = protos
				}
			},
			show:         func(j *Jail) any { return strings.Join(j.Protocols, ",") },
			fromFail2ban: fromString,
		},
		{
			name: "banaction", typ: "string", def: "drop", fail2ban: "banaction",
			doc: "`drop` or `reject` (see below)",
			decode: func(d *decoder, n *node, j *Jail) {
				s, ok := d.str(n)
				if !ok {
					return
				}
				allPorts, reject, err := parseBanAction(s)
				if err != nil {
					d.fail(n, "%v", err)
					return
				}
				j.Reject = reject
				if allPorts {
					j.AllPorts, j.Ports = true, nil
				}
			},
			show: func(j *Jail) any {
				if j.Reject {
					return "reject"
				}
				return "drop"
			},
			// What Fail2ban does is in its action, which names banaction.
			fromFail2ban: func(f *f2bJail, _ string) (any, error) {
				// Fail2ban's firewall actions reject unless blocktype says drop.
				if f.Blocktype == "drop" {
					return "drop", nil
				}
				return "reject", nil
			},
		},
		{
			name: "maxretry", typ: "integer", def: int64(5), fail2ban: "maxretry",
			doc: fmt.Sprintf("failures inside `findtime` that trigger a ban (1 … %d)", jail.MaxMaxRetry),
			decode: func(d *decoder, n *node, j *Jail) {
				if v, ok := d.integer(n, 1, jail.MaxMaxRetry); ok {
					j.MaxRetry = int(v)
				}
			},
			show: func(j *Jail) any { return j.MaxRetry },
			fromFail2ban: func(f *f2bJail, v string) (any, error) {
				if v == "" {
					return nil, nil
				}
				n, err := strconv.Atoi(v)
				if err != nil {
					return nil, fmt.Errorf("%s: jail %q: maxretry %q is not a number", f.Where, f.Name, v)
				}
				return n, nil
			},
		},
		{
			name: "findtime", typ: "duration", def: "10m", fail2ban: "findtime",
			doc: "the window failures are counted in (at least 1s)",
			decode: func(d *decoder, n *node, j *Jail) {
				v, ok := d.duration(n)
				if !ok {
					return
				}
				if v < time.Second {
					d.fail(n, "must be at least 1s (use e.g. 10m)")
					return
				}
				j.FindTime = v
			},
			show:         func(j *Jail) any { return FormatDuration(j.FindTime) },
			fromFail2ban: fromString,
		},
		{
			name: "bantime", typ: "duration", def: "10m", fail2ban: "bantime",
			doc: "how long a ban lasts; `-1` or `\"permanent\"` never expires",
			decode: func(d *decoder, n *node, j *Jail) {
				if n.kids != nil {
					d.fail(n, `Fail2ban's bantime.* keys go in the [%s.increment] table here: bantime.increment → enabled, bantime.factor → factor, bantime.maxtime → maxtime, ... (see docs/CONFIG.md)`, tableKey(n))
					return
				}
				v, ok := d.duration(n)
				if !ok {
					return
				}
				if v == 0 {
					d.fail(n, "must not be 0 (use e.g. 10m, or -1 for permanent)")
					return
				}
				j.BanTime = v
			},
			show:         func(j *Jail) any { return FormatDuration(j.BanTime) },
			fromFail2ban: fromString,
		},
		{
			name: "ignoreip", typ: "string or list", def: []any{"127.0.0.1/8", "::1"}, fail2ban: "ignoreip",
			doc: "addresses, CIDRs (also `192.0.2.0/255.255.255.0`) and DNS names never banned; a list, or Fail2ban's space-separated string. Non-canonical CIDRs are masked (`127.0.0.1/8` is `127.0.0.0/8`)",
			decode: func(d *decoder, n *node, j *Jail) {
				v, ok := d.list(n, true)
				if !ok {
					return
				}
				j.IgnoreIP, j.IgnoreNames = nil, nil
				for _, s := range v {
					p, name, err := parseIgnore(s)
					switch {
					case err != nil:
						d.fail(n, "%v", err)
					case name != "":
						j.IgnoreNames = append(j.IgnoreNames, name)
					default:
						j.IgnoreIP = append(j.IgnoreIP, p)
					}
				}
			},
			show: func(j *Jail) any {
				out := make([]string, 0, len(j.IgnoreIP)+len(j.IgnoreNames))
				for _, p := range j.IgnoreIP {
					if p.IsSingleIP() {
						out = append(out, p.Addr().String())
					} else {
						out = append(out, p.String())
					}
				}
				return append(out, j.IgnoreNames...)
			},
			fromFail2ban: func(_ *f2bJail, v string) (any, error) {
				out := strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ',' || r == '\n' || r == '\t' })
				if len(out) == 0 {
					return nil, nil
				}
				return out, nil
			},
		},
		{
			name: "ignoreself", typ: "boolean", def: true, fail2ban: "ignoreself",
			doc:          "never ban the host's own addresses",
			decode:       func(d *decoder, n *node, j *Jail) { j.IgnoreSelf, _ = d.boolean(n) },
			show:         func(j *Jail) any { return j.IgnoreSelf },
			fromFail2ban: fromBool,
		},
		{
			name: "usedns", typ: "string", def: "warn", fail2ban: "usedns",
			doc:    "Fail2ban's meaning, for host names a filter captures: `yes` and `warn` resolve them (`warn` logs it), `no` ignores them, `raw` uses them as they are",
			decode: func(d *decoder, n *node, j *Jail) { j.UseDNS, _ = d.oneOf(n, "yes", "warn", "no", "raw") },
			show:   func(j *Jail) any { return j.UseDNS },
			fromFail2ban: func(_ *f2bJail, v string) (any, error) {
				return strings.ToLower(v), nil
			},
		},
		{
			name: "ipv4_prefix", typ: "integer", def: int64(32),
			doc: "count failures and ban IPv4 attackers by this prefix length, e.g. `24` (8 … 32)",
			decode: func(d *decoder, n *node, j *Jail) {
				if v, ok := d.integer(n, 8, 32); ok {
					j.IPv4Prefix = int(v)
				}
			},
			show: func(j *Jail) any { return j.IPv4Prefix },
		},
		{
			name: "ipv6_prefix", typ: "integer", def: int64(128),
			doc: "count failures and ban IPv6 attackers by this prefix length, e.g. `64` to ban the attacker's /64 (32 … 128)",
			decode: func(d *decoder, n *node, j *Jail) {
				if v, ok := d.integer(n, 32, 128); ok {
					j.IPv6Prefix = int(v)
				}
			},
			show: func(j *Jail) any { return j.IPv6Prefix },
		},
		{
			name: "max_tracked", typ: "integer", def: int64(jail.DefaultMaxTracked),
			doc: "most addresses a jail tracks failures for (1 … 100000000); the oldest are evicted past it (counted in `rampart_jail_evictions_total`)",
			decode: func(d *decoder, n *node, j *Jail) {
				if v, ok := d.integer(n, 1, 100_000_000); ok {
					j.MaxTracked = int(v)
				}
			},
			show: func(j *Jail) any { return j.MaxTracked },
		},
		{
			name: "web_text_params", typ: "list", defDoc: "—", omitEmpty: true,
			doc: "for `filter = \"web-attacks\"`: parameter names (lower case) that carry text or a query language this site's users type (Kibana's `_a`, an analytics label such as `se_la`, an in-house tool's `expr`; the built-in free-text parameters, `q`, `jql`, `filter` …, need not be named): a match in one never bans on one request, it counts towards `maxretry`. Looked up like the built-in free-text parameters (`filter[q]` is `q`, `_q` and `$q` are `q`)",
			decode: func(d *decoder, n *node, j *Jail) {
				v, ok := d.list(n, false)
				if !ok {
					return
				}
				j.WebTextParams = nil
				for _, s := range v {
					if s != strings.ToLower(s) || strings.ContainsAny(s, " \t=&") {
						d.fail(n, "%q: must be a lower-case parameter name (e.g. \"jql\")", s)
						continue
					}
					j.WebTextParams = append(j.WebTextParams, s)
				}
			},
			show: func(j *Jail) any { return j.WebTextParams },
		},
		{
			name: "suricata_single_hit", typ: "integer", def: int64(1),
			doc: "for `filter = \"suricata\"` (alerts of an eve.json logpath): alerts of Suricata severity 1 … N ban on their own; higher numbers (less severe) count to `maxretry`; `0`: every alert counts",
			decode: func(d *decoder, n *node, j *Jail) {
				if v, ok := d.integer(n, 0, 255); ok {
					j.SuricataSingleHit = int(v)
				}
			},
			show: func(j *Jail) any { return j.SuricataSingleHit },
		},
		{
			name: "increment", typ: "table", defDoc: "off", fail2ban: "bantime.*",
			doc: "ban time growth for repeat offenders (below)",
			decode: func(d *decoder, n *node, j *Jail) {
				if n.kids == nil {
					d.fail(n, "must be a table, e.g. increment = { enabled = true, maxtime = \"1w\" }")
					return
				}
				decodeTable(d, n, incrementKeys(), &j.Increment, nil)
			},
			show: func(j *Jail) any { return showTable(incrementKeys(), &j.Increment) },
			fromFail2ban: func(f *f2bJail, _ string) (any, error) {
				if !fail2ban.IsTrue(f.Options["bantime.increment"]) {
					return nil, nil
				}
				return fail2banTable(f, incrementKeys())
			},
		},
	}
}

// incrementKeys declares the keys of a jail's increment table: Fail2ban's
// bantime.* options.
func incrementKeys() []key[Increment] {
	return []key[Increment]{
		{
			name: "enabled", typ: "boolean", def: false, fail2ban: "bantime.increment",
			doc:          "lengthen the bans of addresses banned before (the ban history survives restarts)",
			decode:       func(d *decoder, n *node, v *Increment) { v.Enabled, _ = d.boolean(n) },
			show:         func(v *Increment) any { return v.Enabled },
			fromFail2ban: fromBool,
		},
		{
			name: "factor", typ: "number", def: float64(1), fail2ban: "bantime.factor",
			doc: "`banFactor` in the formula (> 0)",
			decode: func(d *decoder, n *node, v *Increment) {
				f, ok := d.number(n)
				if !ok {
					return
				}
				if f <= 0 || math.IsInf(f, 0) || math.IsNaN(f) {
					d.fail(n, "must be a number above 0 (e.g. 1 or 2)")
					return
				}
				v.Factor = f
			},
			show: func(v *Increment) any { return v.Factor },
			fromFail2ban: func(f *f2bJail, v string) (any, error) {
				if v == "" {
					return nil, nil
				}
				x, err := strconv.ParseFloat(v, 64)
				if err != nil {
					return nil, fmt.Errorf("%s: jail %q: bantime.factor %q is not a number", f.Where, f.Name, v)
				}
				return x, nil
			},
		},
		{
			name: "formula", typ: "string", def: "", defDoc: "Fail2ban's", fail2ban: "bantime.formula",
			doc:          "the growth formula, in the subset of Fail2ban's (Python) expression syntax the jail package evaluates — checked at load; empty: `ban.Time * (1<<(ban.Count if ban.Count<20 else 20)) * banFactor`",
			decode:       func(d *decoder, n *node, v *Increment) { s, _ := d.str(n); v.Formula = strings.TrimSpace(s) },
			show:         func(v *Increment) any { return v.Formula },
			fromFail2ban: fromString,
		},
		{
			name: "multipliers", typ: "list of numbers", defDoc: "—", fail2ban: "bantime.multipliers", omitEmpty: true,
			doc: "ban time multipliers for the 1st, 2nd, … repeat (also Fail2ban's `\"1 2 4 8 16\"`); past the list the last one repeats; overrides `formula`",
			decode: func(d *decoder, n *node, v *Increment) {
				if m, ok := d.numbers(n); ok {
					v.Multipliers = m
				}
			},
			show: func(v *Increment) any { return v.Multipliers },
			fromFail2ban: func(f *f2bJail, v string) (any, error) {
				var out []float64
				for _, m := range strings.Fields(v) {
					x, err := strconv.ParseFloat(m, 64)
					if err != nil {
						return nil, fmt.Errorf("%s: jail %q: bantime.multipliers %q is not a list of numbers", f.Where, f.Name, v)
					}
					out = append(out, x)
				}
				if len(out) == 0 {
					return nil, nil
				}
				return out, nil
			},
		},
		{
			name: "maxtime", typ: "duration", def: int64(0), fail2ban: "bantime.maxtime",
			doc: "cap on the grown ban time; `0`: no cap",
			decode: func(d *decoder, n *node, v *Increment) {
				t, ok := d.duration(n)
				if !ok {
					return
				}
				if t < 0 {
					d.fail(n, "must be a positive duration (e.g. 1w), or 0 for no cap")
					return
				}
				v.MaxTime = t
			},
			show:         func(v *Increment) any { return FormatDuration(v.MaxTime) },
			fromFail2ban: fromString,
		},
		{
			name: "rndtime", typ: "duration", def: int64(0), fail2ban: "bantime.rndtime",
			doc: "random extra time up to this, so botnets cannot predict the unban; `0`: none",
			decode: func(d *decoder, n *node, v *Increment) {
				t, ok := d.duration(n)
				if !ok {
					return
				}
				if t < 0 {
					d.fail(n, "must be a positive duration (e.g. 10m), or 0 for none")
					return
				}
				v.RndTime = t
			},
			show:         func(v *Increment) any { return FormatDuration(v.RndTime) },
			fromFail2ban: fromString,
		},
		{
			name: "overalljails", typ: "boolean", def: false, fail2ban: "bantime.overalljails",
			doc:    "count the address's bans in every jail, not only this one",
			decode: func(d *decoder, n *node, v *Increment) { v.OverallJails, _ = d.boolean(n) },
			show:   func(v *Increment) any { return v.OverallJails },
			fromFail2ban: func(_ *f2bJail, v string) (any, error) {
				if fail2ban.IsTrue(v) {
					return true, nil
				}
				return nil, nil
			},
		},
	}
}

// fail2banHint explains Fail2ban jail keys rampart deliberately lacks.
func fail2banHint(key string) string {
	switch key {
	case "action":
		return `rampart bans through its own firewall backend, so Fail2ban actions are not used; choose banaction = "drop" or "reject"`
	case "failregex", "ignoreregex", "prefregex", "datepattern", "maxlines", "journalmatch_filter":
		return fmt.Sprintf("%s belongs in a filter definition; write a filter file and name it in filter", key)
	case "chain":
		return "rampart hooks its own nftables table in front of input and forward; remove chain"
	case "banaction_allports":
		return `use port = "all" (with banaction = "drop" or "reject")`
	case "destemail", "sender", "mta", "action_", "action_mw", "action_mwl":
		return "mail actions are not supported; remove it"
	case "ignorecommand", "ignorecache":
		return "not supported; list the addresses in ignoreip"
	case "logencoding", "logtimezone":
		return "not supported: rampart reads logs as UTF-8 and takes the time zone from the system; remove it"
	case "maxmatches":
		return "not supported; remove it"
	}
	return ""
}

// tableKey names the table holding key n as a header would.
func tableKey(n *node) string {
	return (&node{path: n.path[:len(n.path)-1]}).key()
}

func backendName(s string) (string, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "auto":
		return BackendAuto, true
	case "file", "inotify", "pyinotify", "gamin":
		return BackendFile, true
	case "polling":
		return BackendPolling, true
	case "journal", "journald", "systemd":
		return BackendJournal, true
	}
	return "", false
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
