package webattack

import (
	"bytes"
	"unicode/utf8"
)

// Anomaly is a set of evasion signs the normaliser saw while decoding a
// value. They are exposed to rules as the words of the "anomaly" field.
type Anomaly uint16

// The anomalies, each named by the word rules see.
const (
	AnomNUL           Anomaly = 1 << iota // %00 or a raw NUL
	AnomControl                           // other control bytes (removed)
	AnomDoubleEncoded                     // a second URL-decoding round changed the value
	AnomDeepEncoded                       // still encoded after MaxDecodeRounds rounds
	AnomOverlong                          // overlong UTF-8 (%c0%af) decoded
	AnomUnicodeEscape                     // %uXXXX escape
	AnomBadEscape                         // '%' not followed by two hex digits
	AnomAboveRoot                         // /../ climbs above the root
	AnomBackslash                         // backslash in the path
	AnomEntity                            // HTML character reference decoded
	numAnomalies
)

var anomalyWords = [...]string{"nul", "control", "double-encoded", "deep-encoded", "overlong-utf8", "unicode-escape", "bad-escape", "above-root", "backslash", "html-entity"}

// String lists the anomalies' words separated by spaces.
func (a Anomaly) String() string { return string(a.appendWords(nil)) }

func (a Anomaly) appendWords(b []byte) []byte {
	for i, w := range anomalyWords {
		if a&(1<<i) != 0 {
			if len(b) > 0 {
				b = append(b, ' ')
			}
			b = append(b, w...)
		}
	}
	return b
}

// MaxDecodeRounds bounds repeated URL decoding: enough for the double and
// triple encodings scanners use, and a fixed cost for hostile nesting.
const MaxDecodeRounds = 3

// normaliser holds the scratch buffers of URL decoding; one per Detector.
type normaliser struct {
	round [2][]byte
}

// value appends the normalised form of src to dst: URL-decoded up to
// MaxDecodeRounds times (%XX, %uXXXX, and + as space in the first round when
// plus is set), overlong UTF-8 folded to ASCII, HTML character references
// decoded, NUL and control bytes other than tab, CR and LF removed.
func (n *normaliser) value(dst, src []byte, plus bool) ([]byte, Anomaly) {
	var an Anomaly
	cur := src
	for r := 0; r < MaxDecodeRounds; r++ {
		if !needsDecode(cur, plus && r == 0) {
			break
		}
		buf := n.round[r%2][:0]
		if cap(buf) < len(cur) {
			buf = make([]byte, 0, len(cur)+64)
		}
		var a Anomaly
		var changed bool
		buf, a, changed = decodeRound(buf, cur, plus && r == 0)
		n.round[r%2] = buf
		an |= a
		if r > 0 && changed {
			an |= AnomDoubleEncoded
		}
		cur = buf
	}
	if hasValidEscape(cur) {
		an |= AnomDeepEncoded
	}
	var a Anomaly
	dst, a = finish(dst, cur)
	return dst, an | a
}

func needsDecode(b []byte, plus bool) bool {
	return bytes.IndexByte(b, '%') >= 0 || (plus && bytes.IndexByte(b, '+') >= 0)
}

// special marks the bytes finish has to look at; runs of other bytes are
// copied whole.
var special = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	for c := 0x7f; c < 0x100; c++ {
		t[c] = true
	}
	t['&'] = true
	t['\t'], t['\n'], t['\r'] = false, false, false
	return t
}()

func hasValidEscape(b []byte) bool {
	for i := 0; i+2 < len(b); i++ {
		if b[i] != '%' {
			continue
		}
		if ishex(b[i+1]) && ishex(b[i+2]) {
			return true
		}
		if (b[i+1] == 'u' || b[i+1] == 'U') && i+5 < len(b) && ishex(b[i+2]) && ishex(b[i+3]) && ishex(b[i+4]) && ishex(b[i+5]) {
			return true
		}
	}
	return false
}

