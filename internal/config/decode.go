package config

import (
	"fmt"
	"math"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-ids/rampart/internal/jail"
)

// decoder turns the merged tree into a Config, collecting every error.
type decoder struct {
	opt   Options
	errs  Errors
	warns Errors
}

func (d *decoder) fail(n *node, format string, args ...any) {
	d.errs = append(d.errs, Error{File: n.file, Line: n.line, Key: n.key(), Msg: fmt.Sprintf(format, args...)})
}

// failed reports whether an error was already recorded for n's key.
func (d *decoder) failed(n *node) bool {
	k := n.key()
	return slices.ContainsFunc(d.errs, func(e Error) bool { return e.Key == k && e.File == n.file })
}

func (d *decoder) warn(n *node, format string, args ...any) {
	d.warns = append(d.warns, Error{File: n.file, Line: n.line, Key: n.key(), Msg: fmt.Sprintf(format, args...)})
}

// unknown reports a key the schema does not have, with a suggestion.
func (d *decoder) unknown(n *node, known []string, hint string) {
	last := n.path[len(n.path)-1]
	switch {
	case hint != "":
		d.fail(n, "unknown key: %s", hint)
	case suggest(last, known) != "":
		d.fail(n, "unknown key (did you mean %q?)", suggest(last, known))
	default:
		d.fail(n, "unknown key (known keys here: %s)", strings.Join(known, ", "))
	}
}

func (d *decoder) config(root *node) *Config {
	c := &Config{}
	daemon, defaults, jails := root.kids["daemon"], root.kids["defaults"], root.kids["jails"]
	for _, n := range root.sortedKids() {
		name := n.path[0]
		switch name {
		case "daemon", "defaults", "jails":
			if n.kids == nil {
				d.fail(n, "must be a table, e.g. [%s]", name)
			}
		case "DEFAULT", "Default", "default":
			d.unknown(n, nil, "Fail2ban's [DEFAULT] section is [defaults] here")
		default:
			hint := ""
			if n.kids != nil {
				hint = fmt.Sprintf("jails are tables under jails: write [jails.%s]", name)
			}
			d.unknown(n, []string{"daemon", "defaults", "jails"}, hint)
		}
	}
	if daemon != nil && daemon.kids != nil {
		c.Daemon = d.daemon(daemon)
	}
	base := jailDefaults()
	if defaults != nil && defaults.kids != nil {
		d.jailKeys(&base, defaults)
	}
	if jails != nil && jails.kids != nil {
		for _, n := range jails.sortedKids() {
			c.Jails = append(c.Jails, d.jail(n, base, defaults))
		}
	}
	slices.SortFunc(c.Jails, func(a, b Jail) int { return strings.Compare(a.Name, b.Name) })
	return c
}

func daemonKeys() []string {
	return []string{"state_dir", "socket", "log_level", "firewall", "on_stop", "metrics_listen", "max_line_bytes", "history_keep"}
}

