// Package jail counts failures per address for one jail and decides bans:
// a sliding findtime window, a ban at maxretry, ban time growth for repeat
// offenders (Fail2ban's bantime.increment), optional banning by IPv6 or IPv4
// prefix, and memory bounded under floods. It is pure logic: the caller
// passes the time of every failure in, and ban history comes through an
// injected History function, so the package imports no other part of
// rampart and does no I/O of its own.
package jail

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"
)

// DefaultMaxTracked is the number of prefixes a jail tracks when
// Config.MaxTracked is 0. At about 85 bytes per prefix (maxretry 5) it bounds
// a jail's failure state near 9 MB, so ten jails under a flood of distinct
// addresses stay within the daemon's memory budget, while 100,000 addresses
// failing inside one findtime is far beyond what a real attack on one host
// sustains without also being caught by the attacker's earlier failures:
// eviction drops the least recently seen, i.e. the slowest, attackers first.
const DefaultMaxTracked = 100_000

// MaxMaxRetry bounds Config.MaxRetry: every tracked prefix keeps maxretry
// failure times of 4 bytes each.
const MaxMaxRetry = 1000

// History reports how often prefix was banned before and when it was last
// banned (zero if never). allJails asks for bans in every jail, not only
// this one (bantime.overalljails). The jail calls it while holding its lock,
// once when it starts tracking a prefix and once more when it bans one, so
// it must be fast and must not call back into the jail: use Offenders, which
// the store seeds at start, rather than a database query per call.
type History func(prefix netip.Prefix, allJails bool) (count int, last time.Time)

// Config is one jail's counting and ban policy, in Fail2ban's terms.
type Config struct {
	// Name names the jail in errors.
	Name string
	// MaxRetry is the number of failures within FindTime that triggers a
	// ban (1..MaxMaxRetry).
	MaxRetry int
	// FindTime is the length of the sliding window; at least one second.
	FindTime time.Duration
	// BanTime is the base ban duration, or Permanent.
	BanTime time.Duration
	// Increment, when set, turns on bantime.increment.
	Increment *Increment
	// IPv4Prefix and IPv6Prefix are the prefix lengths failures are counted
	// and bans are made for; 0 means single addresses (32 and 128).
	IPv4Prefix, IPv6Prefix int
	// MaxTracked caps the prefixes tracked at once; 0 means
	// DefaultMaxTracked. The least recently seen is evicted.
	MaxTracked int
	// History, optional, supplies earlier bans. Without it every ban is a
	// first ban and failures always count once.
	History History
	// Rand, optional, returns a number in [0, 1) for bantime.rndtime;
	// tests inject a fixed one. Nil uses math/rand/v2.
	Rand func() float64
	// Ignore, optional, lists addresses whose failures are dropped.
	Ignore *Ignore
}

// Decision is a ban the jail decided on.
type Decision struct {
	// Prefix is what to ban: the address, or its network when the jail
	// bans by prefix.
	Prefix netip.Prefix
	// Addr is the address whose failure triggered the ban.
	Addr netip.Addr
	// Failures is the (weighted) number of failures inside the window.
	Failures int
	// First is the time of the oldest failure inside the window, Last the
	// triggering one; both have one-second resolution.
	First, Last time.Time
	// Count is the number of earlier bans of Prefix known from History;
	// this ban is number Count+1.
	Count int
	// Duration is how long to ban, or Permanent.
	Duration time.Duration
}

// Until returns when the ban ends, counted from the triggering failure as
// Fail2ban does, and false for a permanent ban. A decision made from old log
// lines (read back at start, say) can end in the past: callers drop those,
// as Fail2ban does ("Ignore old bantime").
func (d Decision) Until() (time.Time, bool) {
	if d.Duration == Permanent {
		return time.Time{}, false
	}
	return d.Last.Add(d.Duration), true
}

// Stats are a jail's counters, for status output and metrics.
type Stats struct {
	// Tracked is the number of prefixes with failures being counted.
	// Prefixes whose window has passed leave at the next Fail or Sweep.
	Tracked int
	// Failures counts every failure passed to Fail (ignored ones too).
	Failures uint64
	// Ignored counts failures dropped by the ignore list or because they
	// predate the prefix's last ban (a log read again after a restart).
	Ignored uint64
	// Bans counts decisions returned.
	Bans uint64
	// Evictions counts prefixes dropped because MaxTracked was reached.
	Evictions uint64
}

