// Package fleet shares bans between rampart nodes over NATS JetStream.
//
// A ban made here (by a jail, a person or a kernel rule) is published once
// on rampart.bans.<node>.<prefix> into the stream RAMPART_BANS, with a
// message ID for de-duplication and the ban's end as the message's TTL;
// an unban replaces it (the stream keeps one message per subject). Every
// node reads the stream with an ordered consumer from the last sequence it
// stored, so a node that was down catches up on what is still active, and
// also subscribes to the subjects directly so that bans arrive while the
// stream's leader is being re-elected. Received bans get the origin
// "fleet NODE", obey this node's ignore lists and caps, and are never
// published again.
//
// Publishing is fed by the daemon's event bus and never blocks banning:
// messages wait in a bounded outbox while the connection is down.
package fleet

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rampart-ids/rampart/internal/event"
	"github.com/rampart-ids/rampart/internal/origin"
	"github.com/rampart-ids/rampart/internal/store"
)

// Bans is what the fleet needs of the ban manager (*ban.Manager has it).
type Bans interface {
	Add(ctx context.Context, bans []store.Ban) error
	Remove(ctx context.Context, jail string, prefix netip.Prefix, all bool, by string) ([]store.Ban, error)
	// RemoveMany lifts the bans selected by each one's Jail and Prefix in
	// one batch.
	RemoveMany(ctx context.Context, sel []store.Ban, by string) ([]store.Ban, error)
	Active() []store.Ban
}

// Cursor keeps the last stream sequence applied and the time of the last
// local ban published, across restarts (*store.Store has it).
type Cursor interface {
	FleetCursor(ctx context.Context, stream string) (seq uint64, published time.Time, err error)
	SetFleetCursor(ctx context.Context, stream string, seq uint64) error
	SetFleetPublished(ctx context.Context, stream string, t time.Time) error
}

// Options configure a Fleet.
type Options struct {
	Config Config
	Bans   Bans
	Cursor Cursor
	// Ignored reports whether this node never bans a prefix (its jails'
	// ignoreip); it always wins over received bans.
	Ignored func(netip.Prefix) bool
	Log     *slog.Logger
	Now     func() time.Time
}

// Fleet is one node's link to the fleet. Run connects and receives;
// Handle (an event subscriber) publishes.
type Fleet struct {
	cfg    Config
	bans   Bans
	cursor Cursor
	log    *slog.Logger
	now    func() time.Time
	caps   *caps

	out  *outbox
	wake chan struct{}
	recv chan received

	nc atomic.Pointer[nats.Conn]
	js atomic.Pointer[jetstream.JetStream]

	mu        sync.Mutex
	applied   map[banKey]string // fleet bans this node holds, by the node they came from
	nodes     map[string]*NodeStats
	seq       uint64 // last stream sequence applied
	streamSeq uint64 // the stream's last sequence, when last asked
	catchUp   bool
	lastWarn  map[string]time.Time
	seen      seenIDs
	lifted    lifted // recent unbans, to ignore late copies of the bans they lifted
	// grewAt is when the stream was last seen to grow past seq (a live
	// ban from another node, an acknowledged publish of ours, a
	// reconnect) with no reader progress since; zero when none.
	// progressAt is when the reader last delivered or seq advanced.
	grewAt     time.Time
	progressAt time.Time
	// streamChecks counts the stream-info requests of the reader's checks.
	streamChecks atomic.Uint64
}

type banKey struct {
	jail   string
	prefix netip.Prefix
}

// received is one message from the consumer (seq > 0) or the live
// subscription (seq 0).
type received struct {
	node    string
	id      string
	msg     Message
	err     error
	seq     uint64
	pending uint64
	dup     bool // a stored message already applied from the live path
}

// recvQueue bounds the received messages waiting to be applied; NATS
// callbacks wait when it is full.
const recvQueue = 65536

// maxApply bounds one Add: one SQLite transaction and a few netlink
// batches. A catch-up of more is applied in several.
const maxApply = 200000

// New returns a Fleet for an enabled, validated cfg.
func New(o Options) *Fleet {
	cfg := o.Config.WithDefaults()
	f := &Fleet{
		cfg: cfg, bans: o.Bans, cursor: o.Cursor, log: o.Log, now: o.Now,
		out:      newOutbox(cfg.Outbox),
		wake:     make(chan struct{}, 1),
		recv:     make(chan received, recvQueue),
		applied:  map[banKey]string{},
		nodes:    map[string]*NodeStats{},
		lastWarn: map[string]time.Time{},
		seen:     newSeenIDs(),
		lifted:   newLifted(),
	}
	if f.log == nil {
		f.log = slog.Default()
	}
	if f.now == nil {
		f.now = time.Now
	}
	f.caps = newCaps(cfg, o.Ignored)
	return f
}

// Node returns this node's name.
func (f *Fleet) Node() string { return f.cfg.Node }

