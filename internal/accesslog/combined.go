package accesslog

import (
	"bytes"
	"unicode/utf8"
)

// parseCombined reads
//
//	[vhost[:port] ]addr ident user [time] "request" status bytes ["referer" "agent" ...]
//
// Anything after the user agent (nginx's $http_x_forwarded_for, timings)
// is ignored.
func (p *Parser) parseCombined(line []byte, r *Request) error {
	var tok [4][]byte
	n := 0
	i := skipSpace(line, 0)
	for i < len(line) && line[i] != '[' {
		if n == len(tok) {
			return &ParseError{Format: Combined, Reason: "no [time] within the first five fields"}
		}
		j := i
		for j < len(line) && line[j] != ' ' && line[j] != '\t' {
			j++
		}
		tok[n] = line[i:j]
		n++
		i = skipSpace(line, j)
	}
	switch n {
	case 3:
		r.Addr = tok[0]
	case 4:
		r.Host, r.Addr = tok[0], tok[1]
	default:
		return &ParseError{Format: Combined, Reason: "want address, ident and user (and an optional vhost) before [time]"}
	}
	if i >= len(line) {
		return &ParseError{Format: Combined, Reason: "no [time] after the address"}
	}
	end := i + 1
	for end < len(line) && line[end] != ']' {
		end++
	}
	if end >= len(line) {
		return &ParseError{Format: Combined, Reason: "[time] is not closed"}
	}
	r.Time = line[i+1 : end]
	r.timeKind = timeCLF
	i = skipSpace(line, end+1)
	rl, i, ok := p.quoted(line, i)
	if !ok {
		return &ParseError{Format: Combined, Reason: `want "request" after [time]`}
	}
	r.setRequestLine(rl)
	i = skipSpace(line, i)
	st, i := field(line, i)
	v, ok := atoi(st)
	if !ok || v > 999 {
		return &ParseError{Format: Combined, Reason: "want a numeric status after the request"}
	}
	r.Status = int(v)
	i = skipSpace(line, i)
	bs, i := field(line, i)
	if b, ok := atoi(bs); ok {
		r.Bytes = b
	} else if !(len(bs) == 1 && bs[0] == '-') && len(bs) != 0 {
		return &ParseError{Format: Combined, Reason: "want a byte count or - after the status"}
	}
	i = skipSpace(line, i)
	if i >= len(line) {
		return nil // common log format
	}
	if r.Referer, i, ok = p.quoted(line, i); !ok {
		return &ParseError{Format: Combined, Reason: `want "referer" after the byte count`}
	}
	i = skipSpace(line, i)
	if i >= len(line) {
		return nil
	}
	if r.UserAgent, _, ok = p.quoted(line, i); !ok {
		return &ParseError{Format: Combined, Reason: `want "user agent" after the referer`}
	}
	return nil
}

func field(line []byte, i int) ([]byte, int) {
	j := i
	for j < len(line) && line[j] != ' ' && line[j] != '\t' {
		j++
	}
	return line[i:j], j
}

// quoted reads a double-quoted field at line[i] and returns its unescaped
// contents and the index after the closing quote. \xHH (nginx, Apache),
// \" and \\ (Apache, nginx escape=json) and \uXXXX (escape=json) are undone.
func (p *Parser) quoted(line []byte, i int) ([]byte, int, bool) {
	if i >= len(line) || line[i] != '"' {
		return nil, i, false
	}
	start := i + 1
	// Fast path: no backslash before the next quote.
	q := bytes.IndexByte(line[start:], '"')
	if q < 0 {
		return nil, len(line), false
	}
	if bytes.IndexByte(line[start:start+q], '\\') < 0 {
		return line[start : start+q], start + q + 1, true
	}
	esc := false
	j := start
	for ; j < len(line); j++ {
		c := line[j]
		if c == '\\' {
			esc = true
			j++
			continue
		}
		if c == '"' {
			break
		}
	}
	if j >= len(line) {
		return nil, j, false
	}
	raw := line[start:j]
	if !esc {
		return raw, j + 1, true
	}
	return p.unescape(raw), j + 1, true
}

// unescape appends the unescaped raw to p.buf (which has room: unescaping
// never lengthens) and returns that part of the buffer.
func (p *Parser) unescape(raw []byte) []byte {
	off := len(p.buf)
	b := p.buf
	for k := 0; k < len(raw); k++ {
		c := raw[k]
		if c != '\\' || k+1 >= len(raw) {
			b = append(b, c)
			continue
		}
		e := raw[k+1]
		switch e {
		case 'x', 'X':
			if k+3 < len(raw) {
				if h, ok := hex2(raw[k+2], raw[k+3]); ok {
					b = append(b, h)
					k += 3
					continue
				}
			}
			b = append(b, c)
		case 'u':
			if k+5 < len(raw) {
				if r, ok := hex4(raw[k+2 : k+6]); ok {
					if r < utf8.RuneSelf {
						b = append(b, byte(r))
					} else {
						b = utf8.AppendRune(b, r)
					}
					k += 5
					continue
				}
			}
			b = append(b, c)
		case '"', '\\', '/':
			b = append(b, e)
			k++
		case 'n':
			b = append(b, '\n')
			k++
		case 't':
			b = append(b, '\t')
			k++
		case 'r':
			b = append(b, '\r')
			k++
		case 'b', 'f':
			b = append(b, ' ')
			k++
		default:
			b = append(b, c)
		}
	}
	p.buf = b
	return b[off:len(b):len(b)]
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func hex2(a, b byte) (byte, bool) {
	x, ok1 := unhex(a)
	y, ok2 := unhex(b)
	return x<<4 | y, ok1 && ok2
}

func hex4(b []byte) (rune, bool) {
	var r rune
	for _, c := range b[:4] {
		v, ok := unhex(c)
		if !ok {
			return 0, false
		}
		r = r<<4 | rune(v)
	}
	return r, true
}
