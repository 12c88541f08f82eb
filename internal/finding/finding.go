// Package finding is the one type every source of evidence produces: this
// address did this, seen here, matched by that rule. Log filters make
// findings today; kernel logs, web-attack rules, Suricata alerts and file
// integrity checks make the same type. Jails count findings and decide bans.
package finding

import (
	"context"
	"net/netip"
	"time"
)

// Severity grades a finding. A jail counts findings to maxretry; a finding
// of a single-hit rule (see Finding.SingleHit) bans at once.
type Severity uint8

// The severities, lowest first.
const (
	Info Severity = iota
	Low
	Medium
	High
	Critical
)

var severityNames = [...]string{"info", "low", "medium", "high", "critical"}

// String returns the severity's name.
func (s Severity) String() string {
	if int(s) < len(severityNames) {
		return severityNames[s]
	}
	return "unknown"
}

// ParseSeverity reads a severity name.
func ParseSeverity(s string) (Severity, bool) {
	for i, n := range severityNames {
		if n == s {
			return Severity(i), true
		}
	}
	return 0, false
}

// Finding is what a source reports about one address.
type Finding struct {
	// Time is when it happened (the log line's time when it has one).
	Time time.Time
	// Addr is the address; invalid when the source gave a host name only
	// (Host), which the jail may resolve (usedns).
	Addr netip.Addr
	Host string
	// Source names where it was seen: a file path, "journald", a kernel
	// log group, eve.json…
	Source string
	// Rule is the filter or rule that matched.
	Rule     string
	Severity Severity
	// SingleHit asks the jail to ban on this finding alone, without
	// counting to maxretry (a high-severity attack rule).
	SingleHit bool
	// Evidence is what was seen, e.g. the log line.
	Evidence string
	// Read is when rampart read it (for the ban's latency).
	Read time.Time
	// Key, optional, names what the finding is about beyond its address
	// (a port scan's "tcp/8080"): a jail that counts distinct keys counts
	// a key once per address within its window.
	Key string
	// Backlog marks findings read while catching up on old lines: they
	// count, but ban only if the ban would still be in force.
	Backlog bool
}

// Source produces findings until ctx is done. Run blocks; emit is called
// from Run's goroutine only.
type Source interface {
	Run(ctx context.Context, emit func(Finding)) error
}

// Describer is a Source that can say what it reads, for `rampart status`
// and the start-up log ("/var/log/auth.log (following)", "journald").
type Describer interface {
	Describe() []string
}
