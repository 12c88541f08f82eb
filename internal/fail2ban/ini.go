// Package fail2ban reads an existing Fail2ban configuration: its INI dialect
// with includes and interpolation, filter.d definitions, and jail files.
package fail2ban

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
)

// maxConfigBytes bounds one configuration file; Fail2ban's largest shipped
// file is under 40 KiB, so anything near this is not a configuration.
const maxConfigBytes = 4 << 20

// value is one option value with where it was defined, for error messages.
type value struct {
	text string
	file string
	line int
}

// section is an ordered option map (keys lower-cased like Python's ConfigParser).
type section struct {
	keys []string
	vals map[string]value
}

func newSection() *section { return &section{vals: map[string]value{}} }

func (s *section) set(k string, v value) {
	if _, ok := s.vals[k]; !ok {
		s.keys = append(s.keys, k)
	}
	s.vals[k] = v
}

// iniFile is one parsed file.
type iniFile struct {
	path     string
	defaults *section
	sections map[string]*section
	order    []string
}

// SyntaxError is a malformed line in a configuration file.
type SyntaxError struct {
	File string
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// parseINI parses Fail2ban's INI dialect (Python ConfigParser rules: `=` or
// `:` delimiters, indented continuation lines, `#`/`;` comment lines, `;`
// inline comments after whitespace, [DEFAULT] section).
func parseINI(path string, r io.Reader) (*iniFile, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxConfigBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(data) > maxConfigBytes {
		return nil, &SyntaxError{File: path, Line: 1, Msg: fmt.Sprintf("file is larger than %d bytes; not a configuration file", maxConfigBytes)}
	}
	if bytes.IndexByte(data, 0) >= 0 {
		line := bytes.Count(data[:bytes.IndexByte(data, 0)], []byte{'\n'}) + 1
		return nil, &SyntaxError{File: path, Line: line, Msg: "NUL byte: not a text configuration file"}
	}
	f := &iniFile{path: path, defaults: newSection(), sections: map[string]*section{}}
	var cur *section
	var curKey string
	var curIndent int
	var curLines []string
	var curLine int
	flush := func() {
		if cur != nil && curKey != "" {
			// Trailing empty lines are not part of a value.
			for len(curLines) > 1 && curLines[len(curLines)-1] == "" {
				curLines = curLines[:len(curLines)-1]
			}
			cur.set(curKey, value{text: strings.Join(curLines, "\n"), file: path, line: curLine})
		}
		curKey, curLines = "", nil
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), maxConfigBytes+1)
	n := 0
	for sc.Scan() {
		n++
		raw := strings.TrimRight(sc.Text(), "\r")
		stripped := strings.TrimSpace(raw)
		if n == 1 {
			stripped = strings.TrimPrefix(stripped, "\ufeff")
			raw = strings.TrimPrefix(raw, "\ufeff")
		}
		if strings.HasPrefix(stripped, "#") || strings.HasPrefix(stripped, ";") {
			continue
		}
		stripped = strings.TrimSpace(cutInlineComment(stripped))
		indent := len(raw) - len(strings.TrimLeft(raw, " \t"))
		if stripped == "" {
			if curKey != "" {
				curLines = append(curLines, "")
			}
			continue
		}
		if curKey != "" && indent > curIndent {
			curLines = append(curLines, stripped)
			continue
		}
		if strings.HasPrefix(stripped, "[") && strings.HasSuffix(stripped, "]") && indent == 0 {
			flush()
			name := stripped[1 : len(stripped)-1]
			if name == "" {
				return nil, &SyntaxError{File: path, Line: n, Msg: "empty section name"}
			}
			if name == "DEFAULT" {
				cur = f.defaults
				continue
			}
			s, ok := f.sections[name]
			if !ok {
				s = newSection()
				f.sections[name] = s
				f.order = append(f.order, name)
			}
			cur = s
			continue
		}
		flush()
		if cur == nil {
			return nil, &SyntaxError{File: path, Line: n, Msg: fmt.Sprintf("%q is outside any [section]; add a section header such as [Definition] above it", truncate(stripped, 60))}
		}
		i := strings.IndexAny(stripped, "=:")
		if i <= 0 {
			return nil, &SyntaxError{File: path, Line: n, Msg: fmt.Sprintf("%q is not an option: expected \"name = value\"", truncate(stripped, 60))}
		}
		curKey = strings.ToLower(strings.TrimSpace(stripped[:i]))
		curLines = []string{strings.TrimSpace(stripped[i+1:])}
		curIndent = indent
		curLine = n
	}
	if err := sc.Err(); err != nil {
		return nil, &SyntaxError{File: path, Line: n + 1, Msg: err.Error()}
	}
	flush()
	return f, nil
}

// cutInlineComment removes a `;` comment that follows whitespace.
func cutInlineComment(s string) string {
	for i := 1; i < len(s); i++ {
		if s[i] == ';' && (s[i-1] == ' ' || s[i-1] == '\t') {
			return s[:i]
		}
	}
	return s
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// readINIFile opens and parses path.
func readINIFile(path string) (*iniFile, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	return parseINI(path, fh)
}
