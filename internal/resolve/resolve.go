// Package resolve looks host names up for the jails: the names in ignoreip,
// and the host names some filters report instead of an address (usedns).
// Answers are cached, so a stream of lines naming one host waits on DNS
// once per TTL, and a lookup never waits longer than Timeout.
package resolve

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"time"
)

// The cache's defaults.
const (
	TTL      = 5 * time.Minute
	NegTTL   = time.Minute
	Timeout  = 2 * time.Second
	maxCache = 4096
)

// Resolver is a caching host name resolver, safe for concurrent use.
type Resolver struct {
	// Lookup defaults to net.DefaultResolver.LookupNetIP.
	Lookup func(ctx context.Context, network, host string) ([]netip.Addr, error)
	// Now defaults to time.Now.
	Now func() time.Time

	mu    sync.Mutex
	cache map[string]entry
}

type entry struct {
	addrs []netip.Addr
	err   error
	until time.Time
}

// Addrs returns the addresses of name (IPv4-mapped ones unmapped), from
// the cache when it is fresh.
func (r *Resolver) Addrs(ctx context.Context, name string) ([]netip.Addr, error) {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	t := now()
	r.mu.Lock()
	if e, ok := r.cache[name]; ok && t.Before(e.until) {
		r.mu.Unlock()
		return e.addrs, e.err
	}
	r.mu.Unlock()
	lookup := r.Lookup
	if lookup == nil {
		lookup = net.DefaultResolver.LookupNetIP
	}
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	ips, err := lookup(ctx, "ip", name)
	for i := range ips {
		ips[i] = ips[i].Unmap()
	}
	e := entry{addrs: ips, err: err, until: t.Add(TTL)}
	if err != nil {
		e.until = t.Add(NegTTL)
	}
	r.mu.Lock()
	if r.cache == nil || len(r.cache) >= maxCache {
		r.cache = map[string]entry{}
	}
	r.cache[name] = e
	r.mu.Unlock()
	return ips, err
}

// Func adapts Addrs to a plain function (jail.IgnoreConfig.Resolve).
func (r *Resolver) Func() func(string) ([]netip.Addr, error) {
	return func(name string) ([]netip.Addr, error) { return r.Addrs(context.Background(), name) }
}
