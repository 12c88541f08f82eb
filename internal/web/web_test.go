package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rampart-ids/rampart/internal/control"
	"github.com/rampart-ids/rampart/internal/event"
	"github.com/rampart-ids/rampart/internal/origin"
)

// fakeBackend is an in-memory Backend for the handler's unit tests (the
// browser test in internal/daemon runs the real daemon).
type fakeBackend struct {
	mu      sync.Mutex
	bans    []control.BannedEntry
	unbans  []control.UnbanRequest
	events  []control.Event
	lastReq control.EventsRequest
	// fleet is the fleet's state; nil answers ErrNotFound (not configured).
	fleet *control.FleetStatus
}

func (f *fakeBackend) FleetStatus(context.Context) (control.FleetStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fleet == nil {
		return control.FleetStatus{}, control.Errorf(control.ErrNotFound, "the fleet is off ([fleet] enabled = false)")
	}
	return *f.fleet, nil
}

func (f *fakeBackend) Banned(context.Context) ([]control.BannedEntry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]control.BannedEntry(nil), f.bans...), nil
}

func (f *fakeBackend) Events(_ context.Context, req control.EventsRequest) ([]control.Event, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastReq = req
	var out []control.Event
	for _, e := range f.events {
		if req.Matches(e.Event) {
			out = append(out, e)
		}
	}
	// Like the store: oldest first, the newest Limit kept.
	slices.SortStableFunc(out, func(a, b control.Event) int { return a.Time.Compare(b.Time) })
	if req.Limit > 0 && len(out) > req.Limit {
		out = out[len(out)-req.Limit:]
	}
	return out, nil
}

func (f *fakeBackend) Follow(ctx context.Context, _ control.EventsRequest, _ func(control.Event) error) error {
	<-ctx.Done()
	return nil
}

func (f *fakeBackend) Why(_ context.Context, a netip.Addr) (control.WhyReply, error) {
	return control.WhyReply{Addr: a}, nil
}

func (f *fakeBackend) Unban(_ context.Context, req control.UnbanRequest) (control.UnbanReply, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.unbans = append(f.unbans, req)
	return control.UnbanReply{}, nil
}

// netipEq compares netip values, whose fields cmp cannot see.
var netipEq = cmp.Options{
	cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
	cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
}

func newTestServer(t *testing.T, now func() time.Time) (*Server, *fakeBackend) {
	t.Helper()
	be := &fakeBackend{}
	s, err := New(Config{Listen: "127.0.0.1:9191", Now: now}, be)
	if err != nil {
		t.Fatal(err)
	}
	return s, be
}

// loggedIn returns a session cookie and its CSRF token.
func loggedIn(t *testing.T, s *Server, h http.Handler) (*http.Cookie, string) {
	t.Helper()
	u, _ := s.LoginURL()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", u, nil))
	if w.Code != http.StatusSeeOther {
		t.Fatalf("login = %d %s", w.Code, w.Body)
	}
	cs := w.Result().Cookies()
	if len(cs) != 1 || !cs[0].HttpOnly || cs[0].SameSite != http.SameSiteStrictMode || cs[0].Secure {
		t.Fatalf("login cookies = %+v, want one HttpOnly SameSite=Strict cookie (not Secure without TLS)", cs)
	}
	sess, ok := s.auth.session(cs[0].Value)
	if !ok {
		t.Fatal("no session after login")
	}
	return cs[0], sess.csrf
}

