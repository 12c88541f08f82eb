package nft

import (
	"context"
	"time"

	"github.com/google/nftables"
)

var _ interface {
	Watch(context.Context, func()) error
} = (*Backend)(nil)

// Watch calls changed when something may have removed part of rampart's
// table from outside: a table, chain, set or rule of table inet rampart was
// deleted (`nft flush ruleset`, `nft -f` of a file that starts with it, a
// firewalld or ufw reload, an admin's `nft delete`). It listens to the
// kernel's nftables multicast group (NFNLGRP_NFTABLES) until ctx is done.
// Element deletions are not watched: rampart's own unbans and expiries make
// them all the time; the periodic comparison with the store catches a
// foreign `nft delete element`. When the subscription breaks (a burst of
// events overran its socket), changed is called, since a deletion may have
// been missed, and the subscription is made again.
func (b *Backend) Watch(ctx context.Context, changed func()) error {
	for ctx.Err() == nil {
		err := b.watchOnce(ctx, changed)
		if ctx.Err() != nil {
			return nil
		}
		changed()
		if err != nil {
			select {
			case <-time.After(time.Second):
			case <-ctx.Done():
			}
		}
	}
	return nil
}

func (b *Backend) watchOnce(ctx context.Context, changed func()) error {
	c, err := b.bulkConn() // large buffers: a flood's element events must not overrun it
	if err != nil {
		return err
	}
	defer c.CloseLasting()
	// Every action and object: google/nftables v0.3.0 tests its filter as
	// (flags&1)<<type, so only the all-ones filter delivers anything (and
	// it delivers a transaction's events on its NEWGEN message, which the
	// narrower filters drop). ours picks the deletions.
	mon := nftables.NewMonitor(nftables.WithMonitorAction(nftables.MonitorActionAny), nftables.WithMonitorObject(nftables.MonitorObjectAny))
	events, err := c.AddMonitor(mon)
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { mon.Close() })
	defer stop()
	defer mon.Close()
	for ev := range events {
		if ev.Error == nil && b.ours(ev) {
			changed()
		}
	}
	return nil
}

// ours reports whether ev deleted a table, chain, set or rule of
// rampart's table.
func (b *Backend) ours(ev *nftables.MonitorEvent) bool {
	var t *nftables.Table
	switch ev.Type {
	case nftables.MonitorEventTypeDelTable:
		t, _ = ev.Data.(*nftables.Table)
	case nftables.MonitorEventTypeDelChain:
		if c, ok := ev.Data.(*nftables.Chain); ok {
			t = c.Table
		}
	case nftables.MonitorEventTypeDelSet:
		if s, ok := ev.Data.(*nftables.Set); ok {
			t = s.Table
		}
	case nftables.MonitorEventTypeDelRule:
		if r, ok := ev.Data.(*nftables.Rule); ok {
			t = r.Table
		}
	}
	return t != nil && t.Name == b.table.Name && (t.Family == b.table.Family || t.Family == nftables.TableFamilyUnspecified)
}
