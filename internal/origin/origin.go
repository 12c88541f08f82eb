// Package origin names why a ban exists: the jail that decided it, the
// person who asked for it, the fleet node or blocklist it came from, or the
// kernel rule that made it. Every ban carries one; it is stored with the
// ban, shown by `rampart banned` and carried by events.
package origin

import (
	"fmt"
	"strings"
)

// Kind is the kind of decision maker.
type Kind string

// The kinds of origin.
const (
	// Jail is a jail's decision: findings counted to maxretry, or a
	// single-hit rule. Name is the jail.
	Jail Kind = "jail"
	// Manual is a ban asked for over the control socket. Name is who asked
	// (a user name, or "uid N").
	Manual Kind = "manual"
	// Fleet is a ban received from another node. Name is the node.
	Fleet Kind = "fleet"
	// Blocklist is an entry of a configured list. Name is the list.
	Blocklist Kind = "blocklist"
	// Kernel is a ban the kernel made itself (a connection limit, a port
	// scan). Name is the rule, e.g. "limit api".
	Kernel Kind = "kernel"
)

// kinds lists every Kind, for Parse and Validate.
var kinds = [...]Kind{Jail, Manual, Fleet, Blocklist, Kernel}

// Origin says why a ban exists.
type Origin struct {
	Kind Kind   `json:"kind"`
	Name string `json:"name,omitempty"`
}

// OfJail returns the origin of a jail's decision.
func OfJail(name string) Origin { return Origin{Kind: Jail, Name: name} }

// OfManual returns the origin of a ban asked for by who.
func OfManual(who string) Origin { return Origin{Kind: Manual, Name: who} }

// String returns "kind name" ("jail sshd", "manual root", "fleet web-1",
// "kernel limit api"), or the kind alone when there is no name.
func (o Origin) String() string {
	if o.Name == "" {
		return string(o.Kind)
	}
	return string(o.Kind) + " " + o.Name
}

// IsZero reports whether o is unset.
func (o Origin) IsZero() bool { return o.Kind == "" }

// Validate reports an unknown kind, or a name with control characters.
func (o Origin) Validate() error {
	known := false
	for _, k := range kinds {
		known = known || o.Kind == k
	}
	if !known {
		return fmt.Errorf("origin: unknown kind %q (want one of %s)", o.Kind, kindList())
	}
	if strings.ContainsFunc(o.Name, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return fmt.Errorf("origin %s: name %q holds control characters", o.Kind, o.Name)
	}
	return nil
}

// Parse reads the String form back.
func Parse(s string) (Origin, error) {
	k, name, _ := strings.Cut(s, " ")
	o := Origin{Kind: Kind(k), Name: name}
	return o, o.Validate()
}

func kindList() string {
	var s []string
	for _, k := range kinds {
		s = append(s, string(k))
	}
	return strings.Join(s, ", ")
}
