package accesslog

import "bytes"

// maxJSONDepth bounds the nesting of a JSON line; deeper lines are refused
// rather than recursed into.
const maxJSONDepth = 32

// jsonScan walks one JSON object without building it, handing each string
// or number to assign with the keys that lead to it. Only the first three
// levels of keys are kept: that is as deep as Caddy's request.headers.X.
type jsonScan struct {
	p      *Parser
	b      []byte
	r      *Request
	keys   [3][]byte
	prio   [numFields]int8
	reqRaw []byte // nginx "request": "GET / HTTP/1.1"
	query  []byte // nginx "args" / "query_string" when the uri has none
}

type jsonField int

const (
	fAddr jsonField = iota
	fMethod
	fTarget
	fProto
	fStatus
	fBytes
	fReferer
	fAgent
	fHost
	fTime
	numFields
)

func (p *Parser) parseJSON(line []byte, r *Request) error {
	s := jsonScan{p: p, b: line, r: r}
	for k := range s.prio {
		s.prio[k] = 127
	}
	i := s.ws(0)
	if i >= len(line) || line[i] != '{' {
		return &ParseError{Format: JSON, Reason: "does not start with '{'"}
	}
	i, err := s.object(i, 0)
	if err != nil {
		return err
	}
	if s.ws(i) != len(line) {
		return &ParseError{Format: JSON, Reason: "text after the closing '}'"}
	}
	if r.Target == nil && s.reqRaw != nil {
		m, pr := r.Method, r.Proto
		r.setRequestLine(s.reqRaw)
		if m != nil {
			r.Method = m
		}
		if pr != nil {
			r.Proto = pr
		}
	} else {
		r.splitTarget()
	}
	if r.Query == nil && s.query != nil && !(len(s.query) == 1 && s.query[0] == '-') {
		r.Query = s.query
	}
	if r.Addr == nil && r.Target == nil {
		return &ParseError{Format: JSON, Reason: "no client address and no request (want keys such as remote_addr, request_uri, ClientHost, RequestPath or request.uri)"}
	}
	r.Addr = stripPort(r.Addr)
	return nil
}

