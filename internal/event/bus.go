package event

import (
	"context"
	"sync"
	"sync/atomic"
)

// Bus fans events out to its subscriptions. The zero value is not usable;
// call New. Methods are safe for concurrent use.
type Bus struct {
	mu   sync.RWMutex
	subs []*Subscription
}

// New returns a bus with no subscriptions.
func New() *Bus { return &Bus{} }

// Subscribe adds a subscription named name (the label of its drop counter)
// that queues at most limit events (at least 1). Events published before it
// are not seen.
func (b *Bus) Subscribe(name string, limit int) *Subscription {
	if limit < 1 {
		limit = 1
	}
	s := &Subscription{name: name, limit: limit, ready: make(chan struct{}, 1), bus: b}
	s.kinds.Store(^uint64(0))
	b.mu.Lock()
	b.subs = append(b.subs, s)
	b.mu.Unlock()
	return s
}

// Publish hands e to every subscription without waiting: a subscription
// whose queue is full drops it and counts the drop.
func (b *Bus) Publish(e Event) {
	b.mu.RLock()
	for _, s := range b.subs {
		s.put(e)
	}
	b.mu.RUnlock()
}

// Subscriptions lists the current subscriptions (for their drop counters).
func (b *Bus) Subscriptions() []*Subscription {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return append([]*Subscription(nil), b.subs...)
}

func (b *Bus) remove(s *Subscription) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, x := range b.subs {
		if x == s {
			b.subs = append(b.subs[:i:i], b.subs[i+1:]...)
			return
		}
	}
}

// Subscription is one subscriber's queue. Its queue grows with what is
// waiting (an idle subscription holds nothing) up to its limit.
type Subscription struct {
	name    string
	limit   int
	bus     *Bus
	ready   chan struct{} // holds a token while the queue is not empty
	dropped atomic.Uint64
	kinds   atomic.Uint64 // bit k set: events of Kind k are queued

	mu    sync.Mutex
	queue []Event
	spare []Event // the slice Next handed out last time, reused
}

// Name returns the subscription's name.
func (s *Subscription) Name() string { return s.name }

// Dropped returns how many events did not fit in the queue.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// SetKinds limits the subscription to events of these kinds (none: every
// kind). Other events are not queued, not even counted as dropped: a
// subscriber that needs only bans does not hold a flood's findings.
func (s *Subscription) SetKinds(kinds ...Kind) {
	if len(kinds) == 0 {
		s.kinds.Store(^uint64(0))
		return
	}
	var m uint64
	for _, k := range kinds {
		m |= 1 << k
	}
	s.kinds.Store(m)
}

func (s *Subscription) put(e Event) {
	if s.kinds.Load()&(1<<e.Kind) == 0 {
		return
	}
	s.mu.Lock()
	if len(s.queue) >= s.limit {
		s.mu.Unlock()
		s.dropped.Add(1)
		return
	}
	s.queue = append(s.queue, e)
	s.mu.Unlock()
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

// Next waits until events are queued or ctx is done, and returns every
// queued event in publication order. The slice is valid until the next
// call of Next.
func (s *Subscription) Next(ctx context.Context) ([]Event, error) {
	for {
		s.mu.Lock()
		if len(s.queue) > 0 {
			out := s.queue
			s.queue, s.spare = s.spare[:0], out
			s.mu.Unlock()
			return out, nil
		}
		// An empty queue gives its memory back: a burst must not stay
		// allocated for the daemon's life.
		if cap(s.spare) > 4096 {
			s.spare = nil
		}
		s.mu.Unlock()
		select {
		case <-s.ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Close removes the subscription from its bus.
func (s *Subscription) Close() { s.bus.remove(s) }
