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
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sort"
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
	// A short wait: when the stream's leader is gone, sending the batch
	// again soon reaches, through the live subjects, the nodes that were
	// reconnecting the first time.
	wait := time.NewTimer(ackWait)
	defer wait.Stop()
	var failed error
acks:
	for _, fut := range futures {
		select {
		case <-fut.Ok():
			ok++
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

// onLive takes a message from the direct subscription.
func (f *Fleet) onLive(m *nats.Msg) {
	r := received{id: m.Header.Get(jetstream.MsgIDHeader)}
	r.node, r.err = NodeOf(m.Subject)
	if r.node == f.cfg.Node {
		return
	}
	if r.err == nil {
		r.msg, r.err = Decode(m.Data)
	}
	f.recv <- r
}

// consume reads the stream from the stored sequence, with an ordered
// consumer the client re-creates after failures, until ctx is done.
func (f *Fleet) consume(ctx context.Context, js jetstream.JetStream) {
	var stream jetstream.Stream
	for {
		var err error
		stream, err = f.ensureStream(ctx, js)
		if err == nil {
			break
		}
		f.warnEvery("stream", "fleet: stream not available; retrying", "stream", f.cfg.Stream, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Second):
		}
	}
	f.mu.Lock()
	start := f.seq
	f.mu.Unlock()
	last := stream.CachedInfo().State.LastSeq
	if last < start {
		f.log.Warn("fleet: the stream is behind the stored sequence (re-created?); reading it whole", "stored", start, "stream", last)
		start = 0
	}
	f.mu.Lock()
	f.streamSeq = last
	f.catchUp = last > start
	f.mu.Unlock()
	f.mu.Lock()
	f.seq = start
	f.mu.Unlock()
	f.log.Info("fleet: reading the stream", "stream", f.cfg.Stream, "from", start+1, "last", last)
	// The ordered consumer re-creates itself after most failures; when it
	// reports a lost consumer, or stays behind the stream without
	// progress, it is replaced from the last sequence applied.
	restart := make(chan struct{}, 1)
	check := time.NewTicker(consumerCheck)
	defer check.Stop()
	lastSeen := ^uint64(0)
	var troubled atomic.Bool
	ticks := 0
	for {
		f.mu.Lock()
		from := f.seq
		f.mu.Unlock()
		cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{SubjectRoot + ".>"}}
		if from > 0 {
			cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
			cfg.OptStartSeq = from + 1
		}
		var cc jetstream.ConsumeContext
		cons, err := stream.OrderedConsumer(ctx, cfg)
		if err == nil {
			// Short pulls and heartbeats: a consumer whose server died is
			// noticed within seconds.
			cc, err = cons.Consume(f.onStored, jetstream.PullExpiry(6*time.Second), jetstream.PullHeartbeat(time.Second),
				jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
					f.warnEvery("consume", "fleet: reading the stream", "err", err)
					troubled.Store(true)
					if errors.Is(err, jetstream.ErrNoHeartbeat) || errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrConsumerNotFound) {
						select {
						case restart <- struct{}{}:
						default:
						}
					}
				}))
		}
		if err != nil {
			f.warnEvery("consumer", "fleet: cannot read the stream; retrying", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(2 * time.Second):
			}
			continue
		}
	watch:
		for {
			select {
			case <-ctx.Done():
				cc.Stop()
				return
			case <-restart:
				break watch
			case <-check.C:
				// Asking the stream costs its leader a request: every
				// check after an error, else every sixth.
				if ticks++; !troubled.Swap(false) && ticks%6 != 0 {
					continue
				}
				f.mu.Lock()
				seq := f.seq
				f.mu.Unlock()
				if seq == lastSeen && f.streamAhead(ctx, stream, seq) {
					break watch
				}
				lastSeen = seq
			}
		}
		cc.Stop()
		f.log.Info("fleet: re-creating the stream reader", "from", from+1)
		select {
		case <-ctx.Done():
			return
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// consumerCheck is how often a reader that reported an error is checked
// against the stream's last sequence (one without errors: every 30 s).
const consumerCheck = 5 * time.Second

// streamAhead reports whether the stream holds messages after seq.
func (f *Fleet) streamAhead(ctx context.Context, s jetstream.Stream, seq uint64) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	info, err := s.Info(ctx)
	if err != nil {
		return false
	}
	f.mu.Lock()
	f.streamSeq = max(f.streamSeq, info.State.LastSeq)
	f.mu.Unlock()
	return info.State.LastSeq > seq
}