func (s *jsonScan) ws(i int) int {
	for i < len(s.b) {
		switch s.b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

func (s *jsonScan) errf(reason string) error { return &ParseError{Format: JSON, Reason: reason} }

// object reads {...} at b[i]; depth counts enclosing containers.
func (s *jsonScan) object(i, depth int) (int, error) {
	if depth >= maxJSONDepth {
		return i, s.errf("nested deeper than 32 levels")
	}
	i = s.ws(i + 1)
	if i < len(s.b) && s.b[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(s.b) || s.b[i] != '"' {
			return i, s.errf("want a quoted key")
		}
		key, j, err := s.str(i)
		if err != nil {
			return j, err
		}
		i = s.ws(j)
		if i >= len(s.b) || s.b[i] != ':' {
			return i, s.errf("want ':' after a key")
		}
		if depth < len(s.keys) {
			s.keys[depth] = key
		}
		i, err = s.value(s.ws(i+1), depth+1)
		if err != nil {
			return i, err
		}
		i = s.ws(i)
		if i >= len(s.b) {
			return i, s.errf("object is not closed")
		}
		switch s.b[i] {
		case ',':
			i = s.ws(i + 1)
		case '}':
			return i + 1, nil
		default:
			return i, s.errf("want ',' or '}' after a value")
		}
	}
}

// value reads one value; depth is the number of keys leading to it.
func (s *jsonScan) value(i, depth int) (int, error) {
	if i >= len(s.b) {
		return i, s.errf("value missing")
	}
	switch c := s.b[i]; {
	case c == '"':
		v, j, err := s.str(i)
		if err == nil {
			s.assign(depth, v, true)
		}
		return j, err
	case c == '{':
		return s.object(i, depth)
	case c == '[':
		if depth >= maxJSONDepth {
			return i, s.errf("nested deeper than 32 levels")
		}
		i = s.ws(i + 1)
		if i < len(s.b) && s.b[i] == ']' {
			return i + 1, nil
		}
		for {
			var err error
			if i, err = s.value(i, depth); err != nil {
				return i, err
			}
			i = s.ws(i)
			if i >= len(s.b) {
				return i, s.errf("array is not closed")
			}
			if s.b[i] == ']' {
				return i + 1, nil
			}
			if s.b[i] != ',' {
				return i, s.errf("want ',' or ']' in an array")
			}
			i = s.ws(i + 1)
		}
	case c == '-' || ('0' <= c && c <= '9'):
		j := i + 1
		for j < len(s.b) && (('0' <= s.b[j] && s.b[j] <= '9') || s.b[j] == '.' || s.b[j] == 'e' || s.b[j] == 'E' || s.b[j] == '+' || s.b[j] == '-') {
			j++
		}
		s.assign(depth, s.b[i:j], false)
		return j, nil
	default:
		for _, w := range [...]string{"true", "false", "null"} {
			if len(s.b)-i >= len(w) && string(s.b[i:i+len(w)]) == w {
				return i + len(w), nil
			}
		}
		return i, s.errf("unexpected character in a value")
	}
}

// str reads a string at b[i] (the opening quote) and returns its unescaped
// bytes.
func (s *jsonScan) str(i int) ([]byte, int, error) {
	start := i + 1
	if q := bytes.IndexByte(s.b[start:], '"'); q >= 0 && bytes.IndexByte(s.b[start:start+q], '\\') < 0 {
		return s.b[start : start+q], start + q + 1, nil
	}
	esc := false
	j := start
	for ; j < len(s.b); j++ {
		c := s.b[j]
		if c == '\\' {
			esc = true
			j++
			continue
		}
		if c == '"' {
			break
		}
	}
	if j >= len(s.b) {
		return nil, j, s.errf("string is not closed")
	}
	raw := s.b[start:j]
	if esc {
		raw = s.p.unescape(raw)
	}
	return raw, j + 1, nil
}

// assign stores v when the keys leading to it name a field and no better
// named key has set it already (client_ip beats remote_ip, and so on).
func (s *jsonScan) assign(depth int, v []byte, isString bool) {
	var k0, k1, k2 []byte
	switch depth {
	case 1:
		k0 = s.keys[0]
	case 2:
		k0, k1 = s.keys[0], s.keys[1]
	case 3:
		k0, k1, k2 = s.keys[0], s.keys[1], s.keys[2]
	default:
		return
	}
	f, prio, tk := jsonField(-1), int8(0), timeNone
	switch depth {
	case 1:
		switch string(k0) {
		case "client_ip", "realip_remote_addr":
			f, prio = fAddr, 0
		case "remote_addr", "remote_ip", "ClientHost", "clientip", "client_addr":
			f, prio = fAddr, 1
		case "ip", "ClientAddr":
			f, prio = fAddr, 2
		case "request_method", "method", "RequestMethod":
			f = fMethod
		case "request_uri", "RequestPath", "uri_raw":
			f = fTarget
		case "uri", "url", "path":
			f, prio = fTarget, 1
		case "request":
			if isString {
				s.reqRaw = v
			}
			return
		case "args", "query_string", "query":
			if isString {
				s.query = v
			}
			return
		case "server_protocol", "protocol", "RequestProtocol", "proto":
			f = fProto
		case "status", "DownstreamStatus", "status_code":
			f = fStatus
		case "OriginStatus":
			f, prio = fStatus, 1
		case "body_bytes_sent", "size", "DownstreamContentSize", "bytes":
			f = fBytes
		case "bytes_sent":
			f, prio = fBytes, 1
		case "http_referer", "referer", "referrer", "request_Referer":
			f = fReferer
		case "http_user_agent", "user_agent", "request_User-Agent", "agent":
			f = fAgent
		case "host", "http_host", "RequestHost", "vhost":
			f = fHost
		case "server_name":
			f, prio = fHost, 1
		case "time_local":
			f, tk = fTime, timeCLF
		case "time_iso8601", "time", "timestamp", "@timestamp", "StartUTC":
			f, prio, tk = fTime, 1, timeRFC3339
		case "StartLocal":
			f, prio, tk = fTime, 2, timeRFC3339
		case "ts", "msec":
			f, prio, tk = fTime, 3, timeEpoch
		}
	case 2:
		if string(k0) != "request" {
			return
		}
		switch string(k1) {
		case "client_ip":
			f, prio = fAddr, 0
		case "remote_ip":
			f, prio = fAddr, 1
		case "remote_addr":
			f, prio = fAddr, 2
		case "method":
			f = fMethod
		case "uri":
			f = fTarget
		case "proto":
			f = fProto
		case "host":
			f = fHost
		}
	case 3:
		if string(k0) != "request" || string(k1) != "headers" {
			return
		}
		switch {
		case equalFold(k2, "user-agent"):
			f = fAgent
		case equalFold(k2, "referer"):
			f = fReferer
		}
	}
	if f < 0 || prio >= s.prio[f] {
		return
	}
	s.prio[f] = prio
	r := s.r
	switch f {
	case fAddr:
		r.Addr = v
	case fMethod:
		r.Method = v
	case fTarget:
		r.Target = v
	case fProto:
		r.Proto = v
	case fStatus:
		if n, ok := atoi(v); ok && n < 1000 {
			r.Status = int(n)
		}
	case fBytes:
		if n, ok := atoi(v); ok {
			r.Bytes = n
		}
	case fReferer:
		r.Referer = v
	case fAgent:
		r.UserAgent = v
	case fHost:
		r.Host = v
	case fTime:
		r.Time, r.timeKind = v, tk
	}
}

func equalFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := range b {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// stripPort removes ":port" from "1.2.3.4:5678" and "[2001:db8::1]:443";
// a bare IPv6 address (several colons) is kept whole.
func stripPort(a []byte) []byte {
	if len(a) > 0 && a[0] == '[' {
		for i := 1; i < len(a); i++ {
			if a[i] == ']' {
				return a[1:i]
			}
		}
		return a
	}
	colon, n := -1, 0
	for i, c := range a {
		if c == ':' {
			colon = i
			n++
		}
	}
	if n == 1 {
		return a[:colon]
	}
	return a
}
