// Package config loads and validates rampart's TOML configuration: the main
// file, its rampart.d drop-ins and the built-in defaults beneath them. It is
// strict: an unknown key, a bad value or a missing file pattern is refused
// with its file, line, key and what to do.
package config

import (
	_ "embed"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"
)

// DefaultPath is the main configuration file read when --config is not
// given. It may be missing: the built-in configuration then applies alone.
const DefaultPath = "/etc/rampart/rampart.toml"

// DropInDir is the directory, beside the main file, whose *.toml files are
// layered over it in lexical order.
const DropInDir = "rampart.d"

// ManualJail is the jail of bans made with `rampart ban` without --jail;
// no configured jail may take its name.
const ManualJail = "manual"

// BuiltinName names the embedded default configuration in error messages
// and in Config.Files.
const BuiltinName = "(built-in defaults)"

//go:embed default.toml
var defaultTOML string

// Config is the effective configuration after defaults and drop-ins.
type Config struct {
	Daemon Daemon
	// Jails holds every defined jail, enabled or not, sorted by name, with
	// [defaults] applied.
	Jails []Jail
	// Events is the [events] table.
	Events Events
	// Alerts holds the [alerts.NAME] tables, sorted by name.
	Alerts []Alert
	// Log is the [log] table.
	Log Log
	// FIM is the [fim] table.
	FIM FIM
	// Host is the [host] table: host-change collectors.
	Host Host
	// Auditd is the [auditd] table: the audit log as a source.
	Auditd Auditd
	// Web is the [web] table: the dashboard.
	Web Web
	// Fleet is [fleet]: bans shared with other nodes.
	Fleet Fleet
	// Baseline is [baseline]: the default-deny inbound policy.
	Baseline Baseline
	// Limits holds the [limits.NAME] tables, sorted by name.
	Limits []Limit
	// Portscan is [portscan]: port-scan bans.
	Portscan Portscan
	// Audit is [audit]: the daemon's scheduled audit.
	Audit Audit
	// Blocklists holds the [blocklists.NAME] tables, sorted by name.
	Blocklists []Blocklist
	// Files lists the layers read, lowest first; the first is BuiltinName.
	Files []string
	// Warnings are problems that do not stop the daemon, such as a log
	// pattern that matches no file yet.
	Warnings []Error
}

// Daemon is the [daemon] table.
type Daemon struct {
	StateDir      string // SQLite database and other state
	Socket        string // control socket path
	LogLevel      string // debug, info, warn or error
	Firewall      string // auto, nftables, iptables or dryrun
	OnStop        string // keep (bans stay in the kernel and expire there) or flush
	MetricsListen string // host:port for Prometheus /metrics; empty: off
	// SocketGroup names the control socket's read-only group ("" none);
	// SocketGID is its id (0: none).
	SocketGroup  string
	SocketGID    int
	MaxLineBytes int // longer log lines are cut to this length
	// HistoryKeep is how long the ban history (bantime.increment's memory)
	// is kept; Permanent keeps it forever.
	HistoryKeep time.Duration
}

// Backends a jail reads its log from.
const (
	BackendAuto    = "auto"    // files in logpath; the journal if none exists and journalmatch is set
	BackendFile    = "file"    // files in logpath, followed with inotify
	BackendPolling = "polling" // files in logpath, polled (filesystems without inotify)
	BackendJournal = "journal" // journald with journalmatch
)

// Jail is one [jails.NAME] table. Keys keep Fail2ban's names and meanings;
// docs/CONFIG.md gives the mapping.
type Jail struct {
	Name          string
	Enabled       bool
	Filter        string            // filter name; defaults to the jail name
	FilterOptions map[string]string // from filter = "name[key=value, ...]"
	Backend       string            // one of the Backend constants
	LogPath       []string          // absolute file globs
	// JournalMatch holds journalctl match terms; "+" separates alternatives,
	// as on journalctl's command line.
	JournalMatch []string
	AllPorts     bool        // ban on every port (port = "all", or an *-allports banaction)
	Ports        []PortRange // ports to ban on when !AllPorts
	Protocols    []string    // tcp, udp, sctp
	Reject       bool        // reject instead of drop
	MaxRetry     int
	FindTime     time.Duration
	BanTime      time.Duration // Permanent (-1) never expires
	Increment    Increment
	IgnoreIP     []netip.Prefix // addresses and networks never banned (single addresses as /32 or /128)
	IgnoreNames  []string       // DNS names never banned, resolved by the daemon
	IgnoreSelf   bool           // never ban the host's own addresses
	UseDNS       string         // yes, warn, no or raw (Fail2ban's usedns)
	IPv4Prefix   int            // count and ban IPv4 attackers by this prefix length (32: the address only)
	IPv6Prefix   int            // count and ban IPv6 attackers by this prefix length (128: the address only)
	MaxTracked   int            // cap on addresses with failures in the window; oldest evicted
	// WebTextParams: with filter "web-attacks", parameters whose matches
	// never ban on one request (webattack.FreeText.Always).
	WebTextParams []string
	// SuricataSingleHit: with filter "suricata", alerts of Suricata
	// severity 1 … SuricataSingleHit ban on one alert.
	SuricataSingleHit int
}

// Increment is Fail2ban's bantime.increment group, written as the
// [jails.NAME.increment] table.
type Increment struct {
	Enabled      bool
	Factor       float64       // bantime.factor
	Formula      string        // bantime.formula; empty: Fail2ban's default doubling
	Multipliers  []float64     // bantime.multipliers; override Formula when set
	MaxTime      time.Duration // bantime.maxtime; 0: no cap
	RndTime      time.Duration // bantime.rndtime; 0: none
	OverallJails bool          // bantime.overalljails
}

// PortRange is an inclusive range of ports; a single port has First == Last.
type PortRange struct {
	First, Last uint16
}

// String writes r as Fail2ban does: "22" or "1000:2000".
func (r PortRange) String() string {
	if r.First == r.Last {
		return fmt.Sprint(r.First)
	}
	return fmt.Sprintf("%d:%d", r.First, r.Last)
}

// Jail returns the jail called name.
func (c *Config) Jail(name string) (*Jail, bool) {
	i, ok := slices.BinarySearchFunc(c.Jails, name, func(j Jail, n string) int { return strings.Compare(j.Name, n) })
	if !ok {
		return nil, false
	}
	return &c.Jails[i], true
}

// Enabled returns the enabled jails, sorted by name.
func (c *Config) Enabled() []Jail {
	var out []Jail
	for _, j := range c.Jails {
		if j.Enabled {
			out = append(out, j)
		}
	}
	return out
}

// FilterSpec writes the jail's filter as in the file: "name[k=v, ...]".
func (j *Jail) FilterSpec() string {
	if len(j.FilterOptions) == 0 {
		return j.Filter
	}
	keys := make([]string, 0, len(j.FilterOptions))
	for k := range j.FilterOptions {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		v := j.FilterOptions[k]
		if strings.ContainsAny(v, `,]"' `) || v == "" {
			v = `"` + strings.ReplaceAll(v, `"`, `\"`) + `"`
		}
		parts[i] = k + "=" + v
	}
	return j.Filter + "[" + strings.Join(parts, ", ") + "]"
}

// Default returns the built-in configuration alone: the sshd jail with
// Debian's Fail2ban settings.
func Default() *Config {
	c, err := load(layersFromBuiltin(), Options{SkipFileChecks: true})
	if err != nil {
		// The embedded file is validated by TestDefault.
		panic("config: built-in configuration is invalid: " + err.Error())
	}
	return c
}
