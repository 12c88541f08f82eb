// Package audit runs rampart's hardening checks: each check reads what is in
// force on the host (the effective sshd configuration, the live ruleset, the
// running daemons) or, under --root, the files of a mounted image, and says
// pass, fail, warn, skip or error with the evidence it read and a remediation
// an admin can paste.
package audit

import (
	"context"
	"fmt"
	"strings"
)

// Severity ranks how much a failed check exposes the host.
type Severity int

// Severities, lowest first so they compare with < and >=.
const (
	Low Severity = iota + 1
	Medium
	High
)

// String returns the lowercase name used in reports and flags.
func (s Severity) String() string {
	switch s {
	case Low:
		return "low"
	case Medium:
		return "medium"
	case High:
		return "high"
	}
	return fmt.Sprintf("severity(%d)", int(s))
}

// Weight is how many points a check of this severity is worth in the score.
func (s Severity) Weight() int {
	switch s {
	case High:
		return 10
	case Medium:
		return 5
	case Low:
		return 2
	}
	return 0
}

// MarshalText writes the severity as its name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a severity name.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// ParseSeverity reads "high", "medium" or "low".
func ParseSeverity(s string) (Severity, error) {
	switch strings.ToLower(s) {
	case "high":
		return High, nil
	case "medium":
		return Medium, nil
	case "low":
		return Low, nil
	}
	return 0, fmt.Errorf("severity %q: want high, medium or low", s)
}

// Status is the outcome of one check.
type Status string

// Statuses. Warn means the layer could not be confirmed (usually a fact the
// admin has not declared); skip means the check does not apply or cannot run
// in this mode; error means it tried and failed, with the cause as evidence.
const (
	Pass  Status = "pass"
	Fail  Status = "fail"
	Warn  Status = "warn"
	Skip  Status = "skip"
	Error Status = "error"
)

// Area is one of the ten defence layers.
type Area string

// The ten areas, in report order.
const (
	AreaFirewall   Area = "firewall"
	AreaSSH        Area = "ssh"
	AreaBruteForce Area = "bruteforce"
	AreaIDS        Area = "ids"
	AreaAuditd     Area = "auditd"
	AreaUpdates    Area = "updates"
	AreaMonitoring Area = "monitoring"
	AreaUsers      Area = "users"
	AreaBackups    Area = "backups"
	AreaDocs       Area = "docs"
)

// Areas lists every area in report order.
func Areas() []Area {
	return []Area{AreaFirewall, AreaSSH, AreaBruteForce, AreaIDS, AreaAuditd,
		AreaUpdates, AreaMonitoring, AreaUsers, AreaBackups, AreaDocs}
}

// Title is the human name of the area.
func (a Area) Title() string {
	switch a {
	case AreaFirewall:
		return "Firewall"
	case AreaSSH:
		return "SSH"
	case AreaBruteForce:
		return "Brute-force protection"
	case AreaIDS:
		return "Intrusion detection and file integrity"
	case AreaAuditd:
		return "System auditing (auditd)"
	case AreaUpdates:
		return "Automatic updates"
	case AreaMonitoring:
		return "Monitoring and logging"
	case AreaUsers:
		return "Users and privileges"
	case AreaBackups:
		return "Backups"
	case AreaDocs:
		return "Documentation"
	}
	return string(a)
}

// Check is one hardening test: metadata plus the function that runs it.
type Check struct {
	ID          string   // stable dotted ID, area first: "ssh.password-auth"
	Area        Area     // the layer it belongs to
	Severity    Severity // how bad a failure is
	Title       string   // what must hold, phrased as the good state
	Reads       string   // what it reads (for --explain and docs/AUDIT.md)
	Why         string   // why it matters
	Remediation string   // what to run or write to fix a failure
	Run         func(ctx context.Context, e *Env) Result
}

// Result is what a check found.
type Result struct {
	Status   Status
	Evidence string
	// Remediation overrides the check's generic remediation when the check
	// knows something more precise (the file to edit, the port to close).
	Remediation string
}

func pass(format string, a ...any) Result {
	return Result{Status: Pass, Evidence: fmt.Sprintf(format, a...)}
}

func fail(format string, a ...any) Result {
	return Result{Status: Fail, Evidence: fmt.Sprintf(format, a...)}
}

func warn(format string, a ...any) Result {
	return Result{Status: Warn, Evidence: fmt.Sprintf(format, a...)}
}

func skip(format string, a ...any) Result {
	return Result{Status: Skip, Evidence: fmt.Sprintf(format, a...)}
}

func errorf(format string, a ...any) Result {
	return Result{Status: Error, Evidence: fmt.Sprintf(format, a...)}
}

// fix returns r with a specific remediation.
func (r Result) fix(format string, a ...any) Result {
	r.Remediation = fmt.Sprintf(format, a...)
	return r
}

// Lookup returns the check with id from checks.
func Lookup(checks []Check, id string) (Check, bool) {
	for _, c := range checks {
		if c.ID == id {
			return c, true
		}
	}
	return Check{}, false
}