func ishex(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// decodeRound does one round of URL decoding.
func decodeRound(dst, src []byte, plus bool) ([]byte, Anomaly, bool) {
	var an Anomaly
	changed := false
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case c == '+' && plus:
			dst = append(dst, ' ')
			changed = true
		case c != '%':
			dst = append(dst, c)
		case i+2 < len(src) && ishex(src[i+1]) && ishex(src[i+2]):
			dst = append(dst, unhex(src[i+1])<<4|unhex(src[i+2]))
			i += 2
			changed = true
		case i+5 < len(src) && (src[i+1] == 'u' || src[i+1] == 'U') && ishex(src[i+2]) && ishex(src[i+3]) && ishex(src[i+4]) && ishex(src[i+5]):
			r := rune(unhex(src[i+2]))<<12 | rune(unhex(src[i+3]))<<8 | rune(unhex(src[i+4]))<<4 | rune(unhex(src[i+5]))
			dst = appendRuneFolded(dst, r)
			i += 5
			changed = true
			an |= AnomUnicodeEscape
		default:
			dst = append(dst, c)
			an |= AnomBadEscape
		}
	}
	return dst, an, changed
}

// appendRuneFolded appends r, with fullwidth ASCII forms (U+FF01..U+FF5E,
// which IIS and some frameworks map to ASCII) folded to their ASCII letter.
func appendRuneFolded(dst []byte, r rune) []byte {
	if r >= 0xff01 && r <= 0xff5e {
		r -= 0xfee0
	}
	if r < utf8.RuneSelf {
		return append(dst, byte(r))
	}
	return utf8.AppendRune(dst, r)
}

// finish folds overlong UTF-8, decodes HTML character references and drops
// control bytes, appending to dst.
func finish(dst, src []byte) ([]byte, Anomaly) {
	var an Anomaly
	for i := 0; i < len(src); i++ {
		if !special[src[i]] {
			j := i + 1
			for j < len(src) && !special[src[j]] {
				j++
			}
			dst = append(dst, src[i:j]...)
			if i = j; i == len(src) {
				break
			}
		}
		c := src[i]
		switch {
		case c == 0:
			an |= AnomNUL
		case c == 0x0b || c == 0x0c:
			// Vertical tab and form feed separate words for SQL parsers
			// and shells ("1%0bOR%0b1=1"): a blank, not nothing.
			dst = append(dst, ' ')
			an |= AnomControl
		case c < 0x20 && c != '\t' && c != '\n' && c != '\r', c == 0x7f:
			an |= AnomControl
		case c == 0xc0 || c == 0xc1:
			// Two-byte overlong form of an ASCII byte: c0 af is '/'.
			if i+1 < len(src) && src[i+1]&0xc0 == 0x80 {
				dst = append(dst, (c&0x1)<<6|src[i+1]&0x3f)
				i++
				an |= AnomOverlong
				continue
			}
			// A lead byte before a path character (c0 2e): decoders that
			// mask the continuation bits read '.', '/' or '\'.
			if i+1 < len(src) && (src[i+1] == '.' || src[i+1] == '/' || src[i+1] == '\\') {
				an |= AnomOverlong
				continue
			}
			dst = append(dst, c)
		case c == 0xf0 && i+3 < len(src) && src[i+1] == 0x80 && src[i+2]&0xe0 == 0x80 && src[i+3]&0xc0 == 0x80:
			// Four-byte overlong form (f0 80 80 bc is '<').
			dst = append(dst, (src[i+2]&0x1f)<<6|src[i+3]&0x3f)
			i += 3
			an |= AnomOverlong
		case c == 0xe0 && i+2 < len(src) && src[i+1]&0xe0 == 0x80 && src[i+2]&0xc0 == 0x80:
			// Three-byte overlong form (e0 80 af).
			dst = append(dst, (src[i+1]&0x1f)<<6|src[i+2]&0x3f)
			i += 2
			an |= AnomOverlong
		case c >= 0x80:
			// Windows "best fit" turns a soft hyphen into '-' (CVE-2024-4577)
			// and fullwidth forms into ASCII: fold them as the target would.
			r, size := utf8.DecodeRune(src[i:])
			switch {
			case (r == utf8.RuneError && size == 1 && c == 0xad) || r == 0xad:
				dst = append(dst, '-')
			case r >= 0xff01 && r <= 0xff5e:
				dst = append(dst, byte(r-0xfee0))
			case r == 0x2024 || r == 0xfe52:
				dst = append(dst, '.') // one dot leader, small full stop
			case r == 0x2025 || r == 0xfe30:
				dst = append(dst, '.', '.') // two dot leaders
			case r == 0x2026:
				dst = append(dst, '.', '.', '.') // ellipsis
			default:
				dst = append(dst, src[i:i+size]...)
			}
			i += size - 1
		case c == '&':
			r, n := entity(src[i:])
			if n == 0 {
				dst = append(dst, c)
				continue
			}
			an |= AnomEntity
			if r == 0 {
				an |= AnomNUL
			} else {
				dst = appendRuneFolded(dst, r)
			}
			i += n - 1
		default:
			dst = append(dst, c)
		}
	}
	return dst, an
}

