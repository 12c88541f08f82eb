package fleet

import (
	"strings"
	"time"
)

// outbox is the FIFO of local bans and unbans waiting for the stream's
// acknowledgement, bounded: when full, the oldest is dropped and counted
// (a ban's later unban, or the ban's own TTL, makes an old one the least
// useful). Not safe for concurrent use: Fleet.mu guards it.
type outbox struct {
	limit   int
	q       []Message
	head    int
	dropped uint64
}

func newOutbox(limit int) *outbox { return &outbox{limit: limit} }

func (o *outbox) len() int { return len(o.q) - o.head }

func (o *outbox) push(m Message) {
	if o.len() >= o.limit {
		o.head++
		o.dropped++
	}
	o.q = append(o.q, m)
	// Compact once the consumed head is half the slice.
	if o.head > 0 && o.head >= len(o.q)/2 {
		o.q = append(o.q[:0], o.q[o.head:]...)
		o.head = 0
	}
}

// peek returns up to n messages from the head, copied.
func (o *outbox) peek(n int) []Message {
	n = min(n, o.len())
	return append([]Message(nil), o.q[o.head:o.head+n]...)
}

// pop drops n messages from the head.
func (o *outbox) pop(n int) {
	o.head += min(n, o.len())
	if o.head == len(o.q) {
		o.q, o.head = o.q[:0], 0
	}
}

// seenIDs remembers the message IDs applied lately, so that a message that
// arrives both live and from the stream is applied once. Two generations
// of two minutes (the stream's duplicate window) bound it.
type seenIDs struct {
	cur, prev map[string]struct{}
	since     time.Time
}

func newSeenIDs() seenIDs {
	return seenIDs{cur: map[string]struct{}{}, prev: map[string]struct{}{}}
}

// has reports whether id was applied lately.
func (s *seenIDs) has(id string) bool {
	_, a := s.cur[id]
	_, b := s.prev[id]
	return a || b
}

// add reports whether id is new, and remembers it.
func (s *seenIDs) add(id string, now time.Time) bool {
	if now.Sub(s.since) >= 2*time.Minute {
		s.prev, s.cur, s.since = s.cur, map[string]struct{}{}, now
	}
	if _, ok := s.cur[id]; ok {
		return false
	}
	if _, ok := s.prev[id]; ok {
		return false
	}
	s.cur[id] = struct{}{}
	return true
}

// joinURLs is the comma-separated server list nats.Connect takes.
func joinURLs(urls []string) string { return strings.Join(urls, ",") }
