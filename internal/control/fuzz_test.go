package control

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzRequest sends arbitrary methods, paths and bodies through the
// request decoding and dispatch: no panic, and every reply is JSON, with an
// "error" for every failure.
func FuzzRequest(f *testing.F) {
	f.Add("POST", "/v1/ban", `{"prefix":"192.0.2.1/32","jail":"sshd","duration_seconds":60,"protect":["198.51.100.1"]}`)
	f.Add("POST", "/v1/ban", `{"prefix":"127.0.0.1/32","force":true}`)
	f.Add("POST", "/v1/unban", `{"all":true}`)
	f.Add("POST", "/v1/unban", `{"prefix":"2001:db8::/64","jail":"x"}`)
	f.Add("GET", "/v1/status?jail=sshd", ``)
	f.Add("GET", "/v1/banned", ``)
	f.Add("POST", "/v1/reload", `{}`)
	f.Add("GET", "/v1/ping?x=1", ``)
	f.Add("PUT", "/v1/ban", `{"prefix":"::/0"}`)
	s := NewServer(&fakeAPI{}, nil)
	h := s.handler(false)
	f.Fuzz(func(t *testing.T, method, target, body string) {
		if !strings.HasPrefix(target, "/") || strings.ContainsAny(target, " \t\r\n#") || method == "" || strings.ContainsAny(method, " \t\r\n/()<>@,;:\\\"[]?={}") {
			return
		}
		req, err := http.NewRequest(method, "http://rampart"+target, strings.NewReader(body))
		if err != nil {
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Fatalf("%s %s: Content-Type %q", method, target, ct)
		}
		var v map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
			t.Fatalf("%s %s: reply is not a JSON object: %q", method, target, rec.Body.String())
		}
		if rec.Code != http.StatusOK {
			if msg, _ := v["error"].(string); msg == "" {
				t.Fatalf("%s %s: status %d without an error message: %q", method, target, rec.Code, rec.Body.String())
			}
		}
	})
}
