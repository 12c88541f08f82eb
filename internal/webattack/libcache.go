package webattack

import libinjection "github.com/corazawaf/libinjection-go"

// libCache remembers libinjection's verdicts on values it has seen: a
// site's requests repeat (the same pages, filters, tracking links), and
// libinjection's tokenizer is a pure function of the value costing
// microseconds. Bounded: it is emptied when full, so an attacker sending
// only new values costs it a map insert each.
type libCache struct {
	m map[string]libVerdict
}

// maxLibCache bounds the values remembered, and maxLibCacheValue their
// length: at most 4 MiB of keys (repeated values are short; a long one is
// checked every time).
const (
	maxLibCache      = 4096
	maxLibCacheValue = 1024
)

type libVerdict struct {
	sqliKnown, sqli bool
	fp              string
	xssKnown, xss   bool
}

// isSQLi is libinjection.IsSQLi(v), remembered.
func (c *libCache) isSQLi(v []byte) (bool, string) {
	if len(v) > maxLibCacheValue {
		return libinjection.IsSQLi(bstr(v))
	}
	e, ok := c.m[bstr(v)]
	if ok && e.sqliKnown {
		return e.sqli, e.fp
	}
	e.sqliKnown = true
	e.sqli, e.fp = libinjection.IsSQLi(bstr(v))
	c.put(v, e, ok)
	return e.sqli, e.fp
}

// isXSS is libinjection.IsXSS(v), remembered.
func (c *libCache) isXSS(v []byte) bool {
	if len(v) > maxLibCacheValue {
		return libinjection.IsXSS(bstr(v))
	}
	e, ok := c.m[bstr(v)]
	if ok && e.xssKnown {
		return e.xss
	}
	e.xssKnown = true
	e.xss = libinjection.IsXSS(bstr(v))
	c.put(v, e, ok)
	return e.xss
}

func (c *libCache) put(v []byte, e libVerdict, present bool) {
	if present {
		// A copy again: assigning to a present string key stores the new
		// key too, and v is the caller's buffer.
		c.m[string(v)] = e
		return
	}
	if c.m == nil || len(c.m) >= maxLibCache {
		c.m = make(map[string]libVerdict, 256)
	}
	c.m[string(v)] = e
}
