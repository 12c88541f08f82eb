package config

import (
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// keyLines maps every key of a TOML document (dotted, as toml.Key.String
// writes it) to the 1-based line where it is defined. BurntSushi/toml keeps
// key positions private, so this small scanner finds them; it runs only on
// input the TOML parser has already accepted, and never fails: a key it
// cannot place is simply missing and lineOf falls back to its parent.
func keyLines(src string) map[string]int {
	s := &keyScanner{src: src, line: 1, out: map[string]int{}}
	s.document()
	return s.out
}

// lineOf returns the line of key, or of its nearest ancestor that has one,
// or 1.
func lineOf(lines map[string]int, key []string) int {
	for n := len(key); n > 0; n-- {
		if l, ok := lines[toml.Key(key[:n]).String()]; ok {
			return l
		}
	}
	return 1
}

type keyScanner struct {
	src  string
	i    int
	line int
	out  map[string]int
}

func (s *keyScanner) eof() bool { return s.i >= len(s.src) }

func (s *keyScanner) peek() byte {
	if s.eof() {
		return 0
	}
	return s.src[s.i]
}

func (s *keyScanner) next() {
	if s.eof() {
		return
	}
	if s.src[s.i] == '\n' {
		s.line++
	}
	s.i++
}

func (s *keyScanner) record(path []string, line int) {
	for n := 1; n <= len(path); n++ {
		k := toml.Key(path[:n]).String()
		if _, ok := s.out[k]; !ok {
			s.out[k] = line
		}
	}
}

// space skips blanks and, when lines is true, newlines and comments too.
func (s *keyScanner) space(lines bool) {
	for !s.eof() {
		switch c := s.peek(); {
		case c == ' ' || c == '\t' || c == '\r':
			s.next()
		case c == '#':
			for !s.eof() && s.peek() != '\n' {
				s.next()
			}
		case c == '\n' && lines:
			s.next()
		default:
			return
		}
	}
}

func (s *keyScanner) document() {
	var table []string
	for {
		s.space(true)
		if s.eof() {
			return
		}
		start := s.i
		if s.peek() == '[' {
			s.next()
			if s.peek() == '[' {
				s.next()
			}
			line := s.line
			table = s.key()
			for !s.eof() && s.peek() != '\n' && s.peek() != '#' {
				s.next()
			}
			s.record(table, line)
		} else {
			line := s.line
			k := s.key()
			path := append(append([]string(nil), table...), k...)
			s.space(false)
			if s.peek() == '=' {
				s.next()
				s.record(path, line)
				s.space(false)
				s.value(path)
			}
		}
		if s.i == start {
			s.next() // never loop on input this scanner does not understand
		}
	}
}

// key reads a dotted key: bare, "basic" or 'literal' parts joined by dots.
func (s *keyScanner) key() []string {
	var parts []string
	for {
		s.space(false)
		switch c := s.peek(); {
		case c == '"':
			parts = append(parts, s.basicString())
		case c == '\'':
			parts = append(parts, s.literalString())
		case isBare(c):
			start := s.i
			for !s.eof() && isBare(s.peek()) {
				s.next()
			}
			parts = append(parts, s.src[start:s.i])
		default:
			return parts
		}
		s.space(false)
		if s.peek() != '.' {
			return parts
		}
		s.next()
	}
}

func isBare(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// basicString reads "..." and returns its unescaped content.
func (s *keyScanner) basicString() string {
	start := s.i
	s.next()
	for !s.eof() && s.peek() != '"' && s.peek() != '\n' {
		if s.peek() == '\\' {
			s.next()
		}
		s.next()
	}
	s.next()
	raw := s.src[start:min(s.i, len(s.src))]
	if v, err := strconv.Unquote(raw); err == nil {
		return v
	}
	return strings.Trim(raw, `"`)
}

// literalString reads '...' and returns its content.
func (s *keyScanner) literalString() string {
	s.next()
	start := s.i
	for !s.eof() && s.peek() != '\'' && s.peek() != '\n' {
		s.next()
	}
	v := s.src[start:s.i]
	s.next()
	return v
}

// skipMulti skips a multi-line string opened by delim (""" or ”').
func (s *keyScanner) skipMulti(delim string, escapes bool) {
	for i := 0; i < 3; i++ {
		s.next()
	}
	for !s.eof() {
		if strings.HasPrefix(s.src[s.i:], delim) {
			for i := 0; i < 3; i++ {
				s.next()
			}
			// A closing delimiter may be followed by up to two more quotes
			// that belong to the content.
			for n := 0; n < 2 && !s.eof() && s.peek() == delim[0]; n++ {
				s.next()
			}
			return
		}
		if escapes && s.peek() == '\\' {
			s.next()
		}
		s.next()
	}
}

// value skips one value; keys inside inline tables are recorded under path.
func (s *keyScanner) value(path []string) {
	switch c := s.peek(); {
	case strings.HasPrefix(s.src[s.i:], `"""`):
		s.skipMulti(`"""`, true)
	case strings.HasPrefix(s.src[s.i:], `'''`):
		s.skipMulti(`'''`, false)
	case c == '"':
		s.basicString()
	case c == '\'':
		s.literalString()
	case c == '[':
		s.next()
		for !s.eof() {
			s.space(true)
			if s.peek() == ']' {
				s.next()
				return
			}
			start := s.i
			s.value(path)
			s.space(true)
			if s.peek() == ',' {
				s.next()
			}
			if s.i == start {
				s.next()
			}
		}
	case c == '{':
		s.next()
		for !s.eof() {
			s.space(true)
			if s.peek() == '}' {
				s.next()
				return
			}
			start := s.i
			line := s.line
			k := s.key()
			sub := append(append([]string(nil), path...), k...)
			s.space(false)
			if s.peek() == '=' {
				s.next()
				s.record(sub, line)
				s.space(false)
				s.value(sub)
			}
			s.space(true)
			if s.peek() == ',' {
				s.next()
			}
			if s.i == start {
				s.next()
			}
		}
	default:
		for !s.eof() && !strings.ContainsRune(",]}#\n", rune(s.peek())) {
			s.next()
		}
	}
}
