// Package event is rampart's in-process event bus: the ban manager, the
// jails and the sources publish typed events (a finding, a ban added or
// lifted, a reload, a source error…) and subscribers (metrics, the log, and
// later the event history, the dashboard, alerts and the fleet publisher)
// read them at their own pace.
//
// Publishing never waits for a subscriber: each subscription has a queue of
// its own, bounded by the subscriber's limit. A subscriber that falls behind
// loses the events that do not fit, and its Dropped count says how many.
// The package imports nothing of rampart's, so every layer can use it.
package event

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Kind is what happened.
type Kind uint8

// The kinds of event.
const (
	// Finding: a source saw an address do something (a failed login, an
	// attack request, a port probe). Jail, Rule, Source, Evidence are set.
	Finding Kind = iota + 1
	// BanAdded: a ban was committed and sent to the firewall. Jail,
	// Prefix, Origin, Until (zero: permanent), Count; Latency for a jail's
	// ban is how long it took from reading the deciding line.
	BanAdded
	// BanRemoved: a ban was lifted before its end (an unban). Origin is
	// the ban's; Reason says who lifted it.
	BanRemoved
	// BanExpired: a ban reached its end.
	BanExpired
	// FirewallBatch: one batch of changes went to the kernel. Adds,
	// Removes, Took; Err when it was refused.
	FirewallBatch
	// Reload: the configuration was reloaded (Err when it failed).
	Reload
	// SourceError: a source could not read (Source, Err).
	SourceError
	// FirewallRestored: something outside removed rampart's firewall state
	// (a table, sets or elements) and the ban manager put it back. Count
	// bans were restored in Took; Reason says what was lost.
	FirewallRestored
	// IntegrityChange: a watched file changed (fim). Path, Reason (what
	// changed: content, mode, suid, owner, new, removed…), Severity,
	// Evidence (old and new values, the process when known).
	IntegrityChange
	// HostChange: a host collector saw something new (a SUID file, an
	// account, a listening socket, a unit, a module…). Rule names the
	// collector, Path the object, Severity and Evidence say more.
	HostChange
	// AuditResult: `rampart audit` ran. Score (0-100), Count failing
	// checks, Evidence names them.
	AuditResult
	// PolicyApplied: the baseline firewall policy was applied, rolled back
	// or confirmed. Reason says which, Count how many rules.
	PolicyApplied
)

var kindNames = [...]string{
	Finding: "finding", BanAdded: "ban", BanRemoved: "unban", BanExpired: "expiry",
	FirewallBatch: "firewall-batch", Reload: "reload", SourceError: "source-error",
	FirewallRestored: "firewall-restored", IntegrityChange: "integrity-change",
	HostChange: "host-change", AuditResult: "audit-result", PolicyApplied: "policy",
}

// String returns the kind's name, as `rampart events --kind` takes it.
func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return "unknown"
}

// MarshalText writes the name.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText reads a name.
func (k *Kind) UnmarshalText(b []byte) error {
	v, ok := ParseKind(string(b))
	if !ok {
		return fmt.Errorf("event: unknown kind %q (want one of %s)", b, strings.Join(KindNames(), ", "))
	}
	*k = v
	return nil
}

// ParseKind reads a kind's name.
func ParseKind(s string) (Kind, bool) {
	for k, n := range kindNames {
		if n != "" && n == s {
			return Kind(k), true
		}
	}
	return 0, false
}

// KindNames lists every kind's name.
func KindNames() []string {
	var out []string
	for _, n := range kindNames {
		if n != "" {
			out = append(out, n)
		}
	}
	return out
}

// Event is one thing that happened. Which fields are set depends on Kind.
type Event struct {
	Kind Kind      `json:"kind"`
	Time time.Time `json:"time"`
	// Jail is the jail the event belongs to (its ban set).
	Jail   string       `json:"jail,omitempty"`
	Prefix netip.Prefix `json:"prefix,omitzero"`
	// Origin is the ban's origin in text form ("jail sshd", "manual root").
	Origin string `json:"origin,omitempty"`
	// Rule is the filter or rule that matched.
	Rule     string `json:"rule,omitempty"`
	Severity string `json:"severity,omitempty"`
	// Source names where a finding was read ("/var/log/auth.log", "journald").
	Source string `json:"source,omitempty"`
	// Path is the file or object an integrity or host change is about.
	Path string `json:"path,omitempty"`
	// Score is an audit's score (0-100).
	Score    int       `json:"score,omitempty"`
	Evidence []string  `json:"evidence,omitempty"`
	Until    time.Time `json:"until,omitzero"`
	Count    int       `json:"count,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	// Latency is, for a jail's ban, the time from reading the deciding
	// line to the ban's commit.
	Latency time.Duration `json:"latency,omitempty"`
	// Adds, Removes and Took describe a firewall batch.
	Adds    int           `json:"adds,omitempty"`
	Removes int           `json:"removes,omitempty"`
	Took    time.Duration `json:"took,omitempty"`
	Err     string        `json:"error,omitempty"`
}
