// Package accesslog parses web-server access-log lines: nginx and Apache
// combined/common (with or without a leading virtual-host field), nginx's
// escape=json and JSON log_format, Caddy's and Traefik's JSON logs.
//
// Parsing is the hot path of web-attack detection, so a Parser keeps one
// scratch buffer and fills a caller's Request whose fields are slices into
// the line or that buffer: nothing is allocated per line once the buffer has
// grown to the longest line seen. Fields are valid until the next Parse.
package accesslog

import (
	"fmt"
	"net/netip"
	"strings"
	"unsafe"
)

// Format is the shape of a log, chosen by name or detected from its lines.
type Format int

// The formats a Parser reads.
const (
	// Auto detects the format from the first line that parses (see Detect).
	Auto Format = iota
	// Combined is nginx/Apache combined or common log format, optionally
	// with a leading vhost field ($host, %v or %v:%p); nginx escape=json
	// and escape=default quoting are both understood.
	Combined
	// JSON is a JSON object per line: nginx log_format escape=json, Caddy
	// and Traefik access logs (keys are matched by the usual names).
	JSON
)

// String returns the format's name as ParseFormat reads it.
func (f Format) String() string {
	switch f {
	case Combined:
		return "combined"
	case JSON:
		return "json"
	default:
		return "auto"
	}
}

// ParseFormat reads a --format value. The names of servers map to what they
// write: nginx (combined or JSON, told apart per line), apache (combined),
// caddy and traefik (JSON).
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(s) {
	case "", "auto":
		return Auto, nil
	case "nginx":
		return Auto, nil // nginx writes either; each line says which
	case "apache", "combined", "common":
		return Combined, nil
	case "caddy", "traefik", "json":
		return JSON, nil
	}
	return Auto, fmt.Errorf("accesslog: unknown format %q (want nginx, apache, caddy, traefik, json, combined or auto)", s)
}

// Request is one parsed access-log line. Byte fields are slices into the
// line or the Parser's scratch buffer, already unescaped from the log's
// quoting, but not URL-decoded: Path and Query are as the client sent them.
type Request struct {
	Time      []byte // as written: "10/Oct/2026:13:55:36 +0000", RFC 3339 or epoch seconds
	Addr      []byte // client address as written (no port)
	Method    []byte
	Target    []byte // request target: Path, then '?' and Query if there was one
	Path      []byte
	Query     []byte // without the '?'
	Proto     []byte // "HTTP/1.1"; empty for HTTP/0.9 or garbage request lines
	Referer   []byte // "-" when the client sent none
	UserAgent []byte
	Host      []byte // vhost field or Host header; empty when the format has none
	Status    int
	Bytes     int64
	Format    Format // the format the line was read as
	timeKind  timeKind
}

// IP returns the client address, with any zone or brackets removed.
func (r *Request) IP() (netip.Addr, error) {
	a := r.Addr
	if len(a) > 1 && a[0] == '[' && a[len(a)-1] == ']' {
		a = a[1 : len(a)-1]
	}
	ip, err := netip.ParseAddr(bstr(a))
	if err != nil {
		return netip.Addr{}, fmt.Errorf("accesslog: client address %q is not an IP address", a)
	}
	return ip.Unmap(), nil
}

func (r *Request) reset() { *r = Request{} }

// bstr views b as a string without copying; the string must not outlive b.
func bstr(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// Parser reads lines in one Format. It is not safe for concurrent use: give
// each goroutine its own.
type Parser struct {
	format Format
	buf    []byte // unescaped field bytes; never grows during one Parse
}

// NewParser returns a parser for f (Auto reads each line as JSON when it
// starts with '{' and as combined otherwise).
func NewParser(f Format) *Parser { return &Parser{format: f} }

// MaxLine is the longest line Parse reads; longer lines are refused so a
// hostile log cannot make parsing or matching slow.
const MaxLine = 1 << 20

// ParseError is a line that is not in the expected format.
type ParseError struct {
	Format Format
	Reason string
}

func (e *ParseError) Error() string {
	if e.Format == Auto {
		return "accesslog: not an access-log line: " + e.Reason
	}
	return "accesslog: not a " + e.Format.String() + " line: " + e.Reason
}

// Parse reads line into r. The fields of r stay valid until the next call.
func (p *Parser) Parse(line []byte, r *Request) error {
	r.reset()
	if len(line) > MaxLine {
		return &ParseError{Format: p.format, Reason: fmt.Sprintf("longer than %d bytes", MaxLine)}
	}
	for len(line) > 0 && (line[len(line)-1] == '\n' || line[len(line)-1] == '\r') {
		line = line[:len(line)-1]
	}
	if cap(p.buf) < len(line) {
		p.buf = make([]byte, 0, len(line)+len(line)/4)
	}
	p.buf = p.buf[:0]
	f := p.format
	if f == Auto {
		f = Combined
		if i := skipSpace(line, 0); i < len(line) && line[i] == '{' {
			f = JSON
		}
	}
	r.Format = f
	if f == JSON {
		return p.parseJSON(line, r)
	}
	return p.parseCombined(line, r)
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	return i
}

// splitTarget fills Path and Query from Target.
func (r *Request) splitTarget() {
	t := r.Target
	for i, c := range t {
		if c == '?' {
			r.Path, r.Query = t[:i], t[i+1:]
			return
		}
	}
	r.Path = t
}

// setRequestLine splits "METHOD target PROTO" into its parts. A line that is
// not a request (a TLS handshake, "-") leaves Method empty and keeps the
// text as Target so it is still matched.
func (r *Request) setRequestLine(rl []byte) {
	sp := -1
	for i, c := range rl {
		if c == ' ' {
			sp = i
			break
		}
	}
	if sp <= 0 || !isToken(rl[:sp]) {
		if len(rl) == 1 && rl[0] == '-' {
			return
		}
		r.Target = rl
		r.splitTarget()
		return
	}
	r.Method = rl[:sp]
	rest := rl[sp+1:]
	for len(rest) > 0 && rest[0] == ' ' {
		rest = rest[1:]
	}
	last := -1
	for i := len(rest) - 1; i >= 0; i-- {
		if rest[i] == ' ' {
			last = i
			break
		}
	}
	if last >= 0 && hasPrefixFold(rest[last+1:], "HTTP/") {
		r.Proto = rest[last+1:]
		rest = rest[:last]
		for len(rest) > 0 && rest[len(rest)-1] == ' ' {
			rest = rest[:len(rest)-1]
		}
	}
	r.Target = rest
	r.splitTarget()
}

func isToken(b []byte) bool {
	for _, c := range b {
		if c <= ' ' || c >= 0x7f || c == '"' || c == '(' || c == ')' || c == ',' || c == '/' || c == ':' || c == ';' || c == '<' || c == '=' || c == '>' || c == '?' || c == '@' || c == '[' || c == ']' || c == '\\' || c == '{' || c == '}' {
			return false
		}
	}
	return len(b) > 0
}

func hasPrefixFold(b []byte, p string) bool {
	if len(b) < len(p) {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := b[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c != p[i] {
			return false
		}
	}
	return true
}

func atoi(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}