func (d *decoder) daemon(t *node) Daemon {
	var dm Daemon
	for _, n := range t.sortedKids() {
		switch n.path[len(n.path)-1] {
		case "state_dir":
			dm.StateDir, _ = d.absPath(n)
		case "socket":
			dm.Socket, _ = d.absPath(n)
			if len(dm.Socket) > 107 {
				d.fail(n, "path is %d bytes; a unix socket path must be at most 107", len(dm.Socket))
			}
		case "log_level":
			dm.LogLevel, _ = d.oneOf(n, "debug", "info", "warn", "error")
		case "firewall":
			dm.Firewall, _ = d.oneOf(n, "auto", "nftables", "iptables", "dryrun")
		case "on_stop":
			dm.OnStop, _ = d.oneOf(n, "keep", "flush")
		case "metrics_listen":
			if s, ok := d.str(n); ok && s != "" {
				if err := checkListen(s); err != nil {
					d.fail(n, "%q %v (use host:port, e.g. 127.0.0.1:9731, or \"\" for off)", s, err)
				}
				dm.MetricsListen = s
			}
		case "max_line_bytes":
			v, _ := d.integer(n, 256, 16<<20)
			dm.MaxLineBytes = int(v)
		case "history_keep":
			if v, ok := d.duration(n); ok {
				if v != Permanent && v < 24*time.Hour {
					d.fail(n, "must be at least 1d, or \"permanent\" (bantime.increment counts earlier bans from this history)")
					break
				}
				dm.HistoryKeep = v
			}
		default:
			d.unknown(n, daemonKeys(), "")
		}
	}
	return dm
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

// jailDefaults holds the values a jail has when neither [defaults] nor its
// own table sets a key: Fail2ban's jail.conf defaults.
func jailDefaults() Jail {
	return Jail{
		Backend:    BackendAuto,
		AllPorts:   true,
		Protocols:  []string{"tcp"},
		MaxRetry:   5,
		FindTime:   10 * time.Minute,
		BanTime:    10 * time.Minute,
		Increment:  Increment{Factor: 1},
		IgnoreSelf: true,
		UseDNS:     "warn",
		IPv4Prefix: 32,
		IPv6Prefix: 128,
		MaxTracked: jail.DefaultMaxTracked,
	}
}

var jailNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,47}$`)

// jail decodes one [jails.NAME] table over base and checks the result.
func (d *decoder) jail(t *node, base Jail, defaults *node) Jail {
	j := base
	j.Name = t.path[len(t.path)-1]
	j.Protocols = slices.Clone(base.Protocols)
	j.LogPath = slices.Clone(base.LogPath)
	j.JournalMatch = slices.Clone(base.JournalMatch)
	j.Ports = slices.Clone(base.Ports)
	j.IgnoreIP = slices.Clone(base.IgnoreIP)
	j.IgnoreNames = slices.Clone(base.IgnoreNames)
	j.Increment.Multipliers = slices.Clone(base.Increment.Multipliers)
	if base.FilterOptions != nil {
		j.FilterOptions = make(map[string]string, len(base.FilterOptions))
		for k, v := range base.FilterOptions {
			j.FilterOptions[k] = v
		}
	}
	if !jailNameRE.MatchString(j.Name) {
		d.fail(t, "jail name %q must be 1-48 letters, digits, '_', '.' or '-', starting with a letter or digit", j.Name)
	}
	if j.Name == ManualJail {
		d.fail(t, "the jail name %q is reserved for bans made with `rampart ban`; choose another name", j.Name)
	}
	if t.kids == nil {
		d.fail(t, "must be a table: [jails.%s]", j.Name)
		return j
	}
	d.jailKeys(&j, t)
	if j.Filter == "" {
		j.Filter = j.Name // Fail2ban: filter = %(__name__)s
	}
	if !j.Enabled {
		return j
	}
	d.checkJail(&j, t, defaults)
	return j
}

// checkJail checks what only makes sense for an enabled jail: a log source,
// the filter, and log files on disk.
func (d *decoder) checkJail(j *Jail, t, defaults *node) {
	at := func(key string) *node {
		if n, ok := t.kids[key]; ok {
			return n
		}
		if defaults != nil {
			if n, ok := defaults.kids[key]; ok {
				return n
			}
		}
		return t
	}
	if j.Backend != BackendJournal && len(j.LogPath) == 0 && (j.Backend != BackendAuto || len(j.JournalMatch) == 0) &&
		!d.failed(at("logpath")) {
		d.fail(at("logpath"), "jail %q has no logpath (set logpath = [\"/var/log/...\"], or backend = \"journal\" with a journalmatch)", j.Name)
	}
	if j.Increment.Enabled && !d.failed(at("increment")) {
		// The jail package owns the growth formula; let it judge.
		inc := j.Increment
		if _, err := jail.New(jail.Config{
			Name: j.Name, MaxRetry: j.MaxRetry, FindTime: j.FindTime, BanTime: j.BanTime,
			IPv4Prefix: j.IPv4Prefix, IPv6Prefix: j.IPv6Prefix, MaxTracked: j.MaxTracked,
			Increment: &jail.Increment{Factor: inc.Factor, Formula: inc.Formula, Multipliers: inc.Multipliers,
				MaxTime: inc.MaxTime, RndTime: inc.RndTime, OverallJails: inc.OverallJails},
		}); err != nil {
			n := at("increment")
			if f, ok := n.kids["formula"]; ok {
				n = f
			}
			d.fail(n, "%v (see docs/CONFIG.md)", err)
		}
	}
	if d.opt.FilterExists != nil && j.Filter != "" && !d.opt.FilterExists(j.Filter) {
		d.fail(at("filter"), "unknown filter %q (see `rampart filter list`, or give the path of a filter file)", j.Filter)
	}
	if d.opt.SkipFileChecks || j.Backend == BackendJournal {
		return
	}
	found := false
	type miss struct{ pattern, dir string }
	var misses []miss
	for _, p := range j.LogPath {
		m, err := d.opt.Glob(p)
		if err == nil && len(m) > 0 {
			found = true
			continue
		}
		dir := globDir(p)
		if _, err := d.opt.Stat(dir); err != nil {
			// Not even the directory: a typo or a service not installed.
			misses = append(misses, miss{p, dir})
			continue
		}
		misses = append(misses, miss{p, ""})
	}
	if !found && j.Backend == BackendAuto && len(j.JournalMatch) > 0 {
		return // auto falls back to the journal
	}
	for _, m := range misses {
		n := at("logpath")
		if m.dir != "" {
			d.fail(n, "no file matches %q and directory %s does not exist (fix the path, install the service, or set enabled = false)", m.pattern, m.dir)
		} else {
			d.warn(n, "no file matches %q yet; rampart watches for it to appear", m.pattern)
		}
	}
}

// globDir returns the directory part of a glob before its first wildcard.
func globDir(p string) string {
	if i := strings.IndexAny(p, "*?[\\"); i >= 0 {
		p = p[:i]
		if j := strings.LastIndexByte(p, '/'); j >= 0 {
			return max(p[:j], "/")
		}
		return "/"
	}
	if j := strings.LastIndexByte(p, '/'); j > 0 {
		return p[:j]
	}
	return "/"
}

func jailKeyNames() []string {
	return []string{"enabled", "filter", "mode", "backend", "logpath", "journalmatch", "port", "protocol",
		"banaction", "maxretry", "findtime", "bantime", "increment", "ignoreip", "ignoreself", "usedns",
		"ipv4_prefix", "ipv6_prefix", "max_tracked"}
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

// jailKeys applies every key of table t to j.
func (d *decoder) jailKeys(j *Jail, t *node) {
	var mode string
	for _, n := range t.sortedKids() {
		key := n.path[len(n.path)-1]
		switch key {
		case "enabled":
			j.Enabled, _ = d.boolean(n)
		case "filter":
			if s, ok := d.str(n); ok {
				name, opts, err := ParseFilterSpec(s)
				if err != nil {
					d.fail(n, "%v", err)
					break
				}
				j.Filter, j.FilterOptions = name, opts
			}
		case "mode":
			mode, _ = d.str(n)
		case "backend":
			if s, ok := d.str(n); ok {
				if b, ok := backendName(s); ok {
					j.Backend = b
				} else {
					d.fail(n, "%q is not a backend (use auto, file, polling or journal; Fail2ban's pyinotify and systemd are accepted too)", s)
				}
			}
		case "logpath":
			if v, ok := d.list(n, false); ok {
				j.LogPath = nil
				for _, p := range v {
					if err := checkGlob(p); err != nil {
						d.fail(n, "%v", err)
						continue
					}
					j.LogPath = append(j.LogPath, p)
				}
			}
		case "journalmatch":
			if v, ok := d.list(n, false); ok {
				m, err := ParseJournalMatch(strings.Join(v, " "))
				if err != nil {
					d.fail(n, "%v", err)
					break
				}
				j.JournalMatch = m
			}
		case "port":
			all, ports, err := parsePorts(n.val)
			if err != nil {
				d.fail(n, "%v", err)
				break
			}
			j.AllPorts, j.Ports = all, ports
		case "protocol":
			if v, ok := d.list(n, true); ok {
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
			}
		case "banaction":
			if s, ok := d.str(n); ok {
				allPorts, reject, err := parseBanAction(s)
				if err != nil {
					d.fail(n, "%v", err)
					break
				}
				j.Reject = reject
				if allPorts {
					j.AllPorts, j.Ports = true, nil
				}
			}
		case "maxretry":
			v, _ := d.integer(n, 1, jail.MaxMaxRetry)
			if v > 0 {
				j.MaxRetry = int(v)
			}
		case "findtime":
			if v, ok := d.duration(n); ok {
				if v < time.Second {
					d.fail(n, "must be at least 1s (use e.g. 10m)")
					break
				}
				j.FindTime = v
			}
		case "bantime":
			if n.kids != nil {
				d.fail(n, `Fail2ban's bantime.* keys go in the [%s.increment] table here: bantime.increment → enabled, bantime.factor → factor, bantime.maxtime → maxtime, ... (see docs/CONFIG.md)`, toml2(t))
				break
			}
			if v, ok := d.duration(n); ok {
				if v == 0 {
					d.fail(n, "must not be 0 (use e.g. 10m, or -1 for permanent)")
					break
				}
				j.BanTime = v
			}
		case "increment":
			d.increment(&j.Increment, n)
		case "ignoreip":
			if v, ok := d.list(n, true); ok {
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
			}
		case "ignoreself":
			j.IgnoreSelf, _ = d.boolean(n)
		case "usedns":
			j.UseDNS, _ = d.oneOf(n, "yes", "warn", "no", "raw")
		case "ipv4_prefix":
			if v, ok := d.integer(n, 8, 32); ok {
				j.IPv4Prefix = int(v)
			}
		case "ipv6_prefix":
			if v, ok := d.integer(n, 32, 128); ok {
				j.IPv6Prefix = int(v)
			}
		case "max_tracked":
			if v, ok := d.integer(n, 1, 100_000_000); ok {
				j.MaxTracked = int(v)
			}
		default:
			d.unknown(n, jailKeyNames(), fail2banHint(key))
		}
	}
	if mode != "" {
		if j.FilterOptions == nil {
			j.FilterOptions = map[string]string{}
		}
		if _, ok := j.FilterOptions["mode"]; !ok {
			j.FilterOptions["mode"] = mode
		}
	}
}

