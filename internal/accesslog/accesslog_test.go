package accesslog

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type flat struct {
	Format                                        string
	Addr, Method, Path, Query, Proto, Referer, UA string
	Host, Time                                    string
	Status                                        int
	Bytes                                         int64
}

func flatten(r *Request) flat {
	return flat{r.Format.String(), string(r.Addr), string(r.Method), string(r.Path), string(r.Query), string(r.Proto),
		string(r.Referer), string(r.UserAgent), string(r.Host), string(r.Time), r.Status, r.Bytes}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		f    Format
		line string
		want flat
	}{
		{"nginx combined", Auto,
			`192.0.2.10 - - [03/Dec/2026:10:00:00 +0000] "GET /search?q=it%27s+fine&page=2 HTTP/1.1" 200 5120 "https://example.com/" "Mozilla/5.0 (X11; Linux x86_64)"`,
			flat{"combined", "192.0.2.10", "GET", "/search", "q=it%27s+fine&page=2", "HTTP/1.1", "https://example.com/", "Mozilla/5.0 (X11; Linux x86_64)", "", "03/Dec/2026:10:00:00 +0000", 200, 5120}},
		{"apache common", Combined,
			`2001:db8::7 - frank [03/Dec/2026:10:00:00 -0700] "POST /login HTTP/1.0" 302 -`,
			flat{"combined", "2001:db8::7", "POST", "/login", "", "HTTP/1.0", "", "", "", "03/Dec/2026:10:00:00 -0700", 302, 0}},
		{"apache vhost_combined", Auto,
			`www.example.com:443 198.51.100.4 - - [03/Dec/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 10 "-" "curl/8.5.0"`,
			flat{"combined", "198.51.100.4", "GET", "/", "", "HTTP/1.1", "-", "curl/8.5.0", "www.example.com:443", "03/Dec/2026:10:00:00 +0000", 200, 10}},
		{"nginx escape default", Auto,
			`203.0.113.9 - - [03/Dec/2026:10:00:00 +0000] "GET /a?x=\x22><script> HTTP/1.1" 400 0 "-" "\x22quoted\x22 agent"`,
			flat{"combined", "203.0.113.9", "GET", "/a", `x="><script>`, "HTTP/1.1", "-", `"quoted" agent`, "", "03/Dec/2026:10:00:00 +0000", 400, 0}},
		{"apache backslash escapes", Auto,
			`203.0.113.9 - - [03/Dec/2026:10:00:00 +0000] "GET /a\\b HTTP/1.1" 404 0 "-" "say \"hi\""`,
			flat{"combined", "203.0.113.9", "GET", `/a\b`, "", "HTTP/1.1", "-", `say "hi"`, "", "03/Dec/2026:10:00:00 +0000", 404, 0}},
		{"nginx escape=json combined", Auto,
			`203.0.113.9 - - [03/Dec/2026:10:00:00 +0000] "GET /\u0000x HTTP/1.1" 400 0 "-" "a\u00e9b"`,
			flat{"combined", "203.0.113.9", "GET", "/\x00x", "", "HTTP/1.1", "-", "aéb", "", "03/Dec/2026:10:00:00 +0000", 400, 0}},
		{"not a request", Auto,
			`203.0.113.9 - - [03/Dec/2026:10:00:00 +0000] "\x16\x03\x01" 400 150 "-" "-"`,
			flat{"combined", "203.0.113.9", "", "\x16\x03\x01", "", "", "-", "-", "", "03/Dec/2026:10:00:00 +0000", 400, 150}},
		{"nginx json request line", Auto,
			`{"time_local":"03/Dec/2026:10:00:00 +0000","remote_addr":"192.0.2.3","request":"GET /p?a=b HTTP/2.0","status":"200","body_bytes_sent":"12","http_referer":"","http_user_agent":"UA \"x\"","host":"example.org"}`,
			flat{"json", "192.0.2.3", "GET", "/p", "a=b", "HTTP/2.0", "", `UA "x"`, "example.org", "03/Dec/2026:10:00:00 +0000", 200, 12}},
		{"nginx json request_uri", Auto,
			`{"time_iso8601":"2026-12-03T10:00:00+00:00","remote_addr":"192.0.2.3","request_method":"HEAD","request_uri":"/x?y","server_protocol":"HTTP/1.1","status":301,"body_bytes_sent":0}`,
			flat{"json", "192.0.2.3", "HEAD", "/x", "y", "HTTP/1.1", "", "", "", "2026-12-03T10:00:00+00:00", 301, 0}},
		{"caddy", JSON,
			`{"level":"info","ts":1764756000.5,"logger":"http.log.access","msg":"handled request","request":{"remote_ip":"192.0.2.44","remote_port":"41342","client_ip":"198.51.100.44","proto":"HTTP/2.0","method":"GET","host":"example.com","uri":"/q?s=%3Cb%3E","headers":{"User-Agent":["curl/8.0"],"Referer":["https://r.example/"],"Accept":["*/*"]},"tls":{"resumed":false,"server_name":"example.com"}},"bytes_read":0,"duration":0.0009,"size":10900,"status":200,"resp_headers":{"Server":["Caddy"]}}`,
			flat{"json", "198.51.100.44", "GET", "/q", "s=%3Cb%3E", "HTTP/2.0", "https://r.example/", "curl/8.0", "example.com", "1764756000.5", 200, 10900}},
		{"traefik", JSON,
			`{"ClientAddr":"192.0.2.10:54321","ClientHost":"192.0.2.10","ClientPort":"54321","DownstreamContentSize":19,"DownstreamStatus":404,"Duration":123,"OriginStatus":404,"RequestHost":"example.com","RequestMethod":"GET","RequestPath":"/x?y=1","RequestProtocol":"HTTP/1.1","StartUTC":"2026-12-03T10:00:00.123Z","request_User-Agent":"curl/8.0","request_Referer":"-","level":"info","time":"2026-12-03T10:00:00Z"}`,
			flat{"json", "192.0.2.10", "GET", "/x", "y=1", "HTTP/1.1", "-", "curl/8.0", "example.com", "2026-12-03T10:00:00.123Z", 404, 19}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewParser(tt.f)
			var r Request
			if err := p.Parse([]byte(tt.line), &r); err != nil {
				t.Fatalf("Parse(%q) error %v", tt.line, err)
			}
			if d := cmp.Diff(tt.want, flatten(&r)); d != "" {
				t.Errorf("Parse(%q) (-want +got):\n%s", tt.line, d)
			}
			if _, ok := r.When(); !ok {
				t.Errorf("When(%q) failed", r.Time)
			}
			if _, err := r.IP(); err != nil {
				t.Errorf("IP() = %v", err)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, line, want string
	}{
		{"syslog", "Dec  3 10:00:00 host sshd[1]: Failed password", "no [time]"},
		{"unclosed time", `192.0.2.1 - - [03/Dec/2026:10:00:00 +0000 "GET / HTTP/1.1" 200 1`, "not closed"},
		{"no request", `192.0.2.1 - - [03/Dec/2026:10:00:00 +0000] GET / 200 1`, `want "request"`},
		{"bad status", `192.0.2.1 - - [03/Dec/2026:10:00:00 +0000] "GET / HTTP/1.1" abc 1`, "numeric status"},
		{"json garbage", `{"a":`, "value missing"},
		{"json unrelated", `{"level":"info","msg":"started"}`, "no client address"},
		{"json deep", strings.Repeat(`{"a":`, 40) + "1" + strings.Repeat("}", 40), "nested deeper"},
		{"json trailing", `{"remote_addr":"192.0.2.1"} x`, "text after"},
	}
	for _, tt := range tests {
		p := NewParser(Auto)
		var r Request
		err := p.Parse([]byte(tt.line), &r)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Parse(%q) error %v, want one containing %q", tt.name, tt.line, err, tt.want)
		}
	}
}

