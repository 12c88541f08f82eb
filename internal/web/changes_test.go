package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rampart-ids/rampart/internal/control"
	"github.com/rampart-ids/rampart/internal/event"
)

// get fetches target with the session c.
func get(t *testing.T, h http.Handler, c *http.Cookie, target string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", target, nil)
	r.AddCookie(c)
	h.ServeHTTP(w, r)
	return w
}

// rowsOf returns the text of each data-row's third cell (the path) in a
// changes table.
func pathsOf(body string) []string {
	var out []string
	for _, part := range strings.Split(body, `<td class="path">`)[1:] {
		out = append(out, part[:strings.Index(part, "</td>")])
	}
	return out
}

// Hostile file names: markup, an attribute break-out, a newline, a
// terminal escape and bytes that are not UTF-8.
var hostilePaths = []string{
	"/etc/<script>alert(1)</script>",
	`/tmp/a" onmouseover="alert(2)`,
	"/tmp/line\nbreak",
	"/tmp/\x1b[31mred",
	"/tmp/\xff\xfe-not-utf8",
}

func TestChangesPage(t *testing.T) {
	s, be := newTestServer(t, nil)
	base := time.Date(2026, 12, 4, 1, 0, 0, 0, time.UTC)
	add := func(k event.Kind, path, rule, sev, reason string, ev ...string) {
		be.events = append(be.events, control.Event{ID: int64(len(be.events) + 1), Event: event.Event{
			Kind: k, Time: base.Add(time.Duration(len(be.events)) * time.Minute), Path: path, Rule: rule, Severity: sev, Reason: reason, Evidence: ev}})
	}
	add(event.IntegrityChange, "/etc/passwd", "fim", "high", "content", "content changed", "process pid 42 exe \"/usr/bin/<b>vi</b>\"")
	add(event.Finding, "", "sshd", "", "")
	add(event.HostChange, "/usr/bin/ping", "suid", "critical", "new")
	add(event.IntegrityChange, "/usr/bin/ls", "fim", "info", "package-upgrade")
	for _, p := range hostilePaths {
		add(event.IntegrityChange, p, "fim", "medium", "new (tampered)")
	}
	h := s.Handler()
	c, _ := loggedIn(t, s, h)

	w := get(t, h, c, "/changes")
	if w.Code != 200 {
		t.Fatalf("GET /changes = %d %s", w.Code, w.Body)
	}
	body := w.Body.String()
	want := []string{
		"&#34;/tmp/\\xff\\xfe-not-utf8&#34;", "&#34;/tmp/\\x1b[31mred&#34;", "&#34;/tmp/line\\nbreak&#34;",
		"/tmp/a&#34; onmouseover=&#34;alert(2)", "/etc/&lt;script&gt;alert(1)&lt;/script&gt;",
		"/usr/bin/ls", "/usr/bin/ping", "/etc/passwd",
	}
	if diff := cmp.Diff(want, pathsOf(body)); diff != "" {
		t.Errorf("GET /changes paths, newest first (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"<script>alert", `" onmouseover="`, "\x1b", "\xff", "<b>vi</b>"} {
		if strings.Contains(body, bad) {
			t.Errorf("the changes page holds %q unescaped", bad)
		}
	}
	if !strings.Contains(body, "&lt;b&gt;vi&lt;/b&gt;") || !strings.Contains(body, "package-upgrade") {
		t.Errorf("the evidence or the verdict is missing:\n%s", body)
	}
	if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"severity=high", []string{"/usr/bin/ping", "/etc/passwd"}},
		{"severity=critical", []string{"/usr/bin/ping"}},
		{"kind=host", []string{"/usr/bin/ping"}},
		{"kind=integrity&severity=high", []string{"/etc/passwd"}},
		{"kind=integrity&limit=2", []string{"&#34;/tmp/\\xff\\xfe-not-utf8&#34;", "&#34;/tmp/\\x1b[31mred&#34;"}},
		{"severity=medium&limit=1", []string{"&#34;/tmp/\\xff\\xfe-not-utf8&#34;"}},
	} {
		w := get(t, h, c, "/changes?"+tc.query)
		if w.Code != 200 {
			t.Errorf("GET /changes?%s = %d", tc.query, w.Code)
			continue
		}
		if diff := cmp.Diff(tc.want, pathsOf(w.Body.String())); diff != "" {
			t.Errorf("GET /changes?%s (-want +got):\n%s", tc.query, diff)
		}
	}
	for _, q := range []string{"severity=urgent", "kind=finding", "limit=0", "ip=192.0.2.1", "severity=high&severity=low"} {
		if w := get(t, h, c, "/changes?"+q); w.Code != http.StatusBadRequest {
			t.Errorf("GET /changes?%s = %d, want 400", q, w.Code)
		}
	}
	// The live stream the page follows takes its kinds.
	if !strings.Contains(body, `data-live="kind=integrity-change%2Chost-change"`) {
		t.Errorf("the changes table's live query is wrong:\n%s", body)
	}
	// Without a session: nothing.
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/changes", nil))
	if w.Code != http.StatusUnauthorized || strings.Contains(w.Body.String(), "passwd") {
		t.Errorf("GET /changes without a session = %d %q", w.Code, w.Body)
	}
}

