// Package firewall defines what rampart asks of a packet filter: one ban
// set per jail, bans added and removed in batches, and a listing of what the
// kernel holds for reconciliation at start-up.
//
// A Backend is the ban layer only. It owns the objects it creates (named so
// that it recognises them, its rules marked) and nothing else: the baseline
// policy, or an administrator, may keep chains, sets and rules beside them,
// even in the same nftables table, and no Setup, Apply or Teardown flushes
// or deletes those.
//
// Backends live in sub-packages (nft, iptables, dryrun) and all pass the
// conformance suite in firewalltest.
package firewall

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Backend is a packet filter rampart bans through. Methods are safe for
// concurrent use.
type Backend interface {
	// Setup creates or refreshes the ban layer's chains, sets and rules for
	// jails. It is idempotent and reload-safe: bans of jails that stay are
	// kept; sets of jails no longer listed are removed. Objects it did not
	// create are left as they are.
	Setup(ctx context.Context, jails []JailSpec) error
	// Apply sends a batch of removals then additions. When some elements fail
	// it still applies the others and returns a *BatchError naming the
	// failed ones; bans of jails not passed to the last Setup fail with
	// ErrUnknownJail. Adding a ban already present refreshes it where the
	// kernel allows; removing an absent ban is not an error.
	Apply(ctx context.Context, c Change) error
	// List returns the bans the kernel holds now, with their remaining
	// timeouts, for reconciliation with the store.
	List(ctx context.Context) ([]Ban, error)
	// Teardown removes the ban layer's rules, chains and sets with their
	// bans; a table or chain it shares with another owner stays with what
	// the other owner put there.
	Teardown(ctx context.Context) error
}

// Watcher is implemented by backends that can tell when something outside
// removed part of their state (nft: the kernel's nftables events). Watch
// calls changed, which must not block, until ctx is done; the ban manager
// then compares the kernel with its bans and restores what is missing.
type Watcher interface {
	Watch(ctx context.Context, changed func()) error
}

// TimeoutLimiter is implemented by backends whose elements cannot time out
// later than MaxTimeout after they are added (ipset's 24.8 days). Such a
// backend stores longer bans without a timeout, so whoever expires bans must
// remove those from it when they end.
type TimeoutLimiter interface {
	MaxTimeout() time.Duration
}

// Action is what happens to a banned packet.
type Action int

const (
	// Drop discards the packet silently.
	Drop Action = iota
	// Reject answers with a TCP reset, or ICMP administratively prohibited
	// for other protocols.
	Reject
)

// String returns "drop" or "reject".
func (a Action) String() string {
	switch a {
	case Drop:
		return "drop"
	case Reject:
		return "reject"
	}
	return fmt.Sprintf("action(%d)", int(a))
}

// PortRange is an inclusive range of destination ports; a single port has
// First == Last.
type PortRange struct {
	First, Last uint16
}

// Port returns the range holding the single port p.
func Port(p uint16) PortRange { return PortRange{First: p, Last: p} }

// String returns "22" or "8000-8080".
func (r PortRange) String() string {
	if r.First == r.Last {
		return fmt.Sprint(r.First)
	}
	return fmt.Sprintf("%d-%d", r.First, r.Last)
}

// DefaultProtocols returns the protocols a jail may restrict its ports to,
// which are also what a jail with ports but no protocols covers.
func DefaultProtocols() []string { return []string{"tcp", "udp", "sctp"} }

// JailSpec is the firewall's view of a jail.
type JailSpec struct {
	// Name is the jail's name: 1-64 characters of letters, digits, '.', '_' or '-'.
	Name string
	// Ports are the destination ports the ban covers; empty means all
	// traffic from a banned address.
	Ports []PortRange
	// Protocols the ports apply to ("tcp", "udp", "sctp"); empty means all
	// three. Ignored when Ports is empty.
	Protocols []string
	// Action is what happens to packets from banned addresses.
	Action Action
}

// Validate reports the first problem with j, naming the jail.
func (j JailSpec) Validate() error {
	if err := ValidateJailName(j.Name); err != nil {
		return err
	}
	for _, r := range j.Ports {
		if r.First == 0 || r.First > r.Last {
			return fmt.Errorf("jail %q: bad port range %d-%d", j.Name, r.First, r.Last)
		}
	}
	for _, p := range j.Protocols {
		if !contains(DefaultProtocols(), p) {
			return fmt.Errorf("jail %q: unknown protocol %q (want one of %s)", j.Name, p, strings.Join(DefaultProtocols(), ", "))
		}
	}
	if j.Action != Drop && j.Action != Reject {
		return fmt.Errorf("jail %q: unknown action %d", j.Name, int(j.Action))
	}
	return nil
}

// ValidateJailName checks that name can name firewall objects in every
// backend.
func ValidateJailName(name string) error {
	if name == "" || len(name) > 64 {
		return fmt.Errorf("jail %q: name must be 1-64 characters", name)
	}
	for _, c := range name {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		if !ok {
			return fmt.Errorf("jail %q: name may hold only letters, digits, '.', '_' and '-'", name)
		}
	}
	return nil
}