func TestLoginTokenOnceAndExpiry(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	s, _ := newTestServer(t, clock)
	h := s.Handler()
	u, exp := s.LoginURL()
	if !strings.HasPrefix(u, "http://127.0.0.1:9191/login?token=") || exp != now.Add(TokenTTL) {
		t.Errorf("LoginURL = %q, %s", u, exp)
	}
	get := func(target string, c *http.Cookie) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", target, nil)
		if c != nil {
			r.AddCookie(c)
		}
		h.ServeHTTP(w, r)
		return w
	}
	if w := get(u, nil); w.Code != http.StatusSeeOther {
		t.Fatalf("first use = %d", w.Code)
	}
	if w := get(u, nil); w.Code != http.StatusUnauthorized || len(w.Result().Cookies()) != 0 {
		t.Errorf("second use = %d, cookies %v; want 401 and none", w.Code, w.Result().Cookies())
	}
	late, _ := s.LoginURL()
	now = now.Add(TokenTTL)
	if w := get(late, nil); w.Code != http.StatusUnauthorized {
		t.Errorf("use after 5 minutes = %d, want 401", w.Code)
	}
	// A session ends after [web] session.
	now = now.Add(-TokenTTL)
	c, _ := loggedIn(t, s, h)
	if w := get("/bans", c); w.Code != http.StatusOK {
		t.Errorf("GET /bans with a session = %d", w.Code)
	}
	now = now.Add(12*time.Hour + time.Second)
	if w := get("/bans", c); w.Code != http.StatusUnauthorized {
		t.Errorf("GET /bans with an ended session = %d, want 401", w.Code)
	}
}

