package webattack

import (
	"bytes"
	"hash/maphash"
)

// cacheSlots is the size of a header cache: user agents and referers
// repeat from line to line, so their prefilter results are kept.
const cacheSlots = 1024

// maxCachedValue bounds the values cached (longer ones are rare, and
// scanned every time).
const maxCachedValue = 512

// maxCachedFound bounds the pattern matches remembered per value.
const maxCachedFound = 4

// headerCache is a direct-mapped cache from a header value to its
// prefilter rule set, and to what the rules' patterns found in it: a
// scanner's or a browser's user agent is seen again and again, and its
// patterns need to run once. Its slots are allocated once, so it never
// allocates while scanning.
type headerCache struct {
	seed  maphash.Seed
	words int
	key   [cacheSlots][]byte
	bits  []uint64 // cacheSlots * words
	hit   [cacheSlots]bool
	// fail has the rules whose pattern ran on the slot's value and did
	// not match; found the ones that matched, and where.
	fail   []uint64 // cacheSlots * words
	found  [cacheSlots][maxCachedFound]cachedMatch
	nfound [cacheSlots]uint8
	cur    int // slot of the value last scanned, or -1 (not cached)
}

type cachedMatch struct {
	rule       int32 // Rule.index
	start, end int32
}

func newHeaderCache(words int) *headerCache {
	return &headerCache{seed: maphash.MakeSeed(), words: words, bits: make([]uint64, cacheSlots*words),
		fail: make([]uint64, cacheSlots*words), cur: -1}
}

// Results of lookup.
const (
	unknown = iota // the pattern has not run on the value yet
	noMatch
	matched
)

// lookup says what rule r's pattern does on the value last scanned, and
// where it matched. A nil cache knows nothing.
func (c *headerCache) lookup(r *Rule) (state int, start, end int) {
	if c == nil || c.cur < 0 {
		return unknown, 0, 0
	}
	if c.fail[c.cur*c.words+r.index/64]&(1<<(r.index%64)) != 0 {
		return noMatch, 0, 0
	}
	for _, m := range c.found[c.cur][:c.nfound[c.cur]] {
		if int(m.rule) == r.index {
			return matched, int(m.start), int(m.end)
		}
	}
	return unknown, 0, 0
}

// record notes what rule r's pattern did on the value last scanned.
func (c *headerCache) record(r *Rule, loc []int) {
	if c == nil || c.cur < 0 {
		return
	}
	if loc == nil {
		c.fail[c.cur*c.words+r.index/64] |= 1 << (r.index % 64)
		return
	}
	if n := c.nfound[c.cur]; n < maxCachedFound {
		c.found[c.cur][n] = cachedMatch{int32(r.index), int32(loc[0]), int32(loc[1])}
		c.nfound[c.cur] = n + 1
	}
}

// scan fills cand for v from the cache, or from pf and then the cache.
func (c *headerCache) scan(pf *prefilter, v []byte, cand []uint64) {
	c.cur = -1
	if len(v) > maxCachedValue {
		pf.scan(v, cand)
		return
	}
	slot := maphash.Bytes(c.seed, v) & (cacheSlots - 1)
	bits := c.bits[int(slot)*c.words : int(slot+1)*c.words]
	c.cur = int(slot)
	if c.hit[slot] && bytes.Equal(c.key[slot], v) {
		copy(cand, bits)
		return
	}
	pf.scan(v, cand)
	clear(c.fail[int(slot)*c.words : int(slot+1)*c.words])
	c.nfound[slot] = 0
	if c.key[slot] == nil {
		c.key[slot] = make([]byte, 0, maxCachedValue)
	}
	c.key[slot] = append(c.key[slot][:0], v...)
	copy(bits, cand)
	c.hit[slot] = true
}
