package fleet

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/rampart-ids/rampart/internal/origin"
)

// Op is what a fleet message asks for.
type Op string

// The operations a node publishes.
const (
	// OpBan asks every node to ban Prefix until Until.
	OpBan Op = "ban"
	// OpUnban lifts the sender's ban of Prefix.
	OpUnban Op = "unban"
)

// SubjectRoot is the first two tokens of every fleet subject:
// rampart.bans.<node>.<prefix>.
const SubjectRoot = "rampart.bans"

// maxMessageBytes bounds a message body; a ban is about 200 bytes.
const maxMessageBytes = 4096

// Message is one ban or unban as it travels between nodes, JSON-encoded.
// The sending node is not in the body: it is the subject's third token,
// which NATS permissions tie to the node's credentials.
type Message struct {
	Op     Op           `json:"op"`
	Jail   string       `json:"jail"`
	Prefix netip.Prefix `json:"prefix"`
	// Origin is the ban's origin on the sending node ("jail sshd").
	Origin string    `json:"origin,omitempty"`
	Since  time.Time `json:"since"`
	// Until is when the ban ends; zero: never.
	Until time.Time `json:"until,omitzero"`
	Count int       `json:"count,omitempty"`
}

// Subject is where node publishes m: rampart.bans.<node>.<prefix>, the
// prefix with its dots written as '_' (a subject token holds no dot). One
// subject per prefix lets the stream keep only the latest message of each
// (MaxMsgsPerSubject 1): an unban replaces the ban.
func Subject(node string, p netip.Prefix) string {
	return SubjectRoot + "." + node + "." + strings.ReplaceAll(p.Masked().String(), ".", "_")
}

// NodeOf returns the node token of a fleet subject.
func NodeOf(subject string) (string, error) {
	rest, ok := strings.CutPrefix(subject, SubjectRoot+".")
	if !ok {
		return "", fmt.Errorf("fleet: subject %q is not under %s", subject, SubjectRoot)
	}
	node, _, ok := strings.Cut(rest, ".")
	if !ok || node == "" {
		return "", fmt.Errorf("fleet: subject %q has no node", subject)
	}
	return node, nil
}

// ID is the message's de-duplication ID (the Nats-Msg-Id header): the same
// ban published twice (a retry after a lost acknowledgement) is stored once.
func (m Message) ID(node string) string {
	return fmt.Sprintf("%s|%s|%s|%s|%d", node, m.Op, m.Jail, m.Prefix.Masked(), m.Since.UnixNano())
}

// Encode returns the message's JSON body.
func (m Message) Encode() ([]byte, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	return json.Marshal(m)
}

// Decode reads a message body from another node: untrusted input. Every
// field is checked; a body that is not a valid message is an error and
// changes nothing.
func Decode(data []byte) (Message, error) {
	if len(data) > maxMessageBytes {
		return Message{}, fmt.Errorf("fleet: message of %d bytes (at most %d)", len(data), maxMessageBytes)
	}
	var m Message
	if err := json.Unmarshal(data, &m); err != nil {
		return Message{}, fmt.Errorf("fleet: message: %w", err)
	}
	if err := m.check(); err != nil {
		return Message{}, err
	}
	m.Prefix = m.Prefix.Masked()
	return m, nil
}

// errNoPrefix is a message without an address.
var errNoPrefix = errors.New("fleet: message has no prefix")

func (m Message) check() error {
	switch m.Op {
	case OpBan, OpUnban:
	default:
		return fmt.Errorf("fleet: unknown op %q (want ban or unban)", m.Op)
	}
	if !m.Prefix.IsValid() {
		return errNoPrefix
	}
	if m.Prefix.Addr().Zone() != "" {
		return fmt.Errorf("fleet: prefix %s has a zone", m.Prefix)
	}
	if m.Jail == "" || len(m.Jail) > 64 || strings.ContainsFunc(m.Jail, badNameRune) {
		return fmt.Errorf("fleet: jail %q is not a jail name", m.Jail)
	}
	if m.Origin != "" {
		if len(m.Origin) > 200 {
			return fmt.Errorf("fleet: origin of %d bytes", len(m.Origin))
		}
		if _, err := origin.Parse(m.Origin); err != nil {
			return fmt.Errorf("fleet: %w", err)
		}
	}
	if m.Since.IsZero() {
		return errors.New("fleet: message has no since time")
	}
	if !m.Until.IsZero() && m.Until.Before(m.Since) {
		return fmt.Errorf("fleet: ban ends (%s) before it starts (%s)", m.Until.Format(time.RFC3339), m.Since.Format(time.RFC3339))
	}
	if m.Count < 0 {
		return fmt.Errorf("fleet: negative count %d", m.Count)
	}
	return nil
}

// badNameRune reports runes a jail or node name may not hold.
func badNameRune(r rune) bool {
	return r <= ' ' || r == 0x7f || r == '.' || r == '*' || r == '>'
}

// CheckNode reports whether name can be a node name: a single subject
// token of letters, digits, '-' and '_'.
func CheckNode(name string) error {
	if name == "" || len(name) > 64 {
		return fmt.Errorf("fleet: node name %q must be 1 to 64 characters", name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return fmt.Errorf("fleet: node name %q may hold only letters, digits, '-' and '_'", name)
		}
	}
	return nil
}