// Jail counts failures for one jail. Its methods are safe for concurrent
// use; one mutex guards the state, which keeps a Fail call near 100 ns.
type Jail struct {
	cfg      Config
	inc      *increment
	window   uint32 // FindTime in seconds
	maxTrack int
	rand     func() float64

	mu    sync.Mutex
	epoch int64 // Unix seconds that clock() maps to 2^31; set by the first failure
	t     *table
	stats Stats
}

// New checks cfg and returns a jail with no failures.
func New(cfg Config) (*Jail, error) {
	fail := func(format string, a ...any) (*Jail, error) {
		return nil, fmt.Errorf("jail %q: "+format, append([]any{cfg.Name}, a...)...)
	}
	switch {
	case cfg.MaxRetry < 1 || cfg.MaxRetry > MaxMaxRetry:
		return fail("maxretry %d: must be between 1 and %d", cfg.MaxRetry, MaxMaxRetry)
	case cfg.FindTime < time.Second:
		return fail("findtime %v: must be at least 1s", cfg.FindTime)
	case cfg.FindTime > math.MaxUint32/2*time.Second:
		return fail("findtime %v: too long", cfg.FindTime)
	case cfg.BanTime != Permanent && cfg.BanTime <= 0:
		return fail("bantime %v: must be positive or -1 (permanent)", cfg.BanTime)
	case cfg.IPv4Prefix < 0 || cfg.IPv4Prefix > 32:
		return fail("ipv4_prefix %d: must be between 1 and 32", cfg.IPv4Prefix)
	case cfg.IPv6Prefix < 0 || cfg.IPv6Prefix > 128:
		return fail("ipv6_prefix %d: must be between 1 and 128", cfg.IPv6Prefix)
	case cfg.MaxTracked < 0 || cfg.MaxTracked > math.MaxInt32:
		return fail("max_tracked %d: must be between 1 and %d", cfg.MaxTracked, math.MaxInt32)
	}
	if cfg.IPv4Prefix == 0 {
		cfg.IPv4Prefix = 32
	}
	if cfg.IPv6Prefix == 0 {
		cfg.IPv6Prefix = 128
	}
	j := &Jail{
		cfg:      cfg,
		window:   uint32(cfg.FindTime / time.Second),
		maxTrack: cfg.MaxTracked,
		rand:     cfg.Rand,
		t:        newTable(cfg.MaxRetry),
	}
	if j.maxTrack == 0 {
		j.maxTrack = DefaultMaxTracked
	}
	if j.rand == nil {
		j.rand = rand.Float64
	}
	if cfg.Increment != nil {
		inc, err := cfg.Increment.compile()
		if err != nil {
			return fail("%v", err)
		}
		j.inc = inc
	}
	return j, nil
}

// Name returns the jail's name.
func (j *Jail) Name() string { return j.cfg.Name }

// Prefix returns the prefix addr is counted and banned under: addr itself,
// or its network when the jail bans by prefix. IPv4-mapped IPv6 addresses
// count as IPv4, and zones are dropped.
func (j *Jail) Prefix(addr netip.Addr) netip.Prefix {
	addr = addr.Unmap().WithZone("")
	bits := j.cfg.IPv6Prefix
	if addr.Is4() {
		bits = j.cfg.IPv4Prefix
	}
	p, _ := addr.Prefix(bits)
	return p
}

