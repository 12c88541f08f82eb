package control

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// The fuzz targets below take each request type's own input — a body or a
// query — where FuzzRequest takes whole requests; each checks what the
// server promises of that type besides not crashing.

func post(t *testing.T, h http.Handler, path, body string) (*httptest.ResponseRecorder, map[string]any) {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var v map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("POST %s %q: reply is not a JSON object: %q", path, body, rec.Body.String())
	}
	return rec, v
}

// FuzzBanRequest: a ban body reaches the API only when CheckBan accepts it,
// with a valid, masked prefix; anything else is an error the caller reads.
func FuzzBanRequest(f *testing.F) {
	for _, s := range []string{
		`{"prefix":"192.0.2.1/32"}`, `{"prefix":"2001:db8::/64","jail":"sshd","duration_seconds":-1}`,
		`{"prefix":"::ffff:192.0.2.1/128"}`, `{"prefix":"192.0.2.1/24"}`, `{"prefix":"0.0.0.0/0","force":true}`,
		`{"prefix":"198.51.100.0/24","protect":["198.51.100.7","::ffff:198.51.100.8"]}`,
		`{"prefix":"fe80::1%eth0/128"}`, `{"prefix":"192.0.2.1/32","duration_seconds":-2}`,
		`{"prefix":"192.0.2.1/32"} {}`, `{"prefix":"192.0.2.1/32","extra":1}`, `[]`, `null`, ``,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		api := &fakeAPI{}
		rec, v := post(t, NewServer(api, nil).handler(false), "/v1/ban", body)
		if rec.Code != http.StatusOK {
			if msg, _ := v["error"].(string); msg == "" {
				t.Fatalf("%q: status %d without an error message", body, rec.Code)
			}
			if len(api.bans) != 0 {
				t.Fatalf("%q: refused (%d) but reached the API", body, rec.Code)
			}
			return
		}
		if len(api.bans) != 1 {
			t.Fatalf("%q: accepted, %d bans reached the API", body, len(api.bans))
		}
		b := api.bans[0]
		if err := CheckBan(b); err != nil {
			t.Fatalf("%q: the API got a ban CheckBan refuses: %v", body, err)
		}
		if !b.Prefix.IsValid() || b.Prefix != b.Prefix.Masked() || b.Prefix.Addr().Is4In6() {
			t.Fatalf("%q: the API got prefix %v", body, b.Prefix)
		}
	})
}

// FuzzUnbanRequest: exactly one of prefix and all, the prefix masked.
func FuzzUnbanRequest(f *testing.F) {
	for _, s := range []string{
		`{"all":true}`, `{"prefix":"192.0.2.0/24"}`, `{"prefix":"192.0.2.1/24"}`, `{"prefix":"2001:db8::/32","jail":"x"}`,
		`{"all":true,"prefix":"192.0.2.1/32"}`, `{}`, `{"all":false}`, `{"prefix":""}`, `{"jail":"sshd"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		api := &fakeAPI{}
		rec, v := post(t, NewServer(api, nil).handler(false), "/v1/unban", body)
		if rec.Code != http.StatusOK {
			if msg, _ := v["error"].(string); msg == "" {
				t.Fatalf("%q: status %d without an error message", body, rec.Code)
			}
			if len(api.unbans) != 0 {
				t.Fatalf("%q: refused but reached the API", body)
			}
			return
		}
		if len(api.unbans) != 1 {
			t.Fatalf("%q: accepted, %d unbans reached the API", body, len(api.unbans))
		}
		u := api.unbans[0]
		if u.All == u.Prefix.IsValid() {
			t.Fatalf("%q: all=%v with prefix %v reached the API", body, u.All, u.Prefix)
		}
		if u.Prefix.IsValid() && u.Prefix != u.Prefix.Masked() {
			t.Fatalf("%q: unmasked prefix %v reached the API", body, u.Prefix)
		}
	})
}

// FuzzControlEventsQuery: a query parseEventsRequest accepts writes back to
// one that parses to the same request (what the client sends is what the
// server reads), within the limits.
func FuzzControlEventsQuery(f *testing.F) {
	for _, s := range []string{
		"", "since=2026-12-04T01:02:03.5Z&kind=ban-added,finding&ip=192.0.2.7&jail=sshd&limit=50",
		"ip=::ffff:192.0.2.7", "limit=0", "limit=100001", "kind=nope", "since=yesterday", "ip=2001:db8::1%eth0",
		"since=2026-12-04T01:02:03+05:00", "kind=,", "jail=%00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		req, err := parseEventsRequest(q)
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("%q: empty error", raw)
			}
			return
		}
		if req.Limit < 0 || req.Limit > maxEventsLimit {
			t.Fatalf("%q: limit %d accepted", raw, req.Limit)
		}
		if req.Addr.Is4In6() {
			t.Fatalf("%q: a mapped address kept: %v", raw, req.Addr)
		}
		again, err := parseEventsRequest(req.query())
		if err != nil {
			t.Fatalf("%q: the written query %q does not parse: %v", raw, req.query().Encode(), err)
		}
		if !again.Since.Equal(req.Since) || again.Addr != req.Addr || again.Jail != req.Jail || again.Limit != req.Limit || len(again.Kinds) != len(req.Kinds) {
			t.Fatalf("%q: round trip %+v -> %+v", raw, req, again)
		}
		for i := range req.Kinds {
			if again.Kinds[i] != req.Kinds[i] {
				t.Fatalf("%q: kinds %v -> %v", raw, req.Kinds, again.Kinds)
			}
		}
	})
}
