package fleet

import (
	"net/netip"
	"time"
)

// Reasons a received ban is not enforced.
const (
	RejectPrefix  = "prefix"   // shorter than min_prefix_v4 / min_prefix_v6
	RejectRate    = "rate"     // over max_per_minute from that node
	RejectIgnored = "ignoreip" // in this node's ignoreip or the fleet's
	RejectNode    = "node"     // the node is not in accept_from
	RejectInvalid = "invalid"  // not a valid message
)

// caps decides which received bans are enforced. Not safe for concurrent
// use: the receiver's one goroutine owns it.
type caps struct {
	cfg     Config
	ignored func(netip.Prefix) bool
	// window counts the bans accepted from each node in the current
	// minute (by the receiving clock).
	window map[string]*rateWindow
}

type rateWindow struct {
	start time.Time
	n     int
}

func newCaps(cfg Config, ignored func(netip.Prefix) bool) *caps {
	return &caps{cfg: cfg, ignored: ignored, window: map[string]*rateWindow{}}
}

// check returns "" when m from node may be applied, else the reason. A
// ban counts against node's rate; an unban never does (it can only lift
// that node's own bans).
func (c *caps) check(node string, m Message, now time.Time) string {
	if !c.cfg.accepts(node) {
		return RejectNode
	}
	if m.Op == OpUnban {
		return ""
	}
	p := m.Prefix
	if p.Addr().Is4() && p.Bits() < c.cfg.MinPrefixV4 || !p.Addr().Is4() && p.Bits() < c.cfg.MinPrefixV6 {
		return RejectPrefix
	}
	if c.overlapsIgnore(p) {
		return RejectIgnored
	}
	w := c.window[node]
	if w == nil {
		w = &rateWindow{start: now}
		c.window[node] = w
	}
	if now.Sub(w.start) >= time.Minute {
		w.start, w.n = now, 0
	}
	if w.n >= c.cfg.MaxPerMinute {
		return RejectRate
	}
	w.n++
	return ""
}

func (c *caps) overlapsIgnore(p netip.Prefix) bool {
	for _, ig := range c.cfg.IgnoreIP {
		if ig.Overlaps(p) {
			return true
		}
	}
	return c.ignored != nil && c.ignored(p)
}
