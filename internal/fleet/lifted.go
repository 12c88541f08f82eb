package fleet

import "time"

// liftedKeep is how long a node remembers that a sender lifted a ban: long
// enough for a copy of the ban still on its way (a stream reader's
// prefetched messages, the live and stored paths racing after a
// reconnect) to arrive after the unban, and be ignored. Entries live
// between liftedKeep and twice it.
const liftedKeep = 5 * time.Minute

// lifted remembers, per (jail, prefix) and sending node, when that node
// lifted its ban. A ban message from the same node made no later than
// that is a stale copy: applying it would bring back a ban its node
// already lifted, and the unban's own stored copy, seen before on the
// live path, would be skipped as a duplicate — the ban would stay.
type lifted struct {
	cur, prev map[liftedKey]time.Time
	since     time.Time
}

type liftedKey struct {
	k    banKey
	node string
}

func newLifted() lifted {
	return lifted{cur: map[liftedKey]time.Time{}, prev: map[liftedKey]time.Time{}}
}

// note records that node lifted k at when (the unban message's time).
func (l *lifted) note(k banKey, node string, when, now time.Time) {
	if now.Sub(l.since) >= liftedKeep {
		l.prev, l.cur, l.since = l.cur, map[liftedKey]time.Time{}, now
	}
	key := liftedKey{k, node}
	if t, ok := l.cur[key]; !ok || when.After(t) {
		l.cur[key] = when
	}
}

// stale reports whether a ban of k from node made at since was lifted by
// that node afterwards. A ban without a time is never stale.
func (l *lifted) stale(k banKey, node string, since time.Time) bool {
	if since.IsZero() {
		return false
	}
	key := liftedKey{k, node}
	for _, m := range []map[liftedKey]time.Time{l.cur, l.prev} {
		if t, ok := m[key]; ok && !since.After(t) {
			return true
		}
	}
	return false
}
