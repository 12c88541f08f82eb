package portscan

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/rampart-ids/rampart/internal/finding"
	"github.com/rampart-ids/rampart/internal/nflog"
)

// Rule is the findings' rule name.
const Rule = "portscan"

// Source reads the chain's NFLOG group and reports every logged packet as
// a finding: the source address, and the key "tcp/PORT" or "udp/PORT"
// (the jail counts distinct keys). It implements finding.Source.
type Source struct {
	Group uint16
	// OnBad, optional, is told of messages that do not parse.
	OnBad func(error)
	// Now defaults to time.Now (when the finding was read).
	Now func() time.Time
	// NetNS, when non-zero, is the network namespace to read in (tests).
	NetNS int
	// OnError, optional, is told when the group cannot be read (Run then
	// retries); without it Run returns the error.
	OnError func(error)
}

// RetryEvery is how long Run waits before binding the group again after
// a failure.
const RetryEvery = 5 * time.Second

// Run reads until ctx is done. Only one reader per group and network
// namespace binds it: while another program holds the group (a second
// daemon, ulogd), Run tells OnError and tries again every RetryEvery.
func (s *Source) Run(ctx context.Context, emit func(finding.Finding)) error {
	r := &nflog.Reader{Group: s.Group, OnBad: s.OnBad, NetNS: s.NetNS}
	for {
		err := r.Run(ctx, func(m nflog.Message) {
			if f, ok := s.Finding(m); ok {
				emit(f)
			}
		})
		if ctx.Err() != nil {
			return nil
		}
		if s.OnError == nil {
			return err
		}
		s.OnError(err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(RetryEvery):
		}
	}
}

// Finding turns a logged packet into a finding; false for messages of
// another rule (another prefix) and packets without a port.
func (s *Source) Finding(m nflog.Message) (finding.Finding, bool) {
	p := m.Packet
	if m.Prefix != LogPrefix || (p.Proto != nflog.ProtoTCP && p.Proto != nflog.ProtoUDP) || p.DstPort == 0 {
		return finding.Finding{}, false
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	read := now()
	at := m.Time
	if at.IsZero() || at.After(read) || read.Sub(at) > time.Minute {
		at = read
	}
	kind := p.Kind()
	if kind == "" {
		kind = "UDP"
	}
	key := fmt.Sprintf("%s/%d", p.ProtoName(), p.DstPort)
	return finding.Finding{
		Time: at, Read: read, Addr: p.Src.Unmap(), Source: fmt.Sprintf("nflog group %d", s.Group), Rule: Rule,
		Severity: finding.Low, Key: key,
		Evidence: fmt.Sprintf("%s %s -> %s/%s", kind, netip.AddrPortFrom(p.Src.Unmap(), p.SrcPort),
			netip.AddrPortFrom(p.Dst.Unmap(), p.DstPort), p.ProtoName()),
	}, true
}

// Describe implements finding.Describer.
func (s *Source) Describe() []string {
	return []string{fmt.Sprintf("nflog group %d (packets to closed ports)", s.Group)}
}
