package daemon

import (
	"context"
	"net"
	"net/netip"
	"time"
)

// Host names in failures (usedns) are looked up at most once per TTL, so a
// stream of lines naming the same host does not wait on DNS each time.
const (
	dnsTTL      = 5 * time.Minute
	dnsNegTTL   = time.Minute
	dnsTimeout  = 2 * time.Second
	dnsCacheMax = 4096
)

type dnsEntry struct {
	addrs []netip.Addr
	err   error
	until time.Time
}

// resolveCached resolves a failure's host name through the daemon's cache.
func (d *Daemon) resolveCached(ctx context.Context, name string) ([]netip.Addr, error) {
	now := time.Now()
	d.dnsMu.Lock()
	if e, ok := d.dns[name]; ok && now.Before(e.until) {
		d.dnsMu.Unlock()
		return e.addrs, e.err
	}
	d.dnsMu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, dnsTimeout)
	defer cancel()
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", name)
	for i := range ips {
		ips[i] = ips[i].Unmap()
	}
	e := dnsEntry{addrs: ips, err: err, until: now.Add(dnsTTL)}
	if err != nil {
		e.until = now.Add(dnsNegTTL)
	}
	d.dnsMu.Lock()
	if d.dns == nil || len(d.dns) >= dnsCacheMax {
		d.dns = map[string]dnsEntry{}
	}
	d.dns[name] = e
	d.dnsMu.Unlock()
	return ips, err
}
