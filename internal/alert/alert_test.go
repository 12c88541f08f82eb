package alert

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/event"
)

func bans(n int) []event.Event {
	out := make([]event.Event, n)
	for i := range out {
		a := netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)})
		out[i] = event.Event{Kind: event.BanAdded, Time: time.Now(), Jail: "sshd", Prefix: netip.PrefixFrom(a, 32), Origin: "jail sshd"}
	}
	return out
}

// hook is a local webhook endpoint that records what it gets.
type hook struct {
	mu   sync.Mutex
	msgs []Message
	hdrs []http.Header
	body []string
	fail atomic.Bool
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.fail.Load() {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	b, _ := io.ReadAll(r.Body)
	var m Message
	_ = json.Unmarshal(b, &m)
	h.mu.Lock()
	h.msgs, h.hdrs, h.body = append(h.msgs, m), append(h.hdrs, r.Header.Clone()), append(h.body, string(b))
	h.mu.Unlock()
}

func (h *hook) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.msgs)
}

func run(t *testing.T, a *Alert) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	return func() { cancel(); <-done }
}

// A flood of 10,000 bans becomes one message that summarises it.
func TestDigestOfAFlood(t *testing.T) {
	h := &hook{}
	srv := httptest.NewServer(h)
	defer srv.Close()
	a := New(Config{Name: "ops", Sender: Webhook{URL: srv.URL}, Kinds: []event.Kind{event.BanAdded}, Digest: 200 * time.Millisecond, Host: "web1", Link: "http://127.0.0.1:9191/"})
	stop := run(t, a)
	evs := bans(10000)
	for i := 0; i < len(evs); i += 500 {
		a.Offer(evs[i : i+500])
	}
	a.Offer([]event.Event{{Kind: event.Finding, Jail: "sshd"}}) // not an alert's kind
	deadline := time.Now().Add(5 * time.Second)
	for h.count() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	stop()
	if h.count() != 1 {
		t.Fatalf("10,000 bans made %d messages, want 1 digest", h.count())
	}
	m := h.msgs[0]
	if m.Total != 10000 || m.Counts["ban sshd"] != 10000 || len(m.Top) != maxTop || len(m.Events) != maxListed {
		t.Errorf("digest: total %d, counts %v, %d top, %d listed", m.Total, m.Counts, len(m.Top), len(m.Events))
	}
	if !strings.Contains(m.Subject, "10000 events (10000 ban sshd)") || !strings.Contains(m.Text, "… and 9950 more") || !strings.Contains(m.Text, "http://127.0.0.1:9191/") {
		t.Errorf("digest text:\n%s", m.Text)
	}
}

// An endpoint that is down never slows Offer; the message is retried and
// then given up, and counted.
func TestDeadEndpoint(t *testing.T) {
	h := &hook{}
	h.fail.Store(true)
	srv := httptest.NewServer(h)
	defer srv.Close()
	var failed, sent atomic.Int32
	a := New(Config{Name: "ops", Sender: Webhook{URL: srv.URL}, Kinds: []event.Kind{event.BanAdded}, Digest: 10 * time.Millisecond,
		Backoff: 10 * time.Millisecond, Tries: 3, OnFailed: func() { failed.Add(1) }, OnSent: func() { sent.Add(1) }})
	stop := run(t, a)
	defer stop()
	start := time.Now()
	for range 100 {
		a.Offer(bans(100))
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("offering 10,000 events to a dead endpoint took %v", d)
	}
	deadline := time.Now().Add(5 * time.Second)
	for failed.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if failed.Load() == 0 {
		t.Fatal("no message was given up")
	}
	h.fail.Store(false)
	a.Offer(bans(1))
	for sent.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if sent.Load() == 0 {
		t.Error("the endpoint came back but nothing was sent")
	}
}

// Digest 0 sends each event alone, up to a bound.
func TestSingles(t *testing.T) {
	h := &hook{}
	srv := httptest.NewServer(h)
	defer srv.Close()
	var dropped atomic.Int32
	a := New(Config{Name: "each", Sender: Ntfy{URL: srv.URL}, Kinds: []event.Kind{event.BanAdded, event.BanRemoved}, Jails: []string{"sshd"},
		OnDropped: func(n int) { dropped.Add(int32(n)) }})
	a.Offer(bans(maxSingles + 5))
	a.Offer([]event.Event{{Kind: event.BanAdded, Jail: "web"}})
	if dropped.Load() != 5 {
		t.Errorf("dropped %d, want 5 over the bound", dropped.Load())
	}
	stop := run(t, a)
	deadline := time.Now().Add(10 * time.Second)
	for h.count() < maxSingles && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	if h.count() != maxSingles {
		t.Fatalf("sent %d messages, want %d", h.count(), maxSingles)
	}
	if got := h.hdrs[0].Get("Title"); !strings.Contains(got, "ban 198.18.0.0 in sshd") || h.body[0] == "" {
		t.Errorf("ntfy title %q, body %q", got, h.body[0])
	}
}

func TestSlack(t *testing.T) {
	h := &hook{}
	srv := httptest.NewServer(h)
	defer srv.Close()
	err := Slack{URL: srv.URL}.Send(context.Background(), Message{Text: "hello"})
	if err != nil || h.count() != 1 || !strings.Contains(h.body[0], `"text":"`+"```hello```"+`"`) {
		t.Errorf("slack: %v, %q", err, h.body)
	}
	h.fail.Store(true)
	if err := (Slack{URL: srv.URL}).Send(context.Background(), Message{}); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("slack to a failing endpoint: %v", err)
	}
}
