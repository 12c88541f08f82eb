package jail

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Resolver looks a host name up (A and AAAA records). The caller supplies
// it, with its own timeout; the jail package never resolves by itself.
type Resolver func(name string) ([]netip.Addr, error)

// IgnoreConfig describes a jail's ignore list.
type IgnoreConfig struct {
	// Entries are ignoreip values: addresses, CIDRs ("192.0.2.0/24",
	// "2001:db8::/32", "192.0.2.0/255.255.255.0") and host names.
	Entries []string
	// Self is ignoreself: also ignore the host's own addresses.
	Self bool
	// SelfAddrs returns the host's own addresses (interfaces, loopback);
	// required when Self is set.
	SelfAddrs func() ([]netip.Addr, error)
	// Resolve looks host names up; required when Entries hold names.
	Resolve Resolver
	// TTL is how long resolved names and own addresses are trusted; 0
	// means 5 minutes. A failed lookup is retried after a tenth of it.
	TTL time.Duration
}

// Ignore decides whether an address is exempt from counting and banning.
// Addresses and CIDRs are merged into sorted ranges per family and found
// by binary search, so thousands of entries cost O(log n) per check; names
// and own addresses are looked up lazily and cached. Safe for concurrent use.
type Ignore struct {
	v4, v6  []addrRange
	names   []string
	resolve Resolver
	self    func() ([]netip.Addr, error)
	ttl     time.Duration

	mu    sync.Mutex
	cache map[string]lookup // by name; "" is the host's own addresses
}

// addrRange is an inclusive range of addresses of one family.
type addrRange struct{ lo, hi netip.Addr }

// lookup is a cached name resolution.
type lookup struct {
	addrs   []netip.Addr
	expires time.Time
}

// NewIgnore parses an ignore list. Errors name the entry at fault.
func NewIgnore(cfg IgnoreConfig) (*Ignore, error) {
	ig := &Ignore{resolve: cfg.Resolve, ttl: cfg.TTL, cache: map[string]lookup{}}
	if ig.ttl <= 0 {
		ig.ttl = 5 * time.Minute
	}
	if cfg.Self {
		if cfg.SelfAddrs == nil {
			return nil, fmt.Errorf("ignoreself: no source of own addresses")
		}
		ig.self = cfg.SelfAddrs
	}
	var v4, v6 []addrRange
	for _, raw := range cfg.Entries {
		e := strings.TrimSpace(raw)
		if e == "" {
			continue
		}
		p, err := parseIgnorePrefix(e)
		if err == nil {
			r := addrRange{lo: p.Masked().Addr(), hi: lastAddr(p)}
			if r.lo.Is4() {
				v4 = append(v4, r)
			} else {
				v6 = append(v6, r)
			}
			continue
		}
		if !isHostName(e) {
			return nil, fmt.Errorf("ignoreip %q: not an address, CIDR or host name", raw)
		}
		if cfg.Resolve == nil {
			return nil, fmt.Errorf("ignoreip %q: host names need a resolver", raw)
		}
		ig.names = append(ig.names, strings.ToLower(strings.TrimSuffix(e, ".")))
	}
	ig.v4, ig.v6 = mergeRanges(v4), mergeRanges(v6)
	return ig, nil
}

// parseIgnorePrefix parses an address, a CIDR, or an IPv4 network with a
// dotted netmask.
func parseIgnorePrefix(s string) (netip.Prefix, error) {
	addrText, bitsText, hasBits := strings.Cut(s, "/")
	addr, err := netip.ParseAddr(addrText)
	if err != nil {
		return netip.Prefix{}, err
	}
	addr = addr.WithZone("")
	bits := addr.BitLen()
	if hasBits {
		if mask, err := netip.ParseAddr(bitsText); err == nil && mask.Is4() && addr.Is4() {
			bits, err = maskBits(mask)
			if err != nil {
				return netip.Prefix{}, err
			}
		} else if bits, err = strconv.Atoi(bitsText); err != nil {
			return netip.Prefix{}, fmt.Errorf("bad prefix length %q", bitsText)
		}
	}
	if addr.Is4In6() && bits >= 96 {
		addr, bits = addr.Unmap(), bits-96
	}
	p, err := addr.Prefix(bits)
	if err != nil {
		return netip.Prefix{}, err
	}
	return p, nil
}

// maskBits turns a contiguous dotted netmask into a prefix length.
func maskBits(mask netip.Addr) (int, error) {
	b := mask.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	n := 0
	for v&(1<<31) != 0 {
		v <<= 1
		n++
	}
	if v != 0 {
		return 0, fmt.Errorf("netmask %v is not contiguous", mask)
	}
	return n, nil
}