func TestDetect(t *testing.T) {
	f, err := Detect([][]byte{[]byte(""), []byte(`192.0.2.1 - - [03/Dec/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "x"`)})
	if err != nil || f != Combined {
		t.Errorf("Detect(combined) = %v, %v", f, err)
	}
	f, err = Detect([][]byte{[]byte(`{"ClientHost":"192.0.2.1","RequestPath":"/"}`)})
	if err != nil || f != JSON {
		t.Errorf("Detect(json) = %v, %v", f, err)
	}
	_, err = Detect([][]byte{[]byte("hello"), []byte("world")})
	if err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("Detect(garbage) error %v, want one naming line 1", err)
	}
}

func TestWhen(t *testing.T) {
	r := Request{Time: []byte("03/Dec/2026:10:00:00 +0100"), timeKind: timeCLF}
	got, ok := r.When()
	want := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	if !ok || !got.Equal(want) {
		t.Errorf("When() = %v, %v; want %v", got, ok, want)
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"nginx": Auto, "apache": Combined, "caddy": JSON, "traefik": JSON, "auto": Auto} {
		if f, err := ParseFormat(in); err != nil || f != want {
			t.Errorf("ParseFormat(%q) = %v, %v; want %v", in, f, err, want)
		}
	}
	if _, err := ParseFormat("iis"); err == nil {
		t.Errorf("ParseFormat(iis) = nil error")
	}
}

