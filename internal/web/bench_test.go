package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/control"
	"github.com/rampart-ids/rampart/internal/event"
	"github.com/rampart-ids/rampart/internal/origin"
)

// benchServer is a dashboard over 10,000 bans in memory, with a session.
func benchServer(b *testing.B) (http.Handler, *http.Cookie) {
	be := &fakeBackend{}
	now := time.Now()
	for i := range 10000 {
		a := netip.AddrFrom4([4]byte{198, 18 + byte(i>>16&1), byte(i >> 8), byte(i)})
		be.bans = append(be.bans, control.BannedEntry{Jail: "sshd", Prefix: netip.PrefixFrom(a, 32), Since: now.Add(-time.Duration(i) * time.Second),
			Until: now.Add(time.Hour), Count: 1 + i%3, Origin: origin.OfJail("sshd")})
	}
	slices.Reverse(be.events) // oldest first, as the store answers
	s, err := New(Config{Listen: "127.0.0.1:9191"}, staticBackend{be})
	if err != nil {
		b.Fatal(err)
	}
	h := s.Handler()
	u, _ := s.LoginURL()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", u, nil))
	return h, w.Result().Cookies()[0]
}

func benchPage(b *testing.B, target string) {
	h, c := benchServer(b)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", target, nil)
		r.AddCookie(c)
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("GET %s = %d", target, w.Code)
		}
	}
}

// The server's part of a page over 10,000 bans in force (the backend's
// reads not counted: they are the daemon's, in memory).
func BenchmarkBansPage10k(b *testing.B)       { benchPage(b, "/bans") }
func BenchmarkBansPageSorted10k(b *testing.B) { benchPage(b, "/bans?sort=prefix&page=100") }
func BenchmarkBansSearch10k(b *testing.B)     { benchPage(b, "/bans?q=198.18.7.0/24") }
func BenchmarkOverview10k(b *testing.B)       { benchPage(b, "/") }

// staticBackend answers Events with the newest Limit of a fixed history
// (oldest first, all of the asked kinds), without scanning or sorting: the
// benchmark then times the page, not the fake.
type staticBackend struct {
	*fakeBackend
}

func (s staticBackend) Events(_ context.Context, req control.EventsRequest) ([]control.Event, error) {
	evs := s.events
	if req.Limit > 0 && len(evs) > req.Limit {
		evs = evs[len(evs)-req.Limit:]
	}
	return evs, nil
}

// The changes page over 5,000 stored changes (the most a severity filter
// reads), each with three evidence lines.
func benchChanges(b *testing.B, target string) {
	be := &fakeBackend{}
	now := time.Now()
	sevs := []string{"info", "low", "medium", "high", "critical"}
	for i := range changesScan {
		be.events = append(be.events, control.Event{ID: int64(i + 1), Event: event.Event{Kind: event.IntegrityChange, Time: now.Add(-time.Duration(i) * time.Second),
			Rule: "fim", Path: fmt.Sprintf("/etc/app/%d.conf", i), Reason: "content", Severity: sevs[i%5],
			Evidence: []string{"content changed", "old sha256:aaaa", "new sha256:bbbb"}}})
	}
	slices.Reverse(be.events) // oldest first, as the store answers
	s, err := New(Config{Listen: "127.0.0.1:9191"}, staticBackend{be})
	if err != nil {
		b.Fatal(err)
	}
	h := s.Handler()
	u, _ := s.LoginURL()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", u, nil))
	c := w.Result().Cookies()[0]
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", target, nil)
		r.AddCookie(c)
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("GET %s = %d", target, w.Code)
		}
	}
}

func BenchmarkChangesPage5k(b *testing.B)     { benchChanges(b, "/changes") }
func BenchmarkChangesSeverity5k(b *testing.B) { benchChanges(b, "/changes?severity=critical") }
func BenchmarkChangesSeverityLimit5k(b *testing.B) {
	benchChanges(b, "/changes?severity=info&limit=1000")
}
