package event

import (
	"context"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func TestFanOutInOrder(t *testing.T) {
	b := New()
	s1, s2 := b.Subscribe("a", 100), b.Subscribe("b", 100)
	for i := range 10 {
		b.Publish(Event{Kind: BanAdded, Count: i})
	}
	for _, s := range []*Subscription{s1, s2} {
		got, err := s.Next(context.Background())
		if err != nil || len(got) != 10 {
			t.Fatalf("%s: Next = %d events, %v; want 10", s.Name(), len(got), err)
		}
		for i, e := range got {
			if e.Count != i {
				t.Errorf("%s: event %d has Count %d", s.Name(), i, e.Count)
			}
		}
	}
}

// A subscriber that never reads does not slow the publisher or the other
// subscribers; what does not fit is counted.
func TestSlowSubscriberDrops(t *testing.T) {
	b := New()
	slow := b.Subscribe("slow", 5)
	fast := b.Subscribe("fast", 1000)
	for range 100 {
		b.Publish(Event{Kind: Finding})
	}
	if slow.Dropped() != 95 {
		t.Errorf("slow.Dropped() = %d, want 95", slow.Dropped())
	}
	if got, _ := fast.Next(context.Background()); len(got) != 100 || fast.Dropped() != 0 {
		t.Errorf("fast got %d events, dropped %d; want 100, 0", len(got), fast.Dropped())
	}
	if got, _ := slow.Next(context.Background()); len(got) != 5 {
		t.Errorf("slow got %d events, want the 5 that fit", len(got))
	}
}

func TestNextWaitsAndStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New()
		s := b.Subscribe("w", 10)
		ctx, cancel := context.WithCancel(context.Background())
		var got []Event
		var err error
		done := make(chan struct{})
		go func() { got, err = s.Next(ctx); close(done) }()
		time.Sleep(time.Second)
		synctest.Wait()
		select {
		case <-done:
			t.Fatal("Next returned with nothing published")
		default:
		}
		p := netip.MustParsePrefix("192.0.2.1/32")
		b.Publish(Event{Kind: BanAdded, Prefix: p})
		<-done
		if err != nil || len(got) != 1 || got[0].Prefix != p {
			t.Fatalf("Next = %v, %v", got, err)
		}
		stopped := make(chan error)
		go func() { _, err := s.Next(ctx); stopped <- err }()
		cancel()
		if err := <-stopped; err != context.Canceled {
			t.Errorf("Next after cancel = %v, want context.Canceled", err)
		}
	})
}

func TestCloseStopsDelivery(t *testing.T) {
	b := New()
	s := b.Subscribe("c", 10)
	s.Close()
	b.Publish(Event{Kind: Reload})
	if len(b.Subscriptions()) != 0 || s.Dropped() != 0 {
		t.Errorf("closed subscription still listed or counting")
	}
}

func TestConcurrentPublish(t *testing.T) {
	b := New()
	s := b.Subscribe("all", 1<<20)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				b.Publish(Event{Kind: Finding})
			}
		}()
	}
	n := 0
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go func() { wg.Wait(); b.Publish(Event{Kind: Reload}) }()
	for done := false; !done; {
		evs, err := s.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			if e.Kind == Reload {
				done = true
			} else {
				n++
			}
		}
	}
	if n != 8000 {
		t.Errorf("received %d findings, want 8000", n)
	}
}

func TestKindNames(t *testing.T) {
	for k := Finding; k <= SourceError; k++ {
		if k.String() == "unknown" {
			t.Errorf("kind %d has no name", k)
		}
	}
}

func BenchmarkPublish(b *testing.B) {
	bus := New()
	for _, n := range []string{"metrics", "log", "history"} {
		s := bus.Subscribe(n, 1<<16)
		go func() {
			for {
				if _, err := s.Next(context.Background()); err != nil {
					return
				}
			}
		}()
	}
	e := Event{Kind: BanAdded, Jail: "sshd", Prefix: netip.MustParsePrefix("192.0.2.1/32")}
	b.ReportAllocs()
	for b.Loop() {
		bus.Publish(e)
	}
}

func TestSetKinds(t *testing.T) {
	b := New()
	s := b.Subscribe("bans", 3)
	s.SetKinds(BanAdded, BanRemoved)
	for range 100 {
		b.Publish(Event{Kind: Finding})
	}
	b.Publish(Event{Kind: BanAdded})
	b.Publish(Event{Kind: BanRemoved})
	got, _ := s.Next(context.Background())
	if len(got) != 2 || s.Dropped() != 0 {
		t.Errorf("got %d events, %d dropped; want the 2 bans and no drop", len(got), s.Dropped())
	}
	s.SetKinds()
	b.Publish(Event{Kind: Finding})
	if got, _ := s.Next(context.Background()); len(got) != 1 {
		t.Errorf("after SetKinds(): %d events, want 1", len(got))
	}
}
