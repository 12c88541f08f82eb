package limits

import (
	"context"
	"net/netip"
	"time"

	"github.com/rampart-ids/rampart/internal/nflog"
)

// Hit is a source the kernel just banned for a limit: the one packet its
// ban rule logged.
type Hit struct {
	Limit  string
	Reason string // ReasonConn or ReasonRate
	Addr   netip.Addr
	Time   time.Time
}

// Listen reads the limits' NFLOG group of the current network namespace
// and calls fn for every ban the kernel logged, until ctx is done. bad,
// optional, is told of what it cannot read (a packet or a prefix that is
// not a limit's).
func Listen(ctx context.Context, fn func(Hit), bad func(error)) error {
	r := &nflog.Reader{Group: Group, OnBad: bad}
	return r.Run(ctx, func(m nflog.Message) {
		limit, reason, err := ParsePrefix(m.Prefix)
		if err != nil {
			if bad != nil {
				bad(err)
			}
			return
		}
		fn(Hit{Limit: limit, Reason: reason, Addr: m.Packet.Src.Unmap(), Time: m.Time})
	})
}
