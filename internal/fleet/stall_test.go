package fleet

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestSilentStall stalls every stream reader without an error: their
// consumers are paused on the (real, clustered) server, which keeps the
// pull requests and heartbeats going but delivers nothing. A reader that
// has not advanced while the stream grew (a live ban from another node
// for b, its own acknowledged publish for a) is re-created within a few
// seconds, not at the 30 s check.
func TestSilentStall(t *testing.T) {
	dir := t.TempDir()
	c := startCluster(t, dir, 3, "a", "b", "admin")
	urls := c.urls()
	tweak := func(cfg *Config) { cfg.Servers = urls }
	a := startNode(t, urls[0], dir, "a", tweak)
	b := startNode(t, urls[1], dir, "b", tweak)
	ctx := context.Background()
	waitUntil(t, 30*time.Second, "both connected and reading", func() bool {
		sa, sb := a.f.Status(ctx), b.f.Status(ctx)
		return sa.Connected && sb.Connected && !sa.CatchingUp && !sb.CatchingUp
	})
	until := time.Now().Add(time.Hour)
	for i := 1; i <= 50; i++ {
		a.ban("sshd", addr(i), until)
	}
	// A fresh cluster takes a few seconds to place the replicated stream.
	waitUntil(t, 45*time.Second, "50 bans on b, both readers at the stream's end", func() bool {
		sa, sb := a.f.Status(ctx), b.f.Status(ctx)
		return b.bans.count() == 50 && sa.LastSeq == 50 && sb.LastSeq == 50
	})

	// Healthy readers cost the stream's leader (almost) nothing: 50 more
	// bans, and at most one check each (a stored copy that arrived before
	// its live one looks, for a moment, like a stall).
	before := a.f.streamChecks.Load() + b.f.streamChecks.Load()
	for i := 101; i <= 150; i++ {
		a.ban("sshd", addr(i), until)
	}
	waitUntil(t, 10*time.Second, "100 bans on b", func() bool { return b.bans.count() == 100 && b.f.Snapshot().LastSeq == 100 })
	time.Sleep(3 * time.Second)
	if n := a.f.streamChecks.Load() + b.f.streamChecks.Load() - before; n > 2 {
		t.Errorf("healthy readers made %d stream-info requests for 50 bans, want at most 2", n)
	} else {
		t.Logf("healthy readers: %d stream-info requests for 50 bans", n)
	}

	// Pause both readers' consumers for an hour.
	pw := filepath.Join(dir, "admin.pw")
	if err := os.WriteFile(pw, []byte("pw-admin"), 0o600); err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(urls[2], nats.UserInfo("admin", "pw-admin"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(ctx, DefaultStream)
	if err != nil {
		t.Fatal(err)
	}
	paused := map[string]bool{}
	for name := range s.ConsumerNames(ctx).Name() {
		if _, err := s.PauseConsumer(ctx, name, time.Now().Add(time.Hour)); err != nil {
			t.Fatalf("pausing consumer %s: %v", name, err)
		}
		paused[name] = true
	}
	if len(paused) != 2 {
		t.Fatalf("paused %d consumers, want a's and b's 2", len(paused))
	}
	// Let the pause take hold (a pull in flight may still deliver).
	time.Sleep(2 * time.Second)
	for i := 51; i <= 100; i++ {
		a.ban("sshd", addr(i), until)
	}
	waitUntil(t, 5*time.Second, "the 50 new bans live on b", func() bool { return b.bans.count() == 150 })
	start := time.Now()
	waitUntil(t, 10*time.Second, "both readers back at the stream's end (150)", func() bool {
		return a.f.Snapshot().LastSeq == 150 && b.f.Snapshot().LastSeq == 150
	})
	t.Logf("both stalled readers re-created and caught up %s after the stream grew", time.Since(start).Round(time.Millisecond))
	// The new readers are new consumers, not the paused ones.
	fresh := 0
	for name := range s.ConsumerNames(ctx).Name() {
		if !paused[name] {
			fresh++
		}
	}
	if fresh < 2 {
		t.Errorf("%d new consumers on the stream, want 2", fresh)
	}
}