// Run connects to NATS, publishes the outbox and applies received bans
// until ctx is done. It fails only on what retrying cannot mend (a
// credentials file that does not exist).
func (f *Fleet) Run(ctx context.Context) error {
	seq, published, err := f.cursor.FleetCursor(ctx, f.cfg.Stream)
	if err != nil {
		return fmt.Errorf("fleet: reading the stored sequence: %w", err)
	}
	f.mu.Lock()
	f.seq = seq
	f.mu.Unlock()
	f.adoptActive(published)
	nc, err := f.connect()
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(publishBatchLen))
	if err != nil {
		return fmt.Errorf("fleet: %w", err)
	}
	f.js.Store(&js)
	f.nc.Store(nc)
	sub, err := nc.Subscribe(SubjectRoot+".>", f.onLive)
	if err != nil {
		return fmt.Errorf("fleet: subscribe: %w", err)
	}
	_ = sub.SetPendingLimits(-1, 256<<20)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); f.publish(ctx) }()
	go func() { defer wg.Done(); f.consume(ctx, js) }()
	f.apply(ctx)
	wg.Wait()
	_ = sub.Unsubscribe()
	return nil
}

// adoptActive records the fleet bans the store holds (from an earlier
// run) and queues for publishing the local bans made after the last one
// the stream acknowledged (published while disconnected, or not at all).
func (f *Fleet) adoptActive(published time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, b := range f.bans.Active() {
		if b.Origin.Kind == origin.Fleet {
			f.applied[banKey{b.Jail, b.Prefix}] = b.Origin.Name
			continue
		}
		if local(b.Origin.Kind) && f.cfg.shares(b.Jail) && b.Since.After(published.Add(-time.Minute)) {
			f.out.push(Message{Op: OpBan, Jail: b.Jail, Prefix: b.Prefix, Origin: b.Origin.String(), Since: b.Since, Until: b.Until, Count: b.Count})
			n++
		}
	}
	if n > 0 {
		f.log.Info("fleet: publishing local bans the stream has not acknowledged", "bans", n)
	}
}

// connect dials NATS; the client keeps reconnecting on its own, to any of
// the servers, forever.
func (f *Fleet) connect() (*nats.Conn, error) {
	opts := []nats.Option{
		nats.Name("rampart " + f.cfg.Node),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500 * time.Millisecond),
		nats.ReconnectJitter(250*time.Millisecond, time.Second),
		nats.PingInterval(5 * time.Second),
		nats.MaxPingsOutstanding(2),
		nats.Timeout(2 * time.Second),
		nats.ReconnectBufSize(-1), // the outbox, not the client, holds what waits
		nats.ConnectHandler(func(nc *nats.Conn) {
			f.log.Info("fleet: connected", "server", nc.ConnectedUrlRedacted(), "node", f.cfg.Node)
			f.poke()
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			f.log.Info("fleet: reconnected", "server", nc.ConnectedUrlRedacted())
			// What was published meanwhile is checked for soon.
			f.streamGrew(0)
			f.poke()
		}),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				f.log.Warn("fleet: disconnected; bans wait in the outbox", "err", err)
			}
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			f.log.Warn("fleet: NATS error", "err", err)
		}),
	}
	auth, err := f.cfg.authOptions()
	if err != nil {
		return nil, err
	}
	opts = append(opts, auth...)
	nc, err := nats.Connect(joinURLs(f.cfg.Servers), opts...)
	if err != nil {
		return nil, fmt.Errorf("fleet: connect: %w", err)
	}
	return nc, nil
}

// poke wakes the publisher.
func (f *Fleet) poke() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// local reports whether bans of origin kind k were decided on this node
// (only those are published: a fleet ban is never sent on again).
func local(k origin.Kind) bool {
	return k == origin.Jail || k == origin.Manual || k == origin.Kernel
}

// Handle is the fleet's event subscriber: local bans and unbans of shared
// jails go into the outbox. It never waits for the network.
func (f *Fleet) Handle(_ context.Context, evs []event.Event) {
	queued := false
	for _, e := range evs {
		if e.Kind != event.BanAdded && e.Kind != event.BanRemoved {
			continue
		}
		o, err := origin.Parse(e.Origin)
		if err != nil || !local(o.Kind) {
			continue
		}
		if e.Kind == event.BanAdded {
			// A local ban replaced whatever fleet ban held this key: a
			// later unban from that node must not lift it.
			f.mu.Lock()
			delete(f.applied, banKey{e.Jail, e.Prefix})
			f.mu.Unlock()
		}
		if !f.cfg.shares(e.Jail) {
			continue
		}
		m := Message{Op: OpBan, Jail: e.Jail, Prefix: e.Prefix, Origin: e.Origin, Since: e.Time, Until: e.Until, Count: e.Count}
		if e.Kind == event.BanRemoved {
			m.Op = OpUnban
		}
		f.mu.Lock()
		f.out.push(m)
		f.mu.Unlock()
		queued = true
	}
	if queued {
		f.poke()
	}
}

// publish sends the outbox in order whenever connected. A batch is
// dropped from the outbox only up to its first message the stream did not
// acknowledge; the rest are sent again (the message ID makes a second copy
// of a stored one a no-op).
func (f *Fleet) publish(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			// Try once more for what the last events queued.
			fctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			for f.publishBatch(fctx) > 0 {
			}
			cancel()
			return
		case <-f.wake:
		case <-tick.C:
		}
		for f.publishBatch(ctx) > 0 {
		}
	}
}