var namedEntities = map[string]rune{
	"lt": '<', "gt": '>', "quot": '"', "apos": '\'', "amp": '&', "sol": '/', "bsol": '\\',
	"colon": ':', "semi": ';', "lpar": '(', "rpar": ')', "lsqb": '[', "rsqb": ']', "lbrack": '[', "rbrack": ']',
	"lcub": '{', "rcub": '}', "lbrace": '{', "rbrace": '}', "equals": '=', "excl": '!', "num": '#', "dollar": '$',
	"percnt": '%', "period": '.', "comma": ',', "plus": '+', "ast": '*', "grave": '`', "vert": '|', "verbar": '|',
	"tab": '\t', "newline": '\n', "nbsp": ' ',
}

// entity decodes an HTML character reference at the start of b ("&#60;",
// "&#x3c", "&lt;") and returns its rune and length, or 0 length if there is
// none. Numeric references may lack the ';' (browsers accept that); named
// ones need it.
func entity(b []byte) (rune, int) {
	if len(b) < 3 {
		return 0, 0
	}
	if b[1] == '#' {
		i, base := 2, rune(10)
		if i < len(b) && (b[i] == 'x' || b[i] == 'X') {
			i, base = 3, 16
		}
		start := i
		var r rune
		for i < len(b) && i-start < 8 {
			c := b[i]
			var d rune
			switch {
			case '0' <= c && c <= '9':
				d = rune(c - '0')
			case base == 16 && ishex(c):
				d = rune(unhex(c))
			default:
				goto done
			}
			r = r*base + d
			i++
		}
	done:
		if i == start || r > utf8.MaxRune {
			return 0, 0
		}
		if i < len(b) && b[i] == ';' {
			i++
		}
		return r, i
	}
	end := 1
	for end < len(b) && end < 10 && isAlpha(b[end]) {
		end++
	}
	if end == 1 || end >= len(b) || b[end] != ';' {
		return 0, 0
	}
	var key [10]byte
	k := copy(key[:], b[1:end])
	for j := range k {
		key[j] |= 0x20
	}
	r, ok := namedEntities[string(key[:k])]
	if !ok {
		return 0, 0
	}
	return r, end + 1
}

func isAlpha(c byte) bool { return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') }

// normPath appends the normalised form of a decoded path: backslashes as
// slashes, empty and "." segments dropped, ".." resolved against the root.
// Climbing above the root is reported, since no browser sends that.
func normPath(dst, p []byte) ([]byte, Anomaly) {
	var an Anomaly
	base := len(dst)
	dst = append(dst, '/')
	i := 0
	for i < len(p) {
		for i < len(p) && (p[i] == '/' || p[i] == '\\') {
			if p[i] == '\\' {
				an |= AnomBackslash
			}
			i++
		}
		j := i
		for j < len(p) && p[j] != '/' && p[j] != '\\' {
			j++
		}
		seg := p[i:j]
		switch {
		case len(seg) == 0:
		case len(seg) == 1 && seg[0] == '.':
		case len(seg) == 2 && seg[0] == '.' && seg[1] == '.':
			if len(dst) == base+1 {
				an |= AnomAboveRoot
				break
			}
			k := len(dst) - 2
			for k > base && dst[k] != '/' {
				k--
			}
			dst = dst[:k+1]
		default:
			dst = append(dst, seg...)
			if j < len(p) {
				dst = append(dst, '/')
			}
		}
		i = j
	}
	// A path that ended in "/.." or "/." keeps its trailing slash; one that
	// ended in a name has none.
	return dst, an
}

// lower folds ASCII letters in place.
func lower(b []byte) {
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
}
