package fleet

import (
	"context"
	"errors"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rampart-ids/rampart/internal/origin"
	"github.com/rampart-ids/rampart/internal/store"
)

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
	// Every message on the subjects is also stored: the stream grew.
	f.streamGrew(0)
	f.recv <- r
}

// streamGrew records that the stream holds more than the reader applied
// (seq: the stream sequence, when known; 0: a live message or a
// reconnect, which carry none).
func (f *Fleet) streamGrew(seq uint64) {
	f.mu.Lock()
	// Only the first growth after the reader's last progress counts.
	if (f.grewAt.IsZero() || f.progressAt.After(f.grewAt)) && (seq == 0 || seq > f.seq) {
		f.grewAt = f.now()
	}
	f.mu.Unlock()
}

// stalled reports whether the reader has shown no progress for
// stallGrace after the stream grew while nothing waits to be applied
// (then the reader, not the applier, is behind).
func (f *Fleet) stalled(now time.Time) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return !f.grewAt.IsZero() && !f.progressAt.After(f.grewAt) && now.Sub(f.grewAt) >= stallGrace && len(f.recv) == 0
}

// settled forgets the growth seen so far: the stream's end was checked.
func (f *Fleet) settled() {
	f.mu.Lock()
	f.grewAt = time.Time{}
	f.mu.Unlock()
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
	check := time.NewTicker(consumerTick)
	defer check.Stop()
	lastSeen := ^uint64(0)
	var troubled atomic.Bool
	var lastCheck time.Time
	checkFailed := false
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
		// A new reader starts with a clean slate.
		f.mu.Lock()
		f.progressAt = f.now()
		f.mu.Unlock()
	watch:
		for {
			select {
			case <-ctx.Done():
				cc.Stop()
				return
			case <-restart:
				break watch
			case <-check.C:
				// Asking the stream costs its leader a request, so it is
				// asked only when the reader may be stuck: the stream grew
				// (a live ban, an acknowledged publish, a reconnect) and
				// the reader delivered nothing for stallGrace; or, once
				// consumerCheck passed (consumerQuiet without errors),
				// the reader has not moved since the last check.
				now := f.now()
				f.mu.Lock()
				seq := f.seq
				f.mu.Unlock()
				since := now.Sub(lastCheck)
				switch {
				case f.stalled(now) && (!checkFailed || since >= consumerCheck):
					lastCheck = now
					ahead, err := f.streamAheadErr(ctx, stream, seq)
					// A stream that did not answer (no leader: a quorum
					// lost) is asked again every consumerCheck until it
					// does; the growth stays noted.
					if checkFailed = err != nil; checkFailed {
						continue
					}
					f.settled()
					if ahead {
						f.warnEvery("stall", "fleet: the stream reader stopped while the stream grew; re-creating it", "node", f.cfg.Node, "last_seq", seq)
						break watch
					}
				case troubled.Load() && since >= consumerCheck, since >= consumerQuiet:
					troubled.Store(false)
					lastCheck = now
					if seq == lastSeen && f.streamAhead(ctx, stream, seq) {
						break watch
					}
					lastSeen = seq
				}
			}
		}
		cc.Stop()
		f.mu.Lock()
		from = f.seq
		f.mu.Unlock()
		f.log.Info("fleet: re-creating the stream reader", "node", f.cfg.Node, "from", from+1)
		select {
		case <-ctx.Done():
			return
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// The reader's checks against the stream's last sequence: on every tick
// when it stalled after the stream grew (stallGrace), every consumerCheck
// after an error, every consumerQuiet otherwise. docs/FLEET.md (sizing)
// counts what they cost the stream's leader.
const (
	consumerTick  = time.Second
	stallGrace    = 2 * time.Second
	consumerCheck = 5 * time.Second
	consumerQuiet = 30 * time.Second
)

// streamAhead reports whether the stream holds messages after seq (false
// when it does not answer).
func (f *Fleet) streamAhead(ctx context.Context, s jetstream.Stream, seq uint64) bool {
	ahead, _ := f.streamAheadErr(ctx, s, seq)
	return ahead
}

func (f *Fleet) streamAheadErr(ctx context.Context, s jetstream.Stream, seq uint64) (bool, error) {
	f.streamChecks.Add(1)
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	info, err := s.Info(ctx)
	if err != nil {
		return false, err
	}
	f.mu.Lock()
	f.streamSeq = max(f.streamSeq, info.State.LastSeq)
	f.mu.Unlock()
	return info.State.LastSeq > seq, nil
}

// onStored takes a message from the stream.
func (f *Fleet) onStored(m jetstream.Msg) {
	md, err := m.Metadata()
	if err != nil {
		return
	}
	r := received{seq: md.Sequence.Stream, pending: md.NumPending, id: m.Headers().Get(jetstream.MsgIDHeader)}
	r.node, r.err = NodeOf(m.Subject())
	f.mu.Lock()
	f.progressAt = f.now()
	f.mu.Unlock()
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
		k := banKey{r.msg.Jail, r.msg.Prefix}
		if r.msg.Op == OpUnban {
			f.lifted.note(k, r.node, r.msg.Since, now)
		} else if f.lifted.stale(k, r.node, r.msg.Since) {
			continue // a late copy of a ban its node has lifted since
		}
		st := f.node(r.node)
		st.Received++
		st.Last = now
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
	// Unbans go in one store transaction and one firewall batch per
	// sending node.
	byNode := map[string][]store.Ban{}
	var nodes []string
	for _, u := range unbans {
		if _, ok := byNode[u.node]; !ok {
			nodes = append(nodes, u.node)
		}
		byNode[u.node] = append(byNode[u.node], store.Ban{Jail: u.k.jail, Prefix: u.k.prefix})
	}
	for _, node := range nodes {
		sel := byNode[node]
		if _, err := f.bans.RemoveMany(ctx, sel, "fleet "+node); err != nil {
			f.log.Error("fleet: applying received unbans", "unbans", len(sel), "node", node, "err", err)
			stored = false
			continue
		}
		f.mu.Lock()
		for _, b := range sel {
			delete(f.applied, banKey{b.Jail, b.Prefix})
		}
		f.mu.Unlock()
	}
	if maxSeq == 0 || !stored {
		return
	}
	f.mu.Lock()
	advance := maxSeq > f.seq
	if advance {
		f.seq = maxSeq
		f.progressAt = f.now()
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