// onStored takes a message from the stream.
func (f *Fleet) onStored(m jetstream.Msg) {
	md, err := m.Metadata()
	if err != nil {
		return
	}
	r := received{seq: md.Sequence.Stream, pending: md.NumPending, id: m.Headers().Get(jetstream.MsgIDHeader)}
	r.node, r.err = NodeOf(m.Subject())
	if r.err == nil && r.node != f.cfg.Node {
		// Most stored messages arrived live already: skip decoding them.
		f.mu.Lock()
		r.dup = r.id != "" && f.seen.has(r.id)
		f.mu.Unlock()
		if !r.dup {
			r.msg, r.err = Decode(m.Data())
		}
	}
	f.recv <- r
}

// ensureStream returns the stream, creating it when it does not exist
// (nodes whose account may not create streams get it from the hub).
func (f *Fleet) ensureStream(ctx context.Context, js jetstream.JetStream) (jetstream.Stream, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, f.cfg.Stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return js.CreateStream(ctx, StreamConfig(f.cfg))
	}
	return s, err
}

// StreamConfig is the stream every node shares: one message per subject
// (the latest ban or unban of a prefix by a node), per-message TTLs, and
// max_age as the backstop.
func StreamConfig(cfg Config) jetstream.StreamConfig {
	cfg = cfg.WithDefaults()
	return jetstream.StreamConfig{
		Name:              cfg.Stream,
		Description:       "rampart bans shared across the fleet",
		Subjects:          []string{SubjectRoot + ".>"},
		Storage:           jetstream.FileStorage,
		Replicas:          cfg.Replicas,
		MaxAge:            cfg.MaxAge,
		MaxMsgsPerSubject: 1,
		Discard:           jetstream.DiscardOld,
		Duplicates:        2 * time.Minute,
		AllowMsgTTL:       true,
	}
}

// apply reads received messages and applies them in batches until ctx is
// done and the queue is empty.
func (f *Fleet) apply(ctx context.Context) {
	batch := make([]received, 0, 1024)
	for {
		var r received
		select {
		case r = <-f.recv:
		case <-ctx.Done():
			return
		}
		batch = append(batch[:0], r)
		idle := time.NewTimer(2 * time.Second)
	collect:
		for len(batch) < maxApply {
			select {
			case r := <-f.recv:
				batch = append(batch, r)
				if r.seq > 0 && r.pending == 0 {
					f.mu.Lock()
					f.catchUp = false
					f.mu.Unlock()
				}
				continue
			default:
			}
			f.mu.Lock()
			catching := f.catchUp
			f.mu.Unlock()
			if !catching {
				break
			}
			// Catching up: wait for the rest of the backlog, so that what
			// is still active goes to the kernel in one batch.
			select {
			case r := <-f.recv:
				batch = append(batch, r)
				if r.seq > 0 && r.pending == 0 {
					f.mu.Lock()
					f.catchUp = false
					f.mu.Unlock()
				}
			case <-idle.C:
				break collect
			case <-ctx.Done():
				break collect
			}
		}
		idle.Stop()
		f.applyBatch(context.WithoutCancel(ctx), batch)
	}
}

