package web

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/control"
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
	s, err := New(Config{Listen: "127.0.0.1:9191"}, be)
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
