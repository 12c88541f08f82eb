package fleet

import (
	"context"
	"sort"
	"time"

	"github.com/rampart-ids/rampart/internal/control"
)

// Outbox returns the number of messages waiting to be published.
func (f *Fleet) Outbox() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.out.len()
}

// NodeStats counts one node's bans as seen here (the control API's type).
type NodeStats = control.FleetNode

// Status is what `rampart fleet status` shows (the control API's type).
type Status = control.FleetStatus

// Status reports the connection and the counters. It asks the stream for
// its last sequence (at most a second).
func (f *Fleet) Status(ctx context.Context) Status {
	if jsp := f.js.Load(); jsp != nil {
		if nc := f.nc.Load(); nc != nil && nc.IsConnected() {
			ctx, cancel := context.WithTimeout(ctx, time.Second)
			if s, err := (*jsp).Stream(ctx, f.cfg.Stream); err == nil {
				f.mu.Lock()
				f.streamSeq = max(f.streamSeq, s.CachedInfo().State.LastSeq)
				f.mu.Unlock()
			}
			cancel()
		}
	}
	return f.Snapshot()
}

// Snapshot is Status without asking the stream (for metrics scrapes).
func (f *Fleet) Snapshot() Status {
	st := Status{Node: f.cfg.Node, Stream: f.cfg.Stream, OutboxLimit: f.cfg.Outbox}
	if nc := f.nc.Load(); nc != nil {
		st.Connected = nc.IsConnected()
		if st.Connected {
			st.Server = nc.ConnectedUrlRedacted()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	st.LastSeq, st.StreamSeq, st.CatchingUp = f.seq, f.streamSeq, f.catchUp
	if st.StreamSeq > st.LastSeq {
		st.Lag = st.StreamSeq - st.LastSeq
	}
	st.Outbox, st.OutboxDropped = f.out.len(), f.out.dropped
	st.FleetBans = len(f.applied)
	for _, n := range f.nodes {
		c := *n
		c.Rejected = make(map[string]uint64, len(n.Rejected))
		for k, v := range n.Rejected {
			c.Rejected[k] = v
		}
		st.Nodes = append(st.Nodes, c)
	}
	sort.Slice(st.Nodes, func(i, j int) bool { return st.Nodes[i].Node < st.Nodes[j].Node })
	return st
}
