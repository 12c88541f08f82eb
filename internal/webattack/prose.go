package webattack

import (
	"bytes"
	"fmt"
	"regexp/syntax"
	"strings"
)

// FreeText is the rule set's list of parameters that carry text a person
// typed — a search box, a comment, a message, a preview — and how much a
// match there may count when the value reads as prose.
//
// A search for "<script> defer async" or "docker run -v $(pwd):/app" quotes
// code as words among words; an attack in the same box is code with few
// or no words around it ("1' UNION SELECT password FROM users--",
// "<script>alert(document.cookie)</script>"). The matches in a prose value
// of such a parameter together count at most MaxSeverity: with the default
// (medium) that is a finding that counts towards a jail's maxretry, not a
// single-hit ban. A value that is not prose scores as usual.
type FreeText struct {
	// Params are lower-case parameter names, compared case-insensitively.
	Params []string
	// MaxSeverity is what all the matches in prose values of Params count
	// together, at most (low or medium; 0: no cap).
	MaxSeverity Severity
	// Active, when set, matches what an exploit needs to do anything: a
	// script sink or call (alert(, document., javascript:), a quote that
	// breaks out into SQL, an SQL delay or error function, a shell
	// separator before a command, a lookup (${, %{), a file an exploit
	// reads. A value of Params without one quotes code but runs none
	// ("<svg onload> event", "information_schema.columns",
	// "Runtime.getRuntime().exec"): it is capped like prose.
	Active *activeMarkers
	// Always are more parameter names (lower case, looked up like Params)
	// whose matches count at most MaxSeverity whatever the value: a site's
	// own query-language or text parameters (a jail's web_text_params).
	Always []string
}

type freeTextSpec struct {
	Params      []string `toml:"params"`
	MaxSeverity string   `toml:"max_severity"`
	Active      string   `toml:"active"`
}

// compileFreeText checks a [free_text] table and, when compile is set,
// compiles its active markers (otherwise only checks their syntax: a rule
// file is read for its rules, the table is compiled by LoadFreeText).
func compileFreeText(s *freeTextSpec, compile bool) (FreeText, error) {
	var ft FreeText
	if len(s.Params) == 0 {
		return ft, fmt.Errorf("params: missing (the free-text parameter names, e.g. [\"q\", \"search\"])")
	}
	for _, p := range s.Params {
		if p == "" || p != strings.ToLower(p) {
			return ft, fmt.Errorf("params: %q must be a non-empty lower-case parameter name", p)
		}
	}
	sev, ok := parseSeverity(s.MaxSeverity)
	if !ok || sev > Medium {
		return ft, fmt.Errorf("max_severity: %q is not low or medium (a higher cap would still ban on one request)", s.MaxSeverity)
	}
	ft.Params, ft.MaxSeverity = s.Params, sev
	if s.Active != "" && !compile {
		if _, err := syntax.Parse(s.Active, syntax.Perl); err != nil {
			return ft, fmt.Errorf("active: %w", err)
		}
	} else if s.Active != "" {
		m, err := compileActive(s.Active)
		if err != nil {
			return ft, fmt.Errorf("active: %w", err)
		}
		ft.Active = m
	}
	return ft, nil
}

// has reports whether name is one of the free-text parameters. A name is
// also looked up by its last bracketed key (filter[q], search[text]: the
// form frameworks nest fields in) and without one leading "_" or "$"
// (Roundcube's _q, OData's $search: prefixes frameworks put on their own
// parameters).
func (ft *FreeText) has(name []byte) bool { return hasName(ft.Params, name) }

// always reports whether name is one of ft.Always.
func (ft *FreeText) always(name []byte) bool { return len(ft.Always) > 0 && hasName(ft.Always, name) }

