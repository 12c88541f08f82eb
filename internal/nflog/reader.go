package nflog

import (
	"context"
	"fmt"
	"time"

	gonflog "github.com/florianl/go-nflog/v2"
)

// Message is one logged packet: the rule's prefix and the packet.
type Message struct {
	Prefix string
	Time   time.Time
	Packet Packet
}

// Reader reads one NFLOG group of the current network namespace.
type Reader struct {
	// Group is the NFLOG group (nftables `log group N`).
	Group uint16
	// OnBad, optional, is told of packets that do not parse.
	OnBad func(error)
	// NetNS, when non-zero, is a descriptor of the network namespace to
	// read in instead of the process's own (tests).
	NetNS int
}

// Run binds the group and calls fn for every parsed message until ctx is
// done. Only one reader per group and namespace can bind it. fn is called
// on one goroutine and must not block for long.
func (r *Reader) Run(ctx context.Context, fn func(Message)) error {
	nf, err := gonflog.Open(&gonflog.Config{
		Group:    r.Group,
		NetNS:    r.NetNS,
		Copymode: gonflog.CopyPacket,
		// Headers are all rampart reads.
		Bufsize: 128,
		// Deliver at once: a scan's first packets decide its latency.
		QThresh: 1,
	})
	if err != nil {
		return fmt.Errorf("nflog group %d: %w", r.Group, err)
	}
	defer nf.Close()
	_ = nf.Con.SetReadBuffer(1 << 20)
	hook := func(a gonflog.Attribute) int {
		if a.Payload == nil {
			return 0
		}
		m := Message{Time: time.Now()}
		if a.Prefix != nil {
			m.Prefix = *a.Prefix
		}
		if a.Timestamp != nil {
			m.Time = *a.Timestamp
		}
		p, err := Parse(*a.Payload)
		if err != nil {
			if r.OnBad != nil {
				r.OnBad(err)
			}
			return 0
		}
		m.Packet = p
		fn(m)
		return 0
	}
	errFn := func(e error) int {
		if ctx.Err() != nil {
			return 1
		}
		if r.OnBad != nil {
			r.OnBad(e)
		}
		return 0 // ENOBUFS under a flood: go on reading
	}
	if err := nf.RegisterWithErrorFunc(ctx, hook, errFn); err != nil {
		return fmt.Errorf("nflog group %d: %w", r.Group, err)
	}
	<-ctx.Done()
	return nil
}
