package date

import "bytes"

// Hand-written matchers for the templates nearly every log line hits: ISO 8601
// / RFC 3339 and BSD syslog, anchored at the line begin. They follow the
// regex's first-choice path (greedy, leftmost alternatives) and answer
// fastYes only when that path matches; whenever the regex could backtrack to
// another result they answer fastUnsure and the regex decides. fastNo only
// when no match is possible at all. A differential test checks them against
// the regexes.

const (
	fastUnsure = iota
	fastNo
	fastYes
)

// Hand-written matchers; each matches at the start of the line, filling
// fields, and returns the date span and a verdict.
const (
	fastNone       = iota
	fastISO1       // fastISO with (?:T|  ?)
	fastISO2       // fastISO with [T ]
	fastSyslog     // fastBSD
	fastCLF        // fastBracketCLF
	fastSyslog5424 // fastRFC5424
)

// fastFor returns the hand-written matcher for a datepattern, if there is one.
func fastFor(pattern string) int {
	switch pattern {
	case `{^LN-BEG}%ExY(?P<_sep>[-/.])%m(?P=_sep)%d(?:T|  ?)%H:%M:%S(?:[.,]%f)?(?:\s*%z)?`:
		return fastISO1
	case `{^LN-BEG}%ExY(?P<_sep>[-/.])%m(?P=_sep)%d[T ]%H:%M:%S(?:[.,]%f)?(?:\s*%z)?`:
		return fastISO2
	case `{^LN-BEG}(?:%a )?%b %d %k:%M:%S(?:\.%f)?(?: %ExY)?`,
		`{^LN-BEG}(?:%a )?%b %d %H:%M:%S(?:\.%f)?(?: %ExY)?`:
		return fastSyslog
	case `^[^\[]*\[(%d(?P<_sep>[-/])%b(?P=_sep)%ExY[ :]?%H:%M:%S(?:\.%f)?(?: %z)?)`:
		return fastCLF
	case `^<\d+>\d+\s+%ExY(?P<_sep>[-/.])%m(?P=_sep)%d(?:T|  ?)%H:%M:%S(?:[.,]%f)?(?:\s*%z)?`:
		return fastSyslog5424
	}
	return fastNone
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// skipPrefix handles ^(?:\W{0,2})? for a date that must start with a byte in
// the class first: it returns where the date starts, or a verdict.
func skipPrefix(line []byte, digit bool) (int, int) {
	p := 0
	for p < 2 && p < len(line) {
		c := line[p]
		if c >= 0x80 {
			return 0, fastUnsure
		}
		if isWordByte(c) {
			break
		}
		p++
	}
	if p >= len(line) || (digit && line[p] != '2') || (!digit && !isLetter(line[p])) {
		if p < len(line) && line[p] >= 0x80 {
			return 0, fastUnsure
		}
		return 0, fastNo
	}
	return p, fastYes
}

// endOK checks the word boundary (?=\b|\W|$) at e; ok is false when the
// answer needs Unicode rules.
func endOK(line []byte, e int) (bound, ok bool) {
	if e >= len(line) {
		return true, true
	}
	c := line[e]
	if c >= 0x80 {
		return false, false
	}
	return !(isWordByte(line[e-1]) && isWordByte(c)), true
}

func two(b []byte, i int) (int, bool) {
	if i+1 >= len(b) || !isDigit(b[i]) || !isDigit(b[i+1]) {
		return 0, false
	}
	return int(b[i]-'0')*10 + int(b[i+1]-'0'), true
}

// fraction reads up to 6 digits at i (the caller checked the separator).
func fraction(b []byte, i int, f *fields) int {
	n, k := 0, 0
	for k < 6 && i+k < len(b) && isDigit(b[i+k]) {
		n = n*10 + int(b[i+k]-'0')
		k++
	}
	for j := k; j < 9; j++ {
		n *= 10
	}
	f.nsec = n
	return i + k
}

// hms reads HH:MM:SS at i with two-digit fields (00-23, 00-59, 00-59).
func hms(b []byte, i int, f *fields) bool {
	if i+8 > len(b) {
		return false
	}
	b = b[i : i+8]
	h0, h1, m0, m1, s0, s1 := b[0]-'0', b[1]-'0', b[3]-'0', b[4]-'0', b[6]-'0', b[7]-'0'
	if h0 > 2 || h1 > 9 || m0 > 5 || m1 > 9 || s0 > 5 || s1 > 9 || b[2] != ':' || b[5] != ':' {
		return false
	}
	h := int(h0)*10 + int(h1)
	if h > 23 {
		return false
	}
	f.hour, f.minute, f.second = h, int(m0)*10+int(m1), int(s0)*10+int(s1)
	return true
}

// fastISO matches
//
//	^(?:\W{0,2})?((?P<Y>20\d\d)(?P<_sep>[-/.])(?P<m>0?[1-9]|1[0-2])(?P=_sep)(?P<d>[1-2]\d|[0 ]?[1-9]|3[0-1])
//	(?:T|  ?)(?P<H>..):(?P<M>..):(?P<S>..)(?:[.,](?P<f>[0-9]{1,6}))?(?:\s*(?P<z>Z|UTC|GMT|[+-][01]\d(?::?\d{2})?))?)(?=\b|\W|$)
//
// in its canonical form (two-digit fields); twoSpaces is the (?:T|  ?)
// variant, else [T ].
func fastISO(line []byte, twoSpaces bool, f *fields) (int, int, int) {
	p, res := skipPrefix(line, true)
	if res != fastYes {
		return 0, 0, res
	}
	return isoAt(line, p, twoSpaces, f)
}

// isoAt matches the ISO 8601 template's date starting exactly at p.
func isoAt(line []byte, p int, twoSpaces bool, f *fields) (int, int, int) {
	b := line[p:]
	if len(b) < 19 {
		return 0, 0, fastUnsure
	}
	if b[1] != '0' {
		return 0, 0, fastNo
	}
	y, ok := two(b, 2)
	sep := b[4]
	mo, ok2 := two(b, 5)
	d, ok3 := two(b, 8)
	if !ok || !ok2 || !ok3 || (sep != '-' && sep != '/' && sep != '.') || b[7] != sep ||
		mo < 1 || mo > 12 || d < 1 || d > 31 {
		return 0, 0, fastUnsure
	}
	if b[10] != 'T' && b[10] != ' ' || (twoSpaces && b[11] == ' ') {
		return 0, 0, fastUnsure
	}
	if !hms(b, 11, f) {
		return 0, 0, fastUnsure
	}
	f.year, f.month, f.day = 2000+y, mo, d
	f.set = hasYear | hasMonth | hasDay
	q := 19
	if q+1 < len(b) && (b[q] == '.' || b[q] == ',') && isDigit(b[q+1]) {
		q = fraction(b, q+1, f)
	}
	e := q
	r := q
	for r < len(b) && (b[r] == ' ' || b[r] == '\t' || b[r] == '\n' || b[r] == '\r' || b[r] == '\f' || b[r] == '\v') {
		r++
	}
	if r < len(b) {
		switch c := b[r]; {
		case c >= 0x80:
			return 0, 0, fastUnsure
		case c == 'Z':
			f.zone, f.set, e = 0, f.set|hasZone, r+1
		case c == 'U' || c == 'G':
			if r+3 <= len(b) && (string(b[r:r+3]) == "UTC" || string(b[r:r+3]) == "GMT") {
				f.zone, f.set, e = 0, f.set|hasZone, r+3
			}
		case c == '+' || c == '-':
			if r+2 < len(b) && (b[r+1] == '0' || b[r+1] == '1') && isDigit(b[r+2]) {
				h := int(b[r+1]-'0')*10 + int(b[r+2]-'0')
				z := r + 3
				m := 0
				if mm, ok := two(b, z+1); ok && z < len(b) && b[z] == ':' {
					m, z = mm, z+3
				} else if mm, ok := two(b, z); ok {
					m, z = mm, z+2
				}
				off := (h*60 + m) * 60
				if c == '-' {
					off = -off
				}
				f.zone, f.set, e = off, f.set|hasZone, z
			}
		}
	}
	bound, ok := endOK(b, e)
	if !ok || !bound {
		return 0, 0, fastUnsure
	}
	return p, p + e, fastYes
}

func lower3(b []byte, i int) (uint32, bool) {
	if i+3 > len(b) {
		return 0, false
	}
	var v uint32
	for k := 0; k < 3; k++ {
		c := b[i+k]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		} else if c < 'a' || c > 'z' {
			return 0, false
		}
		v = v<<8 | uint32(c)
	}
	return v, true
}