// publishBatchLen is how many messages are in flight at once.
const publishBatchLen = 8192

// ackWait bounds the wait for the stream's acknowledgements of a batch.
const ackWait = 1500 * time.Millisecond

// publishBatch publishes the head of the outbox and returns how many were
// acknowledged (0: nothing to do, or a failure to retry later).
func (f *Fleet) publishBatch(ctx context.Context) int {
	nc, jsp := f.nc.Load(), f.js.Load()
	if nc == nil || jsp == nil || !nc.IsConnected() {
		return 0
	}
	js := *jsp
	f.mu.Lock()
	batch := f.out.peek(publishBatchLen)
	f.mu.Unlock()
	if len(batch) == 0 {
		return 0
	}
	futures := make([]jetstream.PubAckFuture, 0, len(batch))
	now := f.now()
	for _, m := range batch {
		body, err := m.Encode()
		if err != nil {
			f.log.Error("fleet: ban cannot be encoded; dropped", "ip", m.Prefix, "err", err)
			body = nil
		}
		msg := nats.NewMsg(Subject(f.cfg.Node, m.Prefix))
		msg.Data = body
		opts := []jetstream.PublishOpt{jetstream.WithMsgID(m.ID(f.cfg.Node)), jetstream.WithExpectStream(f.cfg.Stream)}
		if !m.Until.IsZero() {
			opts = append(opts, jetstream.WithMsgTTL(ttl(m.Until, now)))
		}
		fut, err := js.PublishMsgAsync(msg, opts...)
		if err != nil {
			break
		}
		futures = append(futures, fut)
	}
	ok := 0
	var lastAck uint64
	// A short wait: when the stream's leader is gone, sending the batch
	// again soon reaches, through the live subjects, the nodes that were
	// reconnecting the first time.
	wait := time.NewTimer(ackWait)
	defer wait.Stop()
	var failed error
acks:
	for _, fut := range futures {
		select {
		case ack := <-fut.Ok():
			ok++
			if ack != nil {
				lastAck = max(lastAck, ack.Sequence)
			}
		case err := <-fut.Err():
			failed = err
			break acks
		case <-wait.C:
			failed = fmt.Errorf("no acknowledgement within %s", ackWait)
			break acks
		case <-ctx.Done():
			failed = ctx.Err()
			break acks
		}
	}
	if lastAck > 0 {
		f.streamGrew(lastAck)
	}
	if ok > 0 {
		f.mu.Lock()
		f.out.pop(ok)
		f.node(f.cfg.Node).Sent += uint64(ok)
		f.mu.Unlock()
		last := batch[ok-1].Since
		if err := f.cursor.SetFleetPublished(context.WithoutCancel(ctx), f.cfg.Stream, last); err != nil {
			f.log.Warn("fleet: storing the publish mark", "err", err)
		}
	}
	if failed != nil && ctx.Err() == nil {
		f.warnEvery("publish", "fleet: the stream did not take every ban; retrying", "sent", ok, "waiting", f.Outbox(), "err", failed)
		return 0
	}
	if ok < len(batch) {
		return 0
	}
	return ok
}

// ttl is the message TTL of a ban ending at until: whole seconds, at
// least one (the server's minimum).
func ttl(until, now time.Time) time.Duration {
	d := until.Sub(now).Round(time.Second)
	if d < time.Second {
		d = time.Second
	}
	return d
}

// reject counts a received ban that is not enforced and logs it, at most
// once a minute per node and reason. Holds mu.
func (f *Fleet) reject(node, reason, detail string, p netip.Prefix) {
	st := f.node(node)
	if st.Rejected == nil {
		st.Rejected = map[string]uint64{}
	}
	st.Rejected[reason]++
	k := node + " " + reason
	if now := f.now(); now.Sub(f.lastWarn[k]) >= time.Minute {
		f.lastWarn[k] = now
		attrs := []any{"node", node, "reason", reason, "rejected", st.Rejected[reason]}
		if p.IsValid() {
			attrs = append(attrs, "ip", p)
		}
		if detail != "" {
			attrs = append(attrs, "err", detail)
		}
		f.log.Warn("fleet: received ban not enforced", attrs...)
	}
}

// warnEvery logs msg at most once a minute per key.
func (f *Fleet) warnEvery(key, msg string, attrs ...any) {
	f.mu.Lock()
	now := f.now()
	skip := now.Sub(f.lastWarn[key]) < time.Minute
	if !skip {
		f.lastWarn[key] = now
	}
	f.mu.Unlock()
	if !skip {
		f.log.Warn(msg, attrs...)
	}
}

// node returns the counters of node, creating them. Holds mu.
func (f *Fleet) node(name string) *NodeStats {
	st := f.nodes[name]
	if st == nil {
		st = &NodeStats{Node: name}
		f.nodes[name] = st
	}
	return st
}
