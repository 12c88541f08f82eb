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

// headerCache is a direct-mapped cache from a header value (lower case) to
// its prefilter rule set. Its slots are allocated once, so it never
// allocates while scanning.
type headerCache struct {
	seed  maphash.Seed
	words int
	key   [cacheSlots][]byte
	bits  []uint64 // cacheSlots * words
	hit   [cacheSlots]bool
}

func newHeaderCache(words int) *headerCache {
	return &headerCache{seed: maphash.MakeSeed(), words: words, bits: make([]uint64, cacheSlots*words)}
}

// scan fills cand for v from the cache, or from pf and then the cache.
func (c *headerCache) scan(pf *prefilter, v []byte, cand []uint64) {
	if len(v) > maxCachedValue {
		pf.scan(v, cand)
		return
	}
	slot := maphash.Bytes(c.seed, v) & (cacheSlots - 1)
	bits := c.bits[int(slot)*c.words : int(slot+1)*c.words]
	if c.hit[slot] && bytes.Equal(c.key[slot], v) {
		copy(cand, bits)
		return
	}
	pf.scan(v, cand)
	if c.key[slot] == nil {
		c.key[slot] = make([]byte, 0, maxCachedValue)
	}
	c.key[slot] = append(c.key[slot][:0], v...)
	copy(bits, cand)
	c.hit[slot] = true
}