func TestParseAllocs(t *testing.T) {
	lines := [][]byte{
		[]byte(`192.0.2.10 - - [03/Dec/2026:10:00:00 +0000] "GET /a?x=\x22y HTTP/1.1" 200 5120 "-" "Mozilla/5.0"`),
		[]byte(`{"ClientHost":"192.0.2.10","RequestPath":"/x?y=\u003c","RequestMethod":"GET","DownstreamStatus":200}`),
	}
	p := NewParser(Auto)
	var r Request
	for _, l := range lines {
		_ = p.Parse(l, &r) // grow the buffer
		if n := testing.AllocsPerRun(100, func() { _ = p.Parse(l, &r) }); n != 0 {
			t.Errorf("Parse(%q) allocates %v times per line, want 0", l, n)
		}
	}
}

func TestLongAndInvalidLines(t *testing.T) {
	p := NewParser(Auto)
	var r Request
	long := []byte(`192.0.2.1 - - [03/Dec/2026:10:00:00 +0000] "GET /` + strings.Repeat("A", MaxLine) + ` HTTP/1.1" 200 1`)
	if err := p.Parse(long, &r); err == nil {
		t.Errorf("Parse(%d-byte line) = nil error, want a refusal", len(long))
	}
	bad := []byte("192.0.2.1 - - [03/Dec/2026:10:00:00 +0000] \"GET /\xff\xfe%zz%u12 HTTP/1.1\" 200 1 \"-\" \"\xc0\xaf\"")
	if err := p.Parse(bad, &r); err != nil || string(r.Path) != "/\xff\xfe%zz%u12" {
		t.Errorf("Parse(invalid UTF-8) = %v, path %q", err, r.Path)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`192.0.2.10 - - [03/Dec/2026:10:00:00 +0000] "GET /search?q=a HTTP/1.1" 200 5120 "-" "Mozilla/5.0"`,
		`h:80 192.0.2.10 - - [x] "GET / HTTP/1.1" 200 - "\x22" "\\"`,
		`{"request":{"client_ip":"192.0.2.1","uri":"/","headers":{"User-Agent":["a"]}},"status":200,"ts":1.5}`,
		`{"ClientAddr":"[2001:db8::1]:80","RequestPath":"/\u00e9","time":"2026-12-03T10:00:00Z"}`,
		`{"a":[[[[{"b":"\ud83d"}]]]]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		p := NewParser(Auto)
		var r Request
		if err := p.Parse(line, &r); err != nil {
			return
		}
		_, _ = r.When()
		_, _ = r.IP()
		if len(r.Path)+len(r.Query) > len(line) {
			t.Fatalf("Parse(%q): path+query longer than the line", line)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	for _, bc := range []struct{ name, line string }{
		{"combined", `192.0.2.10 - - [03/Dec/2026:10:00:00 +0000] "GET /blog/2026/11/how-to-bake-bread?utm_source=newsletter&utm_medium=email HTTP/1.1" 200 5120 "https://www.example.com/" "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"`},
		{"caddy", `{"level":"info","ts":1764756000.5,"logger":"http.log.access","msg":"handled request","request":{"remote_ip":"192.0.2.44","remote_port":"41342","client_ip":"198.51.100.44","proto":"HTTP/2.0","method":"GET","host":"example.com","uri":"/q?s=%3Cb%3E","headers":{"User-Agent":["curl/8.0"],"Referer":["https://r.example/"],"Accept":["*/*"]}},"bytes_read":0,"duration":0.0009,"size":10900,"status":200}`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			p := NewParser(Auto)
			var r Request
			line := []byte(bc.line)
			b.ReportAllocs()
			b.SetBytes(int64(len(line)))
			for b.Loop() {
				if err := p.Parse(line, &r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