// lastAddr returns the highest address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As16()
	host := 128 - p.Bits()
	if p.Addr().Is4() {
		host = 32 - p.Bits()
	}
	for i := 15; i >= 0 && host > 0; i-- {
		n := min(host, 8)
		a[i] |= byte(1<<n - 1)
		host -= n
	}
	if p.Addr().Is4() {
		return netip.AddrFrom16(a).Unmap()
	}
	return netip.AddrFrom16(a)
}

// mergeRanges sorts ranges and merges overlapping and adjacent ones.
func mergeRanges(rs []addrRange) []addrRange {
	slices.SortFunc(rs, func(a, b addrRange) int { return a.lo.Compare(b.lo) })
	out := rs[:0]
	for _, r := range rs {
		if n := len(out); n > 0 {
			last := &out[n-1]
			if next := last.hi.Next(); r.lo.Compare(last.hi) <= 0 || next.IsValid() && r.lo == next {
				if r.hi.Compare(last.hi) > 0 {
					last.hi = r.hi
				}
				continue
			}
		}
		out = append(out, r)
	}
	return slices.Clip(out)
}

// isHostName reports whether s looks like a DNS name.
func isHostName(s string) bool {
	if len(s) > 253 || strings.Contains(s, "..") || strings.HasPrefix(s, ".") || strings.HasPrefix(s, "-") {
		return false
	}
	letter := false
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			letter = true
		case c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_':
		default:
			return false
		}
	}
	return letter
}

// Contains reports whether addr is ignored at time now. Cached names and
// own addresses older than the TTL are looked up again, synchronously.
func (ig *Ignore) Contains(addr netip.Addr, now time.Time) bool {
	addr = addr.Unmap().WithZone("")
	ranges := ig.v6
	if addr.Is4() {
		ranges = ig.v4
	}
	i, _ := slices.BinarySearchFunc(ranges, addr, func(r addrRange, a netip.Addr) int {
		if r.hi.Compare(a) < 0 {
			return -1
		}
		if r.lo.Compare(a) > 0 {
			return 1
		}
		return 0
	})
	if i < len(ranges) && ranges[i].lo.Compare(addr) <= 0 && addr.Compare(ranges[i].hi) <= 0 {
		return true
	}
	if len(ig.names) == 0 && ig.self == nil {
		return false
	}
	ig.mu.Lock()
	defer ig.mu.Unlock()
	if ig.self != nil && slices.Contains(ig.cached("", now), addr) {
		return true
	}
	for _, n := range ig.names {
		if slices.Contains(ig.cached(n, now), addr) {
			return true
		}
	}
	return false
}

// Overlaps reports an ignored address inside p, if any: a manual ban of a
// network must not cover an address that is never to be banned.
func (ig *Ignore) Overlaps(p netip.Prefix, now time.Time) (netip.Addr, bool) {
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	p = netip.PrefixFrom(p.Addr().WithZone(""), p.Bits()).Masked()
	if p.IsSingleIP() {
		return p.Addr(), ig.Contains(p.Addr(), now)
	}
	lo, hi := p.Addr(), lastAddr(p)
	ranges := ig.v6
	if lo.Is4() {
		ranges = ig.v4
	}
	// The first range that ends at or after lo overlaps p if it starts
	// before p ends.
	i, _ := slices.BinarySearchFunc(ranges, lo, func(r addrRange, a netip.Addr) int {
		if r.hi.Compare(a) < 0 {
			return -1
		}
		return 1
	})
	if i < len(ranges) && ranges[i].lo.Compare(hi) <= 0 {
		if ranges[i].lo.Compare(lo) > 0 {
			return ranges[i].lo, true
		}
		return lo, true
	}
	if len(ig.names) == 0 && ig.self == nil {
		return netip.Addr{}, false
	}
	ig.mu.Lock()
	defer ig.mu.Unlock()
	names := ig.names
	if ig.self != nil {
		names = append([]string{""}, names...)
	}
	for _, n := range names {
		for _, a := range ig.cached(n, now) {
			if p.Contains(a) {
				return a, true
			}
		}
	}
	return netip.Addr{}, false
}

// cached returns the addresses of name ("" for own addresses), looking
// them up when the cache has none or they expired. Holds ig.mu.
func (ig *Ignore) cached(name string, now time.Time) []netip.Addr {
	if l, ok := ig.cache[name]; ok && now.Before(l.expires) {
		return l.addrs
	}
	var addrs []netip.Addr
	var err error
	if name == "" {
		addrs, err = ig.self()
	} else {
		addrs, err = ig.resolve(name)
	}
	ttl := ig.ttl
	if err != nil {
		ttl /= 10
		if old, ok := ig.cache[name]; ok {
			addrs = old.addrs // keep the last good answer while the lookup fails
		}
	}
	addrs = slices.Clone(addrs)
	for i, a := range addrs {
		addrs[i] = a.Unmap().WithZone("")
	}
	ig.cache[name] = lookup{addrs: addrs, expires: now.Add(ttl)}
	return addrs
}