// ValidateJails validates every jail and refuses duplicate names.
func ValidateJails(jails []JailSpec) error {
	seen := make(map[string]bool, len(jails))
	for _, j := range jails {
		if err := j.Validate(); err != nil {
			return err
		}
		if seen[j.Name] {
			return fmt.Errorf("jail %q: defined twice", j.Name)
		}
		seen[j.Name] = true
	}
	return nil
}

// Ban is one banned address or network in one jail.
type Ban struct {
	// Jail is the jail the ban belongs to.
	Jail string
	// Prefix is the banned network; single addresses are /32 or /128.
	Prefix netip.Prefix
	// Timeout is how long the ban has left; 0 means permanent.
	Timeout time.Duration
}

// String returns "sshd 192.0.2.1/32 10m0s" or "... permanent".
func (b Ban) String() string {
	t := "permanent"
	if b.Timeout != 0 {
		t = b.Timeout.String()
	}
	return fmt.Sprintf("%s %s %s", b.Jail, b.Prefix, t)
}

// Change is one batch of removals and additions.
type Change struct {
	Add, Remove []Ban
}

// Len returns the number of elements in c.
func (c Change) Len() int { return len(c.Add) + len(c.Remove) }

// Op says whether a failed element was being added or removed.
type Op string

// The two operations of a Change.
const (
	OpAdd    Op = "add"
	OpRemove Op = "remove"
)

// ElementError is one element of a batch the backend could not apply.
type ElementError struct {
	Op  Op
	Ban Ban
	Err error
}

// Error returns "add sshd 192.0.2.1/32: reason".
func (e ElementError) Error() string {
	return fmt.Sprintf("%s %s %s: %v", e.Op, e.Ban.Jail, e.Ban.Prefix, e.Err)
}

// Unwrap returns the reason.
func (e ElementError) Unwrap() error { return e.Err }

// BatchError names the elements of an Apply that failed; every other element
// of the batch was applied.
type BatchError struct {
	// Total is the number of elements in the batch.
	Total int
	// Failed lists the elements that were not applied, in batch order.
	Failed []ElementError
}

// Error summarises the failures, naming up to five elements.
func (e *BatchError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "firewall: %d of %d elements failed", len(e.Failed), e.Total)
	for i, f := range e.Failed {
		if i == 5 {
			fmt.Fprintf(&b, "; and %d more", len(e.Failed)-5)
			break
		}
		b.WriteString("; ")
		b.WriteString(f.Error())
	}
	return b.String()
}

// ErrUnknownJail is the reason for an element whose jail was not set up.
var ErrUnknownJail = errors.New("unknown jail")

// Normalize returns the canonical form of a banned prefix: IPv4-mapped IPv6
// becomes IPv4, host bits are cleared. It refuses invalid prefixes, zoned
// addresses and /0, which would ban every address.
func Normalize(p netip.Prefix) (netip.Prefix, error) {
	if !p.IsValid() {
		return netip.Prefix{}, errors.New("invalid prefix")
	}
	a, bits := p.Addr(), p.Bits()
	if a.Zone() != "" {
		return netip.Prefix{}, errors.New("zoned address")
	}
	if a.Is4In6() {
		if bits < 96 {
			return netip.Prefix{}, errors.New("IPv4-mapped prefix shorter than /96")
		}
		a, bits = a.Unmap(), bits-96
	}
	if bits == 0 {
		return netip.Prefix{}, errors.New("refusing to ban every address (/0)")
	}
	return netip.PrefixFrom(a, bits).Masked(), nil
}

// Host returns the single-address prefix for a.
func Host(a netip.Addr) netip.Prefix {
	return netip.PrefixFrom(a, a.BitLen())
}

// Check validates the bans of c against the set-up jails and normalizes
// their prefixes. It returns the valid removals and additions, in order, and
// the errors for the rest. Backends call it first in Apply.
func Check(c Change, jails map[string]bool) (remove, add []Ban, failed []ElementError) {
	check := func(op Op, in []Ban) []Ban {
		out := make([]Ban, 0, len(in))
		for _, b := range in {
			if !jails[b.Jail] {
				failed = append(failed, ElementError{Op: op, Ban: b, Err: ErrUnknownJail})
				continue
			}
			p, err := Normalize(b.Prefix)
			if err != nil {
				failed = append(failed, ElementError{Op: op, Ban: b, Err: err})
				continue
			}
			if b.Timeout < 0 {
				failed = append(failed, ElementError{Op: op, Ban: b, Err: errors.New("negative timeout")})
				continue
			}
			b.Prefix = p
			out = append(out, b)
		}
		return out
	}
	remove = check(OpRemove, c.Remove)
	add = check(OpAdd, c.Add)
	return remove, add, failed
}

// Result turns the failures of an Apply into its error: nil when none
// failed, a *BatchError otherwise.
func Result(total int, failed []ElementError) error {
	if len(failed) == 0 {
		return nil
	}
	return &BatchError{Total: total, Failed: failed}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
