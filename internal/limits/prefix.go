package limits

import (
	"fmt"
	"strings"
)

// The reasons a limit bans, carried in the log prefix.
const (
	ReasonConn = "conn" // over max_conn concurrent connections
	ReasonRate = "rate" // over rate new connections
)

// prefixStart starts the log prefix of every limit rule.
const prefixStart = "rampart-limit "

// LogPrefix is the NFLOG prefix of a limit's ban rule for a reason:
// "rampart-limit api rate".
func LogPrefix(limit, reason string) string { return prefixStart + limit + " " + reason }

// ParsePrefix reads a LogPrefix back. The prefix comes from the kernel,
// but anything on the host that can write nftables rules can log to the
// group: it is checked like any untrusted input.
func ParsePrefix(s string) (limit, reason string, err error) {
	rest, ok := strings.CutPrefix(s, prefixStart)
	if !ok {
		return "", "", fmt.Errorf("limits: log prefix %q is not a limit's", s)
	}
	limit, reason, ok = strings.Cut(strings.TrimRight(rest, " \x00"), " ")
	if !ok || (reason != ReasonConn && reason != ReasonRate) {
		return "", "", fmt.Errorf("limits: log prefix %q: want \"rampart-limit NAME conn|rate\"", s)
	}
	if err := checkName(limit); err != nil {
		return "", "", fmt.Errorf("limits: log prefix %q: %w", s, err)
	}
	return limit, reason, nil
}

// checkName accepts what [limits.NAME] accepts.
func checkName(name string) error {
	if name == "" || len(name) > 48 {
		return fmt.Errorf("limit name %q must be 1-48 characters", name)
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return fmt.Errorf("limit name %q may hold only letters, digits, '_' and '-'", name)
		}
	}
	return nil
}