func monthOf(v uint32) int {
	switch v {
	case 'j'<<16 | 'a'<<8 | 'n':
		return 1
	case 'f'<<16 | 'e'<<8 | 'b':
		return 2
	case 'm'<<16 | 'a'<<8 | 'r':
		return 3
	case 'a'<<16 | 'p'<<8 | 'r':
		return 4
	case 'm'<<16 | 'a'<<8 | 'y':
		return 5
	case 'j'<<16 | 'u'<<8 | 'n':
		return 6
	case 'j'<<16 | 'u'<<8 | 'l':
		return 7
	case 'a'<<16 | 'u'<<8 | 'g':
		return 8
	case 's'<<16 | 'e'<<8 | 'p':
		return 9
	case 'o'<<16 | 'c'<<8 | 't':
		return 10
	case 'n'<<16 | 'o'<<8 | 'v':
		return 11
	case 'd'<<16 | 'e'<<8 | 'c':
		return 12
	}
	return 0
}

func isWeekday(v uint32) bool {
	switch v {
	case 'm'<<16 | 'o'<<8 | 'n', 't'<<16 | 'u'<<8 | 'e', 'w'<<16 | 'e'<<8 | 'd', 't'<<16 | 'h'<<8 | 'u',
		'f'<<16 | 'r'<<8 | 'i', 's'<<16 | 'a'<<8 | 't', 's'<<16 | 'u'<<8 | 'n':
		return true
	}
	return false
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// fastBSD matches
//
//	(?i)^(?:\W{0,2})?((?:(?P<a>mon|...) )?(?P<b>jan|...) (?P<d>[1-2]\d|[0 ]?[1-9]|3[0-1])  ?(?P<H>[0-2]?\d):(?P<M>..):(?P<S>..)
//	(?:\.(?P<f>[0-9]{1,6}))?(?: (?P<Y>20\d\d))?)(?=\b|\W|$)
//
// (and the %H variant) in its canonical form: one space before a two-digit hour.
func fastBSD(line []byte, f *fields) (int, int, int) {
	p, res := skipPrefix(line, false)
	if res != fastYes {
		return 0, 0, res
	}
	b := line[p:]
	v, ok := lower3(b, 0)
	if !ok {
		return 0, 0, fastUnsure
	}
	q := 0
	if isWeekday(v) {
		if len(b) < 4 || b[3] != ' ' {
			return 0, 0, fastNo
		}
		if v, ok = lower3(b, 4); !ok {
			return 0, 0, fastUnsure
		}
		q = 4
	}
	mo := monthOf(v)
	if mo == 0 {
		return 0, 0, fastNo
	}
	q += 3
	if q+10 > len(b) || b[q] != ' ' {
		return 0, 0, fastUnsure
	}
	q++
	var d int
	switch {
	case (b[q] == ' ' || b[q] == '0') && b[q+1] >= '1' && b[q+1] <= '9':
		d, q = int(b[q+1]-'0'), q+2
	case b[q] >= '1' && b[q] <= '9' && b[q+1] == ' ':
		d, q = int(b[q]-'0'), q+1
	case b[q] >= '1' && b[q] <= '3' && isDigit(b[q+1]):
		d, q = int(b[q]-'0')*10+int(b[q+1]-'0'), q+2
		if d > 31 {
			return 0, 0, fastUnsure
		}
	default:
		return 0, 0, fastUnsure
	}
	if q+9 > len(b) || b[q] != ' ' || b[q+1] == ' ' {
		return 0, 0, fastUnsure
	}
	if !hms(b, q+1, f) {
		return 0, 0, fastUnsure
	}
	f.month, f.day = mo, d
	f.set = hasMonth | hasDay
	e := q + 9
	if e+1 < len(b) && b[e] == '.' && isDigit(b[e+1]) {
		e = fraction(b, e+1, f)
	}
	if e+5 <= len(b) && b[e] == ' ' && b[e+1] == '2' && b[e+2] == '0' && isDigit(b[e+3]) && isDigit(b[e+4]) {
		f.year = 2000 + int(b[e+3]-'0')*10 + int(b[e+4]-'0')
		f.set |= hasYear
		e += 5
	}
	bound, ok := endOK(b, e)
	if !ok || !bound {
		return 0, 0, fastUnsure
	}
	return p, p + e, fastYes
}

// fastBracketCLF matches the Apache/CLF template placed in
// ^[^\[]*\[({DATE}) (the web-log filters' datepattern), canonical form:
//
//	^[^\[]*\[((?P<d>..)(?P<_sep>[-/])(?P<b>jan|...)(?P=_sep)(?P<Y>20\d\d)[ :]?(?P<H>..):(?P<M>..):(?P<S>..)
//	(?:\.(?P<f>[0-9]{1,6}))?(?: (?P<z>Z|UTC|GMT|[+-][01]\d(?::?\d{2})?))?)(?=\b|\W|$)
func fastBracketCLF(line []byte, f *fields) (int, int, int) {
	p := bytes.IndexByte(line, '[')
	if p < 0 {
		return 0, 0, fastNo
	}
	p++
	b := line[p:]
	if len(b) < 20 {
		return 0, 0, fastUnsure
	}
	d, ok := two(b, 0)
	sep := b[2]
	if !ok || d < 1 || d > 31 || (sep != '/' && sep != '-') || b[6] != sep || b[7] != '2' || b[8] != '0' ||
		!isDigit(b[9]) || !isDigit(b[10]) || (b[11] != ':' && b[11] != ' ') {
		return 0, 0, fastUnsure
	}
	v, ok := lower3(b, 3)
	mo := monthOf(v)
	if !ok || mo == 0 || !hms(b, 12, f) {
		return 0, 0, fastUnsure
	}
	f.year, f.month, f.day = 2000+int(b[9]-'0')*10+int(b[10]-'0'), mo, d
	f.set = hasYear | hasMonth | hasDay
	e := 20
	if e+1 < len(b) && b[e] == '.' && isDigit(b[e+1]) {
		e = fraction(b, e+1, f)
	}
	if e+3 < len(b) && b[e] == ' ' {
		switch c := b[e+1]; {
		case c == '+' || c == '-':
			if (b[e+2] == '0' || b[e+2] == '1') && isDigit(b[e+3]) {
				z := e + 4
				off := (int(b[e+2]-'0')*10 + int(b[e+3]-'0')) * 60
				if mm, ok := two(b, z+1); ok && b[z] == ':' {
					off, z = off+mm, z+3
				} else if mm, ok := two(b, z); ok {
					off, z = off+mm, z+2
				}
				off *= 60
				if c == '-' {
					off = -off
				}
				f.zone, f.set, e = off, f.set|hasZone, z
			}
		case isLetter(c) || c >= 0x80:
			// Z, UTC, GMT in any case: rare, left to the regex
			return 0, 0, fastUnsure
		}
	}
	bound, ok := endOK(b, e)
	if !ok || !bound {
		return 0, 0, fastUnsure
	}
	return p, p + e, fastYes
}

// fastRFC5424 matches the ISO 8601 template placed in ^<\d+>\d+\s+{DATE}
// (common.conf's rfc5424 log type). The date span is the whole match, the
// "<pri>version " head included, as in Fail2ban.
func fastRFC5424(line []byte, f *fields) (int, int, int) {
	if len(line) < 4 || line[0] != '<' {
		return 0, 0, fastNo
	}
	p := 1
	for p < len(line) && isDigit(line[p]) {
		p++
	}
	if p == 1 || p >= len(line) || line[p] != '>' {
		return 0, 0, fastUnsure
	}
	p++
	q := p
	for q < len(line) && isDigit(line[q]) {
		q++
	}
	if q == p {
		return 0, 0, fastUnsure
	}
	p = q
	for q < len(line) && (line[q] == ' ' || line[q] == '\t') {
		q++
	}
	if q == p || q >= len(line) || line[q] >= 0x80 || line[q] != '2' {
		return 0, 0, fastUnsure
	}
	_, e, res := isoAt(line, q, true, f)
	if res != fastYes {
		return 0, 0, fastUnsure
	}
	return 0, e, fastYes
}