// applyBatch applies one batch: the last message for each (jail, prefix)
// wins, bans go in one Add, unbans lift only the sending node's bans.
func (f *Fleet) applyBatch(ctx context.Context, batch []received) {
	now := f.now()
	type op struct {
		node string
		msg  Message
	}
	final := map[banKey]op{}
	var order []banKey
	var maxSeq uint64
	f.mu.Lock()
	for _, r := range batch {
		if r.seq > maxSeq {
			maxSeq = r.seq
		}
		if r.node == f.cfg.Node || r.dup {
			continue
		}
		if r.err != nil {
			f.reject(r.node, RejectInvalid, r.err.Error(), netip.Prefix{})
			continue
		}
		if r.id != "" && !f.seen.add(r.id, now) {
			continue // already had it from the other path
		}
		if reason := f.caps.check(r.node, r.msg, now); reason != "" {
			f.reject(r.node, reason, "", r.msg.Prefix)
			continue
		}
		if r.msg.Op == OpBan && !r.msg.Until.IsZero() && !r.msg.Until.After(now) {
			continue // ended on the way
		}
		st := f.node(r.node)
		st.Received++
		st.Last = now
		k := banKey{r.msg.Jail, r.msg.Prefix}
		if _, ok := final[k]; !ok {
			order = append(order, k)
		}
		final[k] = op{r.node, r.msg}
	}
	var adds []store.Ban
	type unban struct {
		k    banKey
		node string
	}
	var unbans []unban
	for _, k := range order {
		o := final[k]
		if o.msg.Op == OpUnban {
			if f.applied[k] == o.node {
				unbans = append(unbans, unban{k, o.node})
			}
			continue
		}
		count := o.msg.Count
		if count < 1 {
			count = 1
		}
		adds = append(adds, store.Ban{Jail: k.jail, Prefix: k.prefix, Since: o.msg.Since, Until: o.msg.Until, Count: count,
			Origin: origin.Origin{Kind: origin.Fleet, Name: o.node}})
	}
	f.mu.Unlock()
	stored := true
	if len(adds) > 0 {
		if err := f.bans.Add(ctx, adds); err != nil {
			f.log.Error("fleet: applying received bans", "bans", len(adds), "err", err)
			stored = false
		}
		f.mu.Lock()
		for _, b := range adds {
			f.applied[banKey{b.Jail, b.Prefix}] = b.Origin.Name
		}
		f.mu.Unlock()
	}
	for _, u := range unbans {
		if _, err := f.bans.Remove(ctx, u.k.jail, u.k.prefix, false, "fleet "+u.node); err != nil {
			f.log.Error("fleet: applying a received unban", "ip", u.k.prefix, "err", err)
			stored = false
			continue
		}
		f.mu.Lock()
		delete(f.applied, u.k)
		f.mu.Unlock()
	}
	if maxSeq == 0 || !stored {
		return
	}
	f.mu.Lock()
	advance := maxSeq > f.seq
	if advance {
		f.seq = maxSeq
	}
	if maxSeq > f.streamSeq {
		f.streamSeq = maxSeq
	}
	f.mu.Unlock()
	if advance {
		if err := f.cursor.SetFleetCursor(ctx, f.cfg.Stream, maxSeq); err != nil {
			f.log.Warn("fleet: storing the stream sequence", "err", err)
		}
	}
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

// Outbox returns the number of messages waiting to be published.
func (f *Fleet) Outbox() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.out.len()
}

// NodeStats counts one node's bans as seen here.
type NodeStats struct {
	Node string `json:"node"`
	// Sent is set for this node: bans and unbans the stream acknowledged.
	Sent uint64 `json:"sent"`
	// Received counts bans and unbans from that node that passed the caps.
	Received uint64 `json:"received"`
	// Rejected counts, by reason, what was not enforced.
	Rejected map[string]uint64 `json:"rejected,omitempty"`
	Last     time.Time         `json:"last,omitzero"`
}

// Status is what `rampart fleet status` shows.
type Status struct {
	Node      string `json:"node"`
	Connected bool   `json:"connected"`
	Server    string `json:"server,omitempty"`
	Stream    string `json:"stream"`
	// LastSeq is the last stream sequence applied here; StreamSeq the
	// stream's last (as last seen); Lag the difference.
	LastSeq       uint64      `json:"last_seq"`
	StreamSeq     uint64      `json:"stream_seq"`
	Lag           uint64      `json:"lag"`
	CatchingUp    bool        `json:"catching_up"`
	Outbox        int         `json:"outbox"`
	OutboxLimit   int         `json:"outbox_limit"`
	OutboxDropped uint64      `json:"outbox_dropped"`
	FleetBans     int         `json:"fleet_bans"`
	Nodes         []NodeStats `json:"nodes"`
}

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