func hasName(params []string, name []byte) bool {
	if n := len(name); n > 2 && name[n-1] == ']' {
		if i := bytes.LastIndexByte(name, '['); i >= 0 && i < n-2 {
			if hasName(params, name[i+1:n-1]) {
				return true
			}
		}
	}
	bare := name
	if len(name) > 1 && (name[0] == '_' || name[0] == '$') {
		bare = name[1:]
	}
	for _, p := range params {
		if foldEqual(p, name) || foldEqual(p, bare) {
			return true
		}
	}
	return false
}

// Quoted reports whether a decoded value of a free-text parameter quotes
// code rather than running it: it reads as prose (see Prose), or it has
// nothing ft.Active matches outside Markdown code blocks. low is v
// lower-cased (ASCII).
func (ft *FreeText) Quoted(v, low []byte) bool {
	if Prose(v) {
		return true
	}
	if ft.Active == nil || len(v) > proseMaxLen {
		return false
	}
	if bytes.Contains(low, []byte(fence)) {
		low = unfenced(low)
	}
	return !ft.Active.match(low)
}

// fence opens and closes a Markdown code block.
const fence = "```"

// unfenced returns v without the code blocks between pairs of ``` (a
// block left open runs to the end): code a preview or a message quotes.
func unfenced(v []byte) []byte {
	out := make([]byte, 0, len(v))
	for {
		i := bytes.Index(v, []byte(fence))
		if i < 0 {
			return append(out, v...)
		}
		out = append(out, v[:i]...)
		v = v[i+len(fence):]
		j := bytes.Index(v, []byte(fence))
		if j < 0 {
			return out
		}
		out = append(out, ' ')
		v = v[j+len(fence):]
	}
}

// foldEqual reports whether b is s (lower case), ignoring b's ASCII case.
func foldEqual(s string, b []byte) bool {
	if len(s) != len(b) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if s[i] != c {
			return false
		}
	}
	return true
}

// proseEvasions are the normaliser's signs that no browser sent a value
// as a person typed it (a browser encodes once, with %XX): a value with
// one is not judged as prose.
const proseEvasions = AnomNUL | AnomControl | AnomDoubleEncoded | AnomDeepEncoded | AnomOverlong | AnomUnicodeEscape | AnomEntity

// What makes a value prose. The thresholds are deliberately tight: a quoted
// snippet has one or two code tokens among words, an injection is mostly
// code.
const (
	// proseMaxSyntax bounds the syntax characters (see isSyntax) in the
	// whole value: "<script>" is 2, "$(pwd)" 3, "<script>alert(1)</script>"
	// 6 — too many for a quote.
	proseMaxSyntax = 4
	// proseMinWords is the least number of plain words (see Prose).
	proseMinWords = 2
	// proseMaxLen: longer values are not judged (a search is short; a
	// long value with few syntax characters is left to the rules).
	proseMaxLen = 512
)

