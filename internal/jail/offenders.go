package jail

import (
	"net/netip"
	"sync"
	"time"
)

// Offenders is an in-memory ban history that backs History: how often each
// prefix was banned and when last, per jail and across all jails. The
// daemon fills it from the store at start (Add with the stored counts) and
// records every new ban (Record), so a jail's History lookup, made under
// the jail's lock, never waits for the database. An entry costs about 40
// bytes per map (per jail and overall). Safe for concurrent use.
type Offenders struct {
	mu     sync.RWMutex
	byJail map[string]map[offenderKey]offense
	all    map[offenderKey]offense
}

// offenderKey is a prefix without the pointer netip.Addr carries for zones,
// so the maps stay out of the garbage collector's way.
type offenderKey struct {
	addr [16]byte
	bits uint8
}

// offense is a prefix's ban count and the Unix time of its last ban.
type offense struct {
	count uint32
	last  int64
}

func keyOf(p netip.Prefix) offenderKey {
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	p = p.Masked()
	return offenderKey{addr: p.Addr().As16(), bits: uint8(p.Bits())}
}

// NewOffenders returns an empty history.
func NewOffenders() *Offenders {
	return &Offenders{byJail: map[string]map[offenderKey]offense{}, all: map[offenderKey]offense{}}
}

// Add records count bans of p by jail, the latest at last.
func (o *Offenders) Add(jail string, p netip.Prefix, count int, last time.Time) {
	if !p.IsValid() || count <= 0 {
		return
	}
	k := keyOf(p)
	o.mu.Lock()
	defer o.mu.Unlock()
	m := o.byJail[jail]
	if m == nil {
		m = map[offenderKey]offense{}
		o.byJail[jail] = m
	}
	add := func(m map[offenderKey]offense) {
		v := m[k]
		v.count += uint32(count)
		v.last = max(v.last, last.Unix())
		m[k] = v
	}
	add(m)
	add(o.all)
}

// Record records one ban of p by jail at t.
func (o *Offenders) Record(jail string, p netip.Prefix, t time.Time) {
	o.Add(jail, p, 1, t)
}

// Lookup returns how often p was banned, and when last (zero if never), by
// jail or, when allJails is set, by any jail.
func (o *Offenders) Lookup(jail string, p netip.Prefix, allJails bool) (int, time.Time) {
	if !p.IsValid() {
		return 0, time.Time{}
	}
	k := keyOf(p)
	o.mu.RLock()
	defer o.mu.RUnlock()
	m := o.byJail[jail]
	if allJails {
		m = o.all
	}
	v, ok := m[k]
	if !ok {
		return 0, time.Time{}
	}
	return int(v.count), time.Unix(v.last, 0)
}

// History returns jail's view of the history, for Config.History.
func (o *Offenders) History(jail string) History {
	return func(p netip.Prefix, allJails bool) (int, time.Time) {
		return o.Lookup(jail, p, allJails)
	}
}

// Purge forgets prefixes last banned before t, as the store's history purge
// does, and returns how many it dropped from the overall history.
func (o *Offenders) Purge(before time.Time) int {
	cut := before.Unix()
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for k, v := range o.all {
		if v.last < cut {
			delete(o.all, k)
			n++
		}
	}
	for _, m := range o.byJail {
		for k, v := range m {
			if v.last < cut {
				delete(m, k)
			}
		}
	}
	return n
}

// Len returns the number of prefixes in the overall history.
func (o *Offenders) Len() int {
	o.mu.RLock()
	defer o.mu.RUnlock()
	return len(o.all)
}