func TestUnbanNeedsCSRFAndSameOrigin(t *testing.T) {
	s, be := newTestServer(t, nil)
	h := s.Handler()
	c, csrf := loggedIn(t, s, h)
	post := func(form url.Values, hdr map[string]string) int {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("POST", "http://127.0.0.1:9191/unban", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range hdr {
			r.Header.Set(k, v)
		}
		r.AddCookie(c)
		h.ServeHTTP(w, r)
		return w.Code
	}
	for _, tc := range []struct {
		name string
		form url.Values
		hdr  map[string]string
		want int
	}{
		{"no token", url.Values{"prefix": {"192.0.2.1"}}, nil, http.StatusForbidden},
		{"wrong token", url.Values{"prefix": {"192.0.2.1"}, "csrf": {csrf + "x"}}, nil, http.StatusForbidden},
		{"cross-site", url.Values{"prefix": {"192.0.2.1"}, "csrf": {csrf}}, map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"other origin", url.Values{"prefix": {"192.0.2.1"}, "csrf": {csrf}}, map[string]string{"Origin": "http://evil.example"}, http.StatusForbidden},
		{"bad prefix", url.Values{"prefix": {"192.0.2.1/24"}, "csrf": {csrf}}, nil, http.StatusBadRequest},
		{"same origin", url.Values{"prefix": {"192.0.2.1"}, "jail": {"sshd"}, "csrf": {csrf}, "return": {"//evil.example/"}}, map[string]string{"Origin": "http://127.0.0.1:9191", "Sec-Fetch-Site": "same-origin"}, http.StatusSeeOther},
	} {
		if got := post(tc.form, tc.hdr); got != tc.want {
			t.Errorf("%s: POST /unban = %d, want %d", tc.name, got, tc.want)
		}
	}
	want := []control.UnbanRequest{{Prefix: netip.MustParsePrefix("192.0.2.1/32"), Jail: "sshd"}}
	if diff := cmp.Diff(want, be.unbans, netipEq); diff != "" {
		t.Errorf("unbans reaching the backend (-want +got):\n%s", diff)
	}
}

func TestSafeReturn(t *testing.T) {
	for in, want := range map[string]string{
		"/bans?q=1":            "/bans?q=1",
		"/ip/192.0.2.1":        "/ip/192.0.2.1",
		"//evil.example/x":     "/bans",
		"https://evil.example": "/bans",
		"/\\evil.example":      "/bans",
		"javascript:alert(1)":  "/bans",
		"":                     "/bans",
		"bans":                 "/bans",
	} {
		if got := safeReturn(in); got != want {
			t.Errorf("safeReturn(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBansPage(t *testing.T) {
	s, be := newTestServer(t, nil)
	now := time.Now()
	for i, p := range []string{"192.0.2.1/32", "192.0.2.2/32", "198.51.100.0/24", "2001:db8::1/128"} {
		be.bans = append(be.bans, control.BannedEntry{Jail: []string{"sshd", "nginx"}[i%2], Prefix: netip.MustParsePrefix(p),
			Since: now.Add(-time.Duration(i) * time.Minute), Count: i + 1, Origin: origin.OfJail("sshd")})
	}
	be.bans[3].Origin = origin.OfManual("root")
	h := s.Handler()
	c, _ := loggedIn(t, s, h)
	for _, tc := range []struct {
		query string
		want  []string // addresses in order
		code  int
	}{
		{"", []string{"192.0.2.1", "192.0.2.2", "198.51.100.0/24", "2001:db8::1"}, 200},
		{"sort=since", []string{"2001:db8::1", "198.51.100.0/24", "192.0.2.2", "192.0.2.1"}, 200},
		{"sort=-count&jail=sshd", []string{"198.51.100.0/24", "192.0.2.1"}, 200},
		{"q=192.0.2.0/24", []string{"192.0.2.1", "192.0.2.2"}, 200},
		{"q=198.51.100.7", []string{"198.51.100.0/24"}, 200},
		{"origin=manual", []string{"2001:db8::1"}, 200},
		{"per=1&page=2", []string{"192.0.2.2"}, 200},
		{"sort=evil", nil, 400},
		{"page=0", nil, 400},
		{"x=1", nil, 400},
	} {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/bans?"+tc.query, nil)
		r.AddCookie(c)
		h.ServeHTTP(w, r)
		if w.Code != tc.code {
			t.Errorf("GET /bans?%s = %d, want %d", tc.query, w.Code, tc.code)
			continue
		}
		body := w.Body.String()
		var got []string
		for _, part := range strings.Split(body, `<tr data-prefix="`)[1:] {
			got = append(got, part[:strings.IndexByte(part, '"')])
		}
		if diff := cmp.Diff(tc.want, got); tc.code == 200 && diff != "" {
			t.Errorf("GET /bans?%s rows (-want +got):\n%s", tc.query, diff)
		}
	}
}

func TestEventsPageAndEscaping(t *testing.T) {
	s, be := newTestServer(t, nil)
	be.events = []control.Event{{ID: 1, Event: event.Event{Kind: event.Finding, Time: time.Now(), Jail: "sshd", Rule: "sshd",
		Prefix: netip.MustParsePrefix("192.0.2.9/32"), Source: "/var/log/auth.log", Evidence: []string{`Failed password for <script>alert(1)</script> from 192.0.2.9`}}}}
	h := s.Handler()
	c, _ := loggedIn(t, s, h)
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/events?kind=finding,ban&ip=192.0.2.9&limit=10", nil)
	r.AddCookie(c)
	h.ServeHTTP(w, r)
	if w.Code != 200 {
		t.Fatalf("GET /events = %d %s", w.Code, w.Body)
	}
	if strings.Contains(w.Body.String(), "<script>alert") || !strings.Contains(w.Body.String(), "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("a log line's markup is not escaped:\n%s", w.Body)
	}
	want := control.EventsRequest{Kinds: []event.Kind{event.Finding, event.BanAdded}, Addr: netip.MustParseAddr("192.0.2.9"), Limit: 10}
	if diff := cmp.Diff(want, be.lastReq, netipEq); diff != "" {
		t.Errorf("events request (-want +got):\n%s", diff)
	}
	if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}
}

func TestHourChart(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 30, 0, 0, time.UTC)
	evs := []control.Event{
		{Event: event.Event{Time: now}}, {Event: event.Event{Time: now.Add(-time.Minute)}},
		{Event: event.Event{Time: now.Add(-2 * time.Hour)}},
		{Event: event.Event{Time: now.Add(-30 * time.Hour)}}, // outside
	}
	c := hourChart(evs, now)
	if len(c.Bars) != 24 || c.Bars[23].N != 2 || c.Bars[21].N != 1 || c.Max != 2 {
		t.Fatalf("hourChart: %d bars, last %+v, max %d", len(c.Bars), c.Bars[23], c.Max)
	}
	if c.Bars[23].H <= c.Bars[21].H || c.Bars[0].H != 0 {
		t.Errorf("bar heights %d, %d, %d: want the fullest hour tallest and empty hours flat", c.Bars[23].H, c.Bars[21].H, c.Bars[0].H)
	}
}