// Prose reports whether a decoded parameter value reads as text a person
// wrote, quoting code at most, rather than code. The value is split into
// tokens at blanks, ':' and ','; a token's final . ! ? are dropped. A token
// is code when it holds a syntax character (< > ( ) { } [ ] ; = | & $ \ ` *
// ^, a double quote, or a single quote that is not an apostrophe between
// two letters) or is a keyword of the languages attacks are written in
// (select, union, from, where, script, alert, jndi, …); it is a plain word
// when it is 2 to 20 letters and digits, starting with a letter, with at
// most two digits (see isWord); anything else (an option, a path, a
// number, a token) counts as neither. A value is prose when
//
//   - it has at least proseMinWords plain words, and no fewer plain words
//     than code tokens;
//   - it has at most proseMaxSyntax syntax characters in all;
//   - it has no comment marker (--, /*, */, <!--), which ends a query or
//     hides the rest of it, and no "://" (an address to fetch or include:
//     JNDI, remote files, SSRF);
//   - it is at most proseMaxLen bytes.
//
// So "<script> defer async" (1 code token, 2 words, 2 syntax characters)
// and "how to use UNION SELECT in mysql" are prose; "1' UNION SELECT
// password FROM users--" (comment), "<script>alert(document.cookie)</script>"
// (one code token, no word) and "1' UNION SELECT password FROM users WHERE
// 'a" (6 code tokens, 2 words) are not.
func Prose(v []byte) bool {
	if len(v) > proseMaxLen {
		return false
	}
	syntax, words, code := 0, 0, 0
	tokCode := false
	tokStart := 0
	end := func(i int) {
		if i > tokStart {
			tok := trimPunct(v[tokStart:i])
			switch {
			case tokCode || isCodeWord(tok):
				code++
			case isWord(tok):
				words++
			}
		}
		tokCode, tokStart = false, i+1
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ':' || c == ',':
			if c == ':' && i+2 < len(v) && v[i+1] == '/' && v[i+2] == '/' {
				return false
			}
			end(i)
		case c == '-' && i+1 < len(v) && v[i+1] == '-',
			c == '/' && i+1 < len(v) && v[i+1] == '*',
			c == '*' && i+1 < len(v) && v[i+1] == '/':
			return false
		case c == '<' && i+3 < len(v) && v[i+1] == '!' && v[i+2] == '-' && v[i+3] == '-':
			return false
		case c == '\'' && i > 0 && i+1 < len(v) && isAlpha(v[i-1]) && isAlpha(v[i+1]):
			// an apostrophe: don't, it's
		case isSyntax(c):
			syntax++
			tokCode = true
			if syntax > proseMaxSyntax {
				return false
			}
		}
	}
	end(len(v))
	return words >= proseMinWords && words >= code
}

// isSyntax reports whether c is a character code needs and prose rarely
// has. Not counted: letters, digits, blanks and . , : ; ? ! - _ / @ # % + ~
// (paths, times, versions, tags, percentages, e-mail addresses).
func isSyntax(c byte) bool {
	switch c {
	case '<', '>', '(', ')', '{', '}', '[', ']', ';', '=', '|', '&', '$', '\\', '`', '*', '^', '"', '\'':
		return true
	}
	return false
}

// trimPunct strips the . ! ? that end a sentence from tok.
func trimPunct(tok []byte) []byte {
	for len(tok) > 0 {
		if c := tok[len(tok)-1]; c == '.' || c == '!' || c == '?' {
			tok = tok[:len(tok)-1]
			continue
		}
		break
	}
	return tok
}

// isWord reports whether tok is a plain word: 2 to 20 letters and digits,
// starting with a letter, with at most two digits ("defer", "mysql",
// "log4j"). Options (-v), paths (/app), numbers, addresses and tokens
// (a base64 blob) are neither words nor code.
func isWord(tok []byte) bool {
	if len(tok) < 2 || len(tok) > 20 || !isAlpha(tok[0]) {
		return false
	}
	digits := 0
	for _, c := range tok {
		switch {
		case isAlpha(c):
		case '0' <= c && c <= '9':
			digits++
		default:
			return false
		}
	}
	return digits <= 2
}

// codeWords are keywords of the languages attacks are written in that are
// rarely English words: a token that is one counts as code, not as a word.
var codeWords = [...]string{
	// SQL
	"select", "union", "from", "where", "insert", "delete", "drop", "sleep", "benchmark", "waitfor",
	"exec", "declare", "concat", "having",
	// HTML and JavaScript
	"script", "alert", "prompt", "eval", "onerror", "onload", "document", "cookie", "javascript", "iframe", "svg",
	// shell
	"wget", "curl", "bash", "whoami", "passwd", "powershell",
	// Java lookups
	"jndi", "ldap", "rmi",
}

// isCodeWord reports whether tok is a code word.
func isCodeWord(tok []byte) bool {
	if len(tok) < 3 || len(tok) > 10 {
		return false
	}
	for _, w := range codeWords {
		if foldEqual(w, tok) {
			return true
		}
	}
	return false
}