func TestChangesEmpty(t *testing.T) {
	s, _ := newTestServer(t, nil)
	h := s.Handler()
	c, _ := loggedIn(t, s, h)
	w := get(t, h, c, "/changes")
	if w.Code != 200 || !strings.Contains(w.Body.String(), "none recorded") {
		t.Errorf("GET /changes with no changes = %d:\n%s", w.Code, w.Body)
	}
}

func TestFleetPage(t *testing.T) {
	s, be := newTestServer(t, nil)
	h := s.Handler()
	c, _ := loggedIn(t, s, h)
	w := get(t, h, c, "/fleet")
	if w.Code != 200 || !strings.Contains(w.Body.String(), "Fleet not configured") || !strings.Contains(w.Body.String(), "enabled = false") {
		t.Errorf("GET /fleet with the fleet off = %d:\n%s", w.Code, w.Body)
	}
	last := time.Date(2026, 12, 4, 1, 2, 3, 0, time.UTC)
	be.fleet = &control.FleetStatus{Node: "web-1", Connected: true, Server: "nats://192.0.2.10:4222", Stream: "RAMPART",
		LastSeq: 400, StreamSeq: 421, Lag: 21, Outbox: 3, OutboxLimit: 60000, OutboxDropped: 7, FleetBans: 12,
		Nodes: []control.FleetNode{
			{Node: "<img src=x onerror=alert(1)>", Received: 5, Rejected: map[string]uint64{"ignoreip": 2, "bad message": 1}, Last: last},
			{Node: "web-1", Sent: 9},
			{Node: "db-1", Received: 4, Last: last},
		}}
	w = get(t, h, c, "/fleet")
	body := w.Body.String()
	if w.Code != 200 {
		t.Fatalf("GET /fleet = %d %s", w.Code, body)
	}
	var nodes []string
	for _, part := range strings.Split(body, `<tr data-node="`)[1:] {
		nodes = append(nodes, part[:strings.IndexByte(part, '"')])
	}
	if diff := cmp.Diff([]string{"web-1", "&lt;img src=x onerror=alert(1)&gt;", "db-1"}, nodes); diff != "" {
		t.Errorf("fleet nodes, this node first (-want +got):\n%s", diff)
	}
	for _, want := range []string{`id="fleet-link">connected`, `id="fleet-lag">21`, "applied 400 of 421", "7 dropped",
		"(bad message: 1, ignoreip: 2)", "2026-12-04 01:02:03Z", "web-1 (this node)", "never"} {
		if !strings.Contains(body, want) {
			t.Errorf("the fleet page lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "<img") {
		t.Error("a node's name is not escaped")
	}
	if w := get(t, h, c, "/fleet?x=1"); w.Code != http.StatusBadRequest {
		t.Errorf("GET /fleet?x=1 = %d, want 400", w.Code)
	}
}

func TestOverviewAudit(t *testing.T) {
	s, be := newTestServer(t, nil)
	h := s.Handler()
	c, _ := loggedIn(t, s, h)
	if w := get(t, h, c, "/"); w.Code != 200 || !strings.Contains(w.Body.String(), `id="audit-none"`) {
		t.Errorf("overview without an audit = %d:\n%s", w.Code, w.Body)
	}
	at := time.Date(2026, 12, 4, 0, 30, 0, 0, time.UTC)
	be.events = append(be.events,
		control.Event{ID: 1, Event: event.Event{Kind: event.AuditResult, Time: at.Add(-time.Hour), Score: 90}},
		control.Event{ID: 2, Event: event.Event{Kind: event.AuditResult, Time: at, Score: 44, Count: 2,
			Evidence: []string{"ssh.root-login (high): PermitRootLogin is <yes>", "fs.tmp-noexec (low): /tmp is exec"}}})
	w := get(t, h, c, "/")
	body := w.Body.String()
	for _, want := range []string{`id="audit-score">44`, "2026-12-04 00:30:00Z", "2 failing checks", "ssh.root-login (high): PermitRootLogin is &lt;yes&gt;", "fs.tmp-noexec"} {
		if !strings.Contains(body, want) {
			t.Errorf("the overview lacks %q:\n%s", want, body)
		}
	}
	be.events = append(be.events, control.Event{ID: 3, Event: event.Event{Kind: event.AuditResult, Time: at.Add(time.Hour), Err: "audit.toml:3: waive: unknown check"}})
	if body := get(t, h, c, "/").Body.String(); !strings.Contains(body, "did not run") || !strings.Contains(body, "audit.toml:3") {
		t.Errorf("the overview of a failed audit:\n%s", body)
	}
}

func TestSummaryOfNewKinds(t *testing.T) {
	for _, tc := range []struct {
		e    event.Event
		want string
	}{
		{event.Event{Kind: event.IntegrityChange, Rule: "fim", Path: "/etc/shadow", Reason: "content", Severity: "high"}, "fim /etc/shadow: content (high)"},
		{event.Event{Kind: event.HostChange, Rule: "listen", Path: "tcp 0.0.0.0:4444\n", Reason: "new", Severity: "critical"}, `listen "tcp 0.0.0.0:4444\n": new (critical)`},
		{event.Event{Kind: event.AuditResult, Score: 44, Count: 40}, "audit score 44, 40 failing checks"},
		{event.Event{Kind: event.AuditResult, Err: "boom"}, "audit did not run: boom"},
		{event.Event{Kind: event.PolicyApplied, Reason: "rolled back", Count: 12}, "baseline policy rolled back (12 rules)"},
	} {
		if got := eventSummary(tc.e); got != tc.want {
			t.Errorf("eventSummary(%v) = %q, want %q", tc.e.Kind, got, tc.want)
		}
	}
}

// The overview counts the day's changes, the serious ones apart.
func TestOverviewChanges(t *testing.T) {
	now := time.Now()
	s, be := newTestServer(t, func() time.Time { return now })
	for i, sev := range []string{"info", "medium", "high", "critical", "high"} {
		be.events = append(be.events, control.Event{ID: int64(i + 1), Event: event.Event{Kind: []event.Kind{event.IntegrityChange, event.HostChange}[i%2],
			Time: now.Add(-time.Duration(i) * time.Hour), Path: "/etc/x", Severity: sev}})
	}
	be.events = append(be.events, control.Event{ID: 9, Event: event.Event{Kind: event.IntegrityChange, Time: now.Add(-25 * time.Hour), Severity: "critical"}}) // older than a day
	day, err := computeDay(t.Context(), be, now)
	if err != nil {
		t.Fatal(err)
	}
	if day.Changes != 5 || day.Serious != 3 || day.ChangesCut {
		t.Errorf("day changes %d, serious %d, cut %v; want 5, 3, false", day.Changes, day.Serious, day.ChangesCut)
	}
	s.day.day = day
	h := s.Handler()
	c, _ := loggedIn(t, s, h)
	body := get(t, h, c, "/").Body.String()
	if !strings.Contains(body, `<a href="/changes?severity=high">3</a>`) || !strings.Contains(body, `<a href="/changes">5 in all</a>`) {
		t.Errorf("the overview's changes card:\n%s", body)
	}
}

// readyBackend follows only once released, and then sends one event.
type readyBackend struct {
	*fakeBackend
	release chan struct{}
}

func (b readyBackend) FollowReady(ctx context.Context, _ control.EventsRequest, ready func(), send func(control.Event) error) error {
	select {
	case <-b.release:
	case <-ctx.Done():
		return nil
	}
	ready()
	send(control.Event{Event: event.Event{Kind: event.HostChange, Path: "/etc/cron.d/x", Rule: "cron", Severity: "high", Reason: "new"}})
	<-ctx.Done()
	return nil
}

// The live stream answers only once the backend follows, so the page's
// "open" means no event can slip past.
func TestStreamOpensWhenFollowing(t *testing.T) {
	be := readyBackend{fakeBackend: &fakeBackend{}, release: make(chan struct{})}
	s, err := New(Config{Listen: "127.0.0.1:9191"}, be)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	c, _ := loggedIn(t, s, s.Handler())
	req, _ := http.NewRequest("GET", srv.URL+"/events/stream?kind=host-change", nil)
	req.AddCookie(c)
	got := make(chan *http.Response, 1)
	go func() {
		r, err := srv.Client().Do(req)
		if err != nil {
			t.Error(err)
			close(got)
			return
		}
		got <- r
	}()
	select {
	case r := <-got:
		t.Fatalf("the stream answered %v before the backend followed", r.Status)
	case <-time.After(200 * time.Millisecond):
	}
	close(be.release)
	r := <-got
	if r == nil {
		return
	}
	defer r.Body.Close()
	buf := make([]byte, 4096)
	var text string
	for !strings.Contains(text, "/etc/cron.d/x") {
		n, err := r.Body.Read(buf)
		if err != nil {
			t.Fatalf("reading the stream: %v (so far %q)", err, text)
		}
		text += string(buf[:n])
	}
	if r.StatusCode != 200 || r.Header.Get("Content-Type") != "text/event-stream" || !strings.Contains(text, "event: host-change") {
		t.Errorf("stream %d %q: %q", r.StatusCode, r.Header.Get("Content-Type"), text)
	}
}
