package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// FuzzBansQuery: any query of the bans page is refused with an error or
// read into a query that writes back to itself.
func FuzzBansQuery(f *testing.F) {
	for _, s := range []string{"", "q=192.0.2.1", "sort=-until&page=3&per=10", "jail=sshd&origin=manual", "q=192.0.2.0/24",
		"sort=--since", "page=-1", "origin=jail%20sshd", "q=%00", "q=a&q=b", "per=99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		bq, err := parseBansQuery(q)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an empty error")
			}
			return
		}
		if bq.Page < 1 || bq.Per < 1 || bq.Per > maxPer || banSorts[bq.Sort] == nil {
			t.Fatalf("parseBansQuery(%q) = %+v: out of range", raw, bq)
		}
		q2, err := url.ParseQuery(bq.values(nil))
		if err != nil {
			t.Fatal(err)
		}
		bq2, err := parseBansQuery(q2)
		if err != nil || bq2 != bq {
			t.Fatalf("parseBansQuery(%q) = %+v, written back %q reads %+v, %v", raw, bq, bq.values(nil), bq2, err)
		}
	})
}

// FuzzEventsQuery: the same for the events page and its stream.
func FuzzEventsQuery(f *testing.F) {
	for _, s := range []string{"", "kind=ban,unban", "kind=finding&ip=2001:db8::1&jail=sshd&limit=5", "ip=::ffff:192.0.2.1",
		"kind=bogus", "limit=0", "ip=fe80::1%25eth0", "kind=,,ban,ban"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		eq, err := parseEventsQuery(q)
		if err != nil {
			return
		}
		if eq.Limit < 1 || eq.Limit > maxEvents || (eq.Addr.IsValid() && (eq.Addr.Is4In6() || eq.Addr.Zone() != "")) {
			t.Fatalf("parseEventsQuery(%q) = %+v", raw, eq)
		}
		q2, _ := url.ParseQuery(eq.values())
		eq2, err := parseEventsQuery(q2)
		if err != nil || eq2.values() != eq.values() || eq2.Limit != eq.Limit {
			t.Fatalf("parseEventsQuery(%q) = %+v, written back %q reads %+v, %v", raw, eq, eq.values(), eq2, err)
		}
	})
}

// FuzzLogin: no token but the minted one logs in, and it only once;
// whatever /login gets, it answers 303 with a session or 401 without.
func FuzzLogin(f *testing.F) {
	f.Add("", "")
	f.Add(strings.Repeat("A", 43), "")
	f.Add("not base64 !!", "x=1")
	f.Add(strings.Repeat("_", 43), "")
	f.Add("%00", "token=2")
	f.Fuzz(func(t *testing.T, token, extra string) {
		s, err := New(Config{Listen: "127.0.0.1:9191", Now: func() time.Time { return time.Unix(1e9, 0) }}, &fakeBackend{})
		if err != nil {
			t.Fatal(err)
		}
		u, _ := s.LoginURL()
		minted := strings.TrimPrefix(u, "http://127.0.0.1:9191/login?token=")
		h := s.Handler()
		target := "/login?token=" + url.QueryEscape(token)
		if extra != "" {
			target += "&" + url.QueryEscape(extra) + "=1"
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", target, nil))
		ok := token == minted && extra == ""
		switch {
		case ok && w.Code != http.StatusSeeOther:
			t.Fatalf("the minted token was refused: %d", w.Code)
		case !ok && (w.Code != http.StatusUnauthorized || len(w.Result().Cookies()) != 0):
			t.Fatalf("GET %s = %d with cookies %v; want 401 and none", target, w.Code, w.Result().Cookies())
		}
		if _, _, err := s.auth.redeem(token); err == nil {
			t.Fatalf("token %q logged in twice, or without being minted", token)
		}
		if _, ok := s.auth.session(token); ok && token != "" {
			t.Fatalf("a token is a session")
		}
	})
}

// FuzzUnbanTarget: an unban form's prefix is an address or a network
// without host bits, in canonical form, or an error.
func FuzzUnbanTarget(f *testing.F) {
	for _, s := range []string{"192.0.2.1", "192.0.2.0/24", "192.0.2.1/24", "::ffff:192.0.2.1", "::ffff:192.0.2.0/120", "2001:db8::/32", "fe80::1%eth0", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parseTarget(s)
		if err != nil {
			return
		}
		if !p.IsValid() || p != p.Masked() || p.Addr().Is4In6() || p.Addr().Zone() != "" {
			t.Fatalf("parseTarget(%q) = %v", s, p)
		}
	})
}

// FuzzChangesQuery: any query of the changes page is refused with an error
// or read into a query that writes back to itself.
func FuzzChangesQuery(f *testing.F) {
	for _, s := range []string{"", "kind=integrity", "kind=host&severity=high&limit=5", "severity=urgent", "kind=", "limit=1001",
		"severity=info&severity=low", "kind=integrity%00", "limit=-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		cq, err := parseChangesQuery(q)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an empty error")
			}
			return
		}
		if _, ok := changeKinds[cq.Kind]; !ok || cq.Limit < 1 || cq.Limit > maxEvents || !atLeast("critical", cq.Severity) {
			t.Fatalf("parseChangesQuery(%q) = %+v: out of range", raw, cq)
		}
		q2, err := url.ParseQuery(cq.values())
		if err != nil {
			t.Fatal(err)
		}
		cq2, err := parseChangesQuery(q2)
		if err != nil || cq2 != cq {
			t.Fatalf("parseChangesQuery(%q) = %+v, written back %q reads %+v, %v", raw, cq, cq.values(), cq2, err)
		}
	})
}

// FuzzDisplayPath: any path is shown as printable UTF-8 that reads back
// to the path (as it is, or quoted).
func FuzzDisplayPath(f *testing.F) {
	for _, s := range []string{"/etc/passwd", "/tmp/a\nb", "/tmp/\x1b[31m", "/tmp/\xff", "/tmp/a b", "\"quoted\"", "/tmp/\u202etxt.exe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		d := displayPath(p)
		if !utf8.ValidString(d) || strings.ContainsFunc(d, func(r rune) bool { return !unicode.IsGraphic(r) }) {
			t.Fatalf("displayPath(%q) = %q: not printable", p, d)
		}
		if d != p {
			back, err := strconv.Unquote(d)
			if err != nil || back != p {
				t.Fatalf("displayPath(%q) = %q, which unquotes to %q, %v", p, d, back, err)
			}
		}
	})
}