// toml2 names the table t as a header would.
func toml2(t *node) string {
	if len(t.path) == 0 {
		return ""
	}
	return t.key()
}

func incrementKeys() []string {
	return []string{"enabled", "factor", "formula", "multipliers", "maxtime", "rndtime", "overalljails"}
}

func (d *decoder) increment(inc *Increment, t *node) {
	if t.kids == nil {
		d.fail(t, "must be a table, e.g. increment = { enabled = true, maxtime = \"1w\" }")
		return
	}
	for _, n := range t.sortedKids() {
		switch n.path[len(n.path)-1] {
		case "enabled":
			inc.Enabled, _ = d.boolean(n)
		case "factor":
			if v, ok := d.number(n); ok {
				if v <= 0 || math.IsInf(v, 0) || math.IsNaN(v) {
					d.fail(n, "must be a number above 0 (e.g. 1 or 2)")
					break
				}
				inc.Factor = v
			}
		case "formula":
			if s, ok := d.str(n); ok {
				inc.Formula = strings.TrimSpace(s)
			}
		case "multipliers":
			if v, ok := d.numbers(n); ok {
				inc.Multipliers = v
			}
		case "maxtime":
			if v, ok := d.duration(n); ok {
				if v < 0 {
					d.fail(n, "must be a positive duration (e.g. 1w), or 0 for no cap")
					break
				}
				inc.MaxTime = v
			}
		case "rndtime":
			if v, ok := d.duration(n); ok {
				if v < 0 {
					d.fail(n, "must be a positive duration (e.g. 10m), or 0 for none")
					break
				}
				inc.RndTime = v
			}
		case "overalljails":
			inc.OverallJails, _ = d.boolean(n)
		default:
			d.unknown(n, incrementKeys(), "")
		}
	}
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
