package jail

import (
	"net/netip"
	"time"
)

// BanNow is Fail for a finding that bans on its own (a single-hit rule): it
// returns a ban decision at once, unless addr is ignored or its prefix was
// banned at or after t. The ban time grows with the prefix's history as
// for counted failures; failures counted for the prefix are dropped.
func (j *Jail) BanNow(addr netip.Addr, t time.Time) (Decision, bool) {
	if !addr.IsValid() {
		return Decision{}, false
	}
	addr = addr.Unmap().WithZone("")
	j.mu.Lock()
	j.stats.Failures++
	j.mu.Unlock()
	if j.cfg.Ignore != nil && j.cfg.Ignore.Contains(addr, t) {
		j.mu.Lock()
		j.stats.Ignored++
		j.mu.Unlock()
		return Decision{}, false
	}
	prefix := j.Prefix(addr)
	d := Decision{Prefix: prefix, Addr: addr, Failures: 1, First: t, Last: t, Duration: j.cfg.BanTime}
	if j.cfg.History != nil {
		count, last := j.cfg.History(prefix, j.inc != nil && j.inc.overallJails)
		if !last.IsZero() && !t.After(last) {
			j.mu.Lock()
			j.stats.Ignored++
			j.mu.Unlock()
			return Decision{}, false
		}
		d.Count = count
	}
	d.Duration = j.BanDuration(d.Count)
	j.mu.Lock()
	defer j.mu.Unlock()
	if i, ok := j.t.index[prefix.Addr().As16()]; ok {
		j.t.remove(i)
	}
	j.stats.Bans++
	return d, true
}