// Fail records a failure of addr at time t. When it completes maxretry
// failures within findtime it returns a ban decision and true, and forgets
// the prefix's failures. The window slides: it holds the last maxretry
// failure times of every prefix and bans when all of them lie within
// findtime of the newest. (Fail2ban instead keeps a count and the first
// time, and rescales the count to a rate once the first failure falls out
// of the window, so a slow steady attacker is banned a little sooner there
// than here.)
//
// With bantime.increment on and a History, a failure from a prefix banned
// n times before counts 2^n/2+1 times (2, 3, 5, 9, ...; at most maxretry),
// as Fail2ban's observer does. A failure at or before the prefix's last
// ban is dropped: it was already acted on, and is being read again.
func (j *Jail) Fail(addr netip.Addr, t time.Time) (Decision, bool) {
	if !addr.IsValid() {
		return Decision{}, false
	}
	addr = addr.Unmap().WithZone("")
	if j.cfg.Ignore != nil && j.cfg.Ignore.Contains(addr, t) {
		j.mu.Lock()
		j.stats.Failures++
		j.stats.Ignored++
		j.mu.Unlock()
		return Decision{}, false
	}
	prefix := j.Prefix(addr)
	key := prefix.Addr().As16()

	j.mu.Lock()
	defer j.mu.Unlock()
	j.stats.Failures++
	now := j.clock(t)
	j.expire(now)
	tb := j.t
	i, ok := tb.index[key]
	if !ok {
		weight, lastBan := 1, uint32(0)
		if j.cfg.History != nil {
			count, last := j.cfg.History(prefix, false)
			if j.inc != nil && count > 0 {
				weight = min(1<<min(count, 20)/2+1, j.cfg.MaxRetry)
			}
			if !last.IsZero() {
				lastBan = j.clock(last)
			}
		}
		if lastBan != 0 && now <= lastBan {
			j.stats.Ignored++
			return Decision{}, false
		}
		if tb.live >= j.maxTrack {
			tb.remove(tb.tail)
			j.stats.Evictions++
		}
		i = tb.insert(key)
		e := tb.at(i)
		e.weight, e.lastBan = uint16(weight), lastBan
	} else {
		if lb := tb.at(i).lastBan; lb != 0 && now <= lb {
			j.stats.Ignored++
			return Decision{}, false
		}
		tb.touch(i)
	}
	count, oldest := tb.record(i, now, int(tb.at(i).weight), j.window)
	if count < j.cfg.MaxRetry {
		return Decision{}, false
	}
	tb.remove(i)
	j.stats.Bans++
	d := Decision{
		Prefix:   prefix,
		Addr:     addr,
		Failures: count,
		First:    j.time(oldest),
		Last:     j.time(now),
		Duration: j.cfg.BanTime,
	}
	if j.cfg.History != nil {
		allJails := j.inc != nil && j.inc.overallJails
		d.Count, _ = j.cfg.History(prefix, allJails)
	}
	d.Duration = j.BanDuration(d.Count)
	return d, true
}

// BanDuration returns the ban time for a ban of a prefix banned count times
// before: the base bantime, grown by bantime.increment when it is on. It is
// what Fail puts in a Decision. (Manual bans last the jail's plain bantime
// or what the admin asked for.)
func (j *Jail) BanDuration(count int) time.Duration {
	if j.inc == nil {
		return j.cfg.BanTime
	}
	return j.inc.duration(j.cfg.BanTime, count, j.rand)
}

// Forget drops the failures counted for every tracked prefix that overlaps
// p (after an unban, say).
func (j *Jail) Forget(p netip.Prefix) {
	if !p.IsValid() {
		return
	}
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	p = netip.PrefixFrom(p.Addr().WithZone(""), p.Bits()).Masked()
	mine := j.Prefix(p.Addr())
	j.mu.Lock()
	defer j.mu.Unlock()
	if p.Bits() >= mine.Bits() {
		if i, ok := j.t.index[mine.Addr().As16()]; ok {
			j.t.remove(i)
		}
		return
	}
	for i := j.t.head; i != none; {
		next := j.t.at(i).next
		if p.Contains(netip.AddrFrom16(j.t.at(i).key).Unmap()) {
			j.t.remove(i)
		}
		i = next
	}
}

// Sweep drops prefixes whose window has passed by now and gives memory back
// after a flood. Fail does the first part as it goes; call Sweep from a
// periodic timer so that an idle jail shrinks too.
func (j *Jail) Sweep(now time.Time) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.expire(j.clock(now))
	if c := j.t.capacity(); c > 4*chunkSize && j.t.live < c/4 {
		j.t.compact()
	}
}

// Stats returns the jail's counters.
func (j *Jail) Stats() Stats {
	j.mu.Lock()
	defer j.mu.Unlock()
	s := j.stats
	s.Tracked = j.t.live
	return s
}

// expire drops prefixes from the old end of the list whose newest failure
// lies more than findtime before now. The list is in order of last failure
// as far as log times arrive in order, so this is amortised O(1).
func (j *Jail) expire(now uint32) {
	tb := j.t
	for tb.tail != none && uint64(tb.at(tb.tail).newest)+uint64(j.window) < uint64(now) {
		tb.remove(tb.tail)
	}
}

// clock maps t to whole seconds on the jail's own 32-bit clock, which
// covers 68 years either side of the first failure the jail saw; 0 is
// reserved for "no time", so results are clamped to 1..2^32-1.
func (j *Jail) clock(t time.Time) uint32 {
	s := t.Unix()
	if j.epoch == 0 {
		j.epoch = s - 1<<31
	}
	d := s - j.epoch
	switch {
	case d < 1:
		return 1
	case d > math.MaxUint32:
		return math.MaxUint32
	}
	return uint32(d)
}

// time maps a clock value back to a time.
func (j *Jail) time(c uint32) time.Time {
	return time.Unix(j.epoch+int64(c), 0)
}
