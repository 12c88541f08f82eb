package filter

import (
	"fmt"
	"regexp"
	"strings"
)

// translation is a Python-flavoured regex rewritten for Go.
type translation struct {
	// re2 is Go RE2 syntax. When exact is false it is a superset of the
	// original (lookarounds dropped, conditionals turned into alternations,
	// backreferences into .*?), instrumented with capture groups named
	// "__…" that let checks decide whether its match is also the original's.
	re2   string
	exact bool
	// checks, when verifiable, confirm an RE2 match of the superset: if all
	// pass, the match is the one the backtracking engine would find (the
	// superset tries the same paths in the same order, plus some that the
	// checks reject), so the slow engine is needed only when one fails.
	checks     []check
	verifiable bool
	// dotnet is the pattern in the syntax of the backtracking engine
	// (regexp2), used only when exact is false.
	dotnet string
	// why names the first construct RE2 cannot express, for the load report.
	why string
}

type checkKind uint8

const (
	checkTempered  checkKind = iota // span must not contain lit starting inside it
	checkLookahead                  // at the empty group's position, expr must (neg: must not) match
	checkLookbehind
	checkCond // conditional: branch taken must agree with group
)

type check struct {
	kind  checkKind
	neg   bool
	group string // instrumentation group
	lit   string // checkTempered
	expr  string // lookaround body, RE2
	re    *regexp.Regexp
	cond  string // checkCond: the referenced group
	yes   string // checkCond: branch groups
	no    string
	empty string
}

var temperedRE = regexp.MustCompile(`^\(\?:\(\?!((?:[^()\\\[\]*+?{}.|^$]|\\[^A-Za-z0-9])+)\)\.\)([*+]\??)`)

// translate rewrites a Python `re` pattern (as Fail2ban writes them, tags
// already expanded) for Go. It never fails; a pattern neither engine accepts
// is reported when compiled.
func translate(p string) translation {
	t := &translator{p: p, exact: true, verifiable: true}
	for t.i = 0; t.i < len(p); t.i++ {
		switch c := p[t.i]; c {
		case '\\':
			t.escape()
		case '[':
			t.class()
		case '{':
			t.brace()
		case '|':
			t.bar()
		case '(':
			t.open()
		case ')':
			t.close()
		default:
			t.emit2(string(c))
			t.net.WriteByte(c)
		}
	}
	if t.dropDepth != 0 || len(t.stack) != 0 {
		t.verifiable = false
	}
	return translation{re2: t.re2.String(), exact: t.exact, dotnet: t.net.String(), why: t.why, checks: t.checks, verifiable: t.verifiable && !t.exact}
}

// translator holds the state of one translate call: the pattern and the
// position in it, the two outputs, and the open groups.
type translator struct {
	p string
	i int // the byte being translated; steps leave it on the last byte they used
	// re2 and net are the outputs for RE2 and for the backtracking engine;
	// look collects a lookaround's body, which re2 leaves out.
	re2, net, look    strings.Builder
	exact, verifiable bool
	why               string
	stack             []grp
	checks            []check
	dropDepth         int // >0 while inside a lookaround being dropped from re2
}

// grp is an open group.
type grp struct {
	kind    byte // 'n' normal, 'l' lookaround (dropped), 'c' conditional
	checks  int  // len(checks) when the group opened
	cond    int  // index of the conditional's check
	sawBar  bool
	lookIdx int // index of the lookaround's check
}

// slow records that RE2 cannot express the pattern exactly, and why (the
// first reason is the one reported).
func (t *translator) slow(reason string) {
	if t.exact {
		t.why = reason
	}
	t.exact = false
}

// emit2 writes s to the RE2 output, or to the lookaround body being dropped.
func (t *translator) emit2(s string) {
	if t.dropDepth == 0 {
		t.re2.WriteString(s)
	} else {
		t.look.WriteString(s)
	}
}

// closing finds the ')' of a (?P=…) or (?(…) head; when there is none
// the rest is copied as it is and the compilers report the error.
func (t *translator) closing(rest string) (int, bool) {
	k := strings.IndexByte(rest, ')')
	if k < 0 {
		t.emit2(rest)
		t.net.WriteString(rest)
		return 0, false
	}
	return k, true
}

// escape translates a backslash escape.
func (t *translator) escape() {
	p, n := t.p, len(t.p)
	if t.i+1 >= n {
		t.emit2(`\\`)
		t.net.WriteString(`\\`)
		return
	}
	t.i++
	d := p[t.i]
	switch {
	case d == 'Z':
		t.emit2(`\z`)
		t.net.WriteString(`\z`)
	case d >= '1' && d <= '9':
		t.slow("backreference \\" + string(d))
		t.verifiable = false
		t.emit2(`(?s:.*?)`)
		t.net.WriteByte('\\')
		t.net.WriteByte(d)
	case d == 'u' && t.i+4 < n:
		t.emit2(`\x{` + p[t.i+1:t.i+5] + `}`)
		t.net.WriteString(`\u` + p[t.i+1:t.i+5])
		t.i += 4
	case d == ' ':
		t.emit2(` `)
		t.net.WriteString(`\ `)
	case d == '_':
		t.emit2(`_`)
		t.net.WriteString(`\_`)
	case strings.IndexByte("sSdDwW", d) >= 0:
		// One ASCII meaning in both engines (RE2's \s lacks \v and
		// \x1c-\x1f, which Python counts; .NET's classes are
		// Unicode): the same class text goes to each.
		c := asciiClass(d)
		t.emit2(c)
		t.net.WriteString(c)
	default:
		t.emit2(`\` + string(d))
		t.net.WriteByte('\\')
		t.net.WriteByte(d)
	}
}

// class translates a bracketed character class.
func (t *translator) class() {
	j := classEnd(t.p, t.i)
	cls := t.p[t.i:j]
	t.emit2(translateClass(cls))
	t.net.WriteString(netClass(cls))
	t.i = j - 1
}

// brace translates a '{': Python's {,n} means {0,n}; Go would read it as a
// literal.
func (t *translator) brace() {
	p, i := t.p, t.i
	if i+1 < len(p) && p[i+1] == ',' {
		if k := strings.IndexByte(p[i:], '}'); k > 0 && isDigits(p[i+2:i+k]) {
			q := "{0" + p[i+1:i+k+1]
			t.emit2(q)
			t.net.WriteString(q)
			t.i += k
			return
		}
	}
	t.emit2("{")
	t.net.WriteByte('{')
}

// bar translates a '|'; the first one of a conditional separates its
// branches.
func (t *translator) bar() {
	if len(t.stack) > 0 && t.stack[len(t.stack)-1].kind == 'c' && !t.stack[len(t.stack)-1].sawBar && t.dropDepth == 0 {
		g := &t.stack[len(t.stack)-1]
		g.sawBar = true
		name := fmt.Sprintf("__c%dn", g.cond)
		t.checks[g.cond].no = name
		t.emit2(")|(?P<" + name + ">")
		t.net.WriteByte('|')
		return
	}
	t.emit2("|")
	t.net.WriteByte('|')
}

// open translates a '(' and what makes the group special.
func (t *translator) open() {
	rest := t.p[t.i:]
	if m := temperedRE.FindStringSubmatch(rest); m != nil && t.dropDepth == 0 {
		t.tempered(m)
		return
	}
	switch {
	case strings.HasPrefix(rest, "(?P<"):
		t.push('n')
		t.emit2("(?P<")
		t.net.WriteString("(?<")
		t.i += 3
	case strings.HasPrefix(rest, "(?P="):
		t.namedBackref(rest)
	case strings.HasPrefix(rest, "(?#"):
		k := strings.IndexByte(rest, ')')
		if k < 0 {
			t.i = len(t.p)
			return
		}
		t.i += k
	case strings.HasPrefix(rest, "(?="), strings.HasPrefix(rest, "(?!"),
		strings.HasPrefix(rest, "(?<="), strings.HasPrefix(rest, "(?<!"):
		t.lookaround(rest)
	case strings.HasPrefix(rest, "(?>"):
		t.slow("atomic group")
		t.verifiable = false
		t.push('n')
		t.emit2("(?:")
		t.net.WriteString("(?>")
		t.i += 2
	case strings.HasPrefix(rest, "(?("):
		t.conditional(rest)
	case strings.HasPrefix(rest, "(?"):
		t.flags(rest)
	default:
		t.push('n')
		t.emit2("(")
		t.net.WriteByte('(')
	}
}

// push opens a group of kind 'n'.
func (t *translator) push(kind byte) {
	t.stack = append(t.stack, grp{kind: kind, checks: len(t.checks)})
}

// tempered translates (?:(?!LIT).)* — "any text without LIT": a capture
// whose span is checked afterwards. m is temperedRE's match.
func (t *translator) tempered(m []string) {
	t.slow("lookahead (?!")
	name := fmt.Sprintf("__t%d", len(t.checks))
	t.checks = append(t.checks, check{kind: checkTempered, group: name, lit: unescapeLiteral(m[1])})
	t.emit2("(?P<" + name + ">(?:.)" + m[2] + ")")
	t.net.WriteString(m[0])
	t.i += len(m[0]) - 1
}

// namedBackref translates (?P=name), which RE2 lacks: a lazy .*? in the
// superset, which no check can confirm.
func (t *translator) namedBackref(rest string) {
	k, ok := t.closing(rest)
	if !ok {
		t.i = len(t.p)
		return
	}
	t.slow("backreference " + rest[:k+1])
	t.verifiable = false
	t.emit2(`(?s:.*?)`)
	t.net.WriteString(`\k<` + rest[4:k] + `>`)
	t.i += k
}

// lookaround opens (?=, (?!, (?<= or (?<!: dropped from the RE2 superset,
// an empty group marks its place for the check.
func (t *translator) lookaround(rest string) {
	behind := rest[2] == '<'
	op := rest[:3]
	if behind {
		op = rest[:4]
	}
	t.slow("lookaround " + op)
	g := grp{kind: 'l', checks: len(t.checks), lookIdx: -1}
	if t.dropDepth == 0 {
		name := fmt.Sprintf("__l%d", len(t.checks))
		kind := checkLookahead
		if behind {
			kind = checkLookbehind
		}
		t.checks = append(t.checks, check{kind: kind, neg: op[len(op)-1] == '!', group: name})
		g.lookIdx = len(t.checks) - 1
		t.re2.WriteString("(?P<" + name + ">)")
		t.look.Reset()
	} else {
		t.verifiable = false // nested lookarounds
	}
	t.stack = append(t.stack, g)
	t.dropDepth++
	t.net.WriteString(op)
	t.i += len(op) - 1
}

// conditional opens (?(g)…): an alternation in the superset whose branch
// taken is checked against the group.
func (t *translator) conditional(rest string) {
	k, ok := t.closing(rest)
	if !ok {
		t.i = len(t.p)
		return
	}
	t.slow("conditional " + rest[:k+1])
	idx := len(t.checks)
	t.checks = append(t.checks, check{kind: checkCond, cond: rest[3:k], yes: fmt.Sprintf("__c%dy", idx)})
	t.stack = append(t.stack, grp{kind: 'c', checks: idx, cond: idx})
	if t.dropDepth > 0 {
		t.verifiable = false
	}
	// A named wrapper keeps the parser from merging it into an
	// enclosing alternation (conditional.go finds it by name).
	t.emit2("(?P<" + fmt.Sprintf("__c%d", idx) + ">(?P<" + t.checks[idx].yes + ">")
	t.net.WriteString(rest[:k+1])
	t.i += k
}

// flags translates (?i) (?i:...) (?aiLmsux-imsx:...). Go lacks a, L, u, x.
func (t *translator) flags(rest string) {
	k := 2
	for k < len(rest) && strings.IndexByte("aiLmsux-", rest[k]) >= 0 {
		k++
	}
	flags := rest[2:k]
	goFlags := strings.Map(func(r rune) rune {
		if strings.ContainsRune("imsU-", r) {
			return r
		}
		return -1
	}, flags)
	if strings.ContainsRune(flags, 'x') {
		t.slow("verbose flag (?x)")
		t.verifiable = false
	}
	if strings.ContainsRune(flags, 'L') {
		t.slow("locale flag (?L)")
		t.verifiable = false
	}
	switch {
	case k < len(rest) && rest[k] == ':':
		t.push('n')
		if goFlags == "" || goFlags == "-" {
			t.emit2("(?:")
		} else {
			t.emit2("(?" + goFlags + ":")
		}
		t.net.WriteString("(?" + flags + ":")
		t.i += k
	case k < len(rest) && rest[k] == ')':
		if goFlags != "" && goFlags != "-" {
			t.emit2("(?" + goFlags + ")")
		}
		fl := strings.Map(func(r rune) rune {
			if strings.ContainsRune("imsx-", r) {
				return r
			}
			return -1
		}, flags)
		if fl != "" {
			t.net.WriteString("(?" + fl + ")")
		}
		t.i += k
	default:
		// Unknown extension: pass through; the compilers report it.
		t.push('n')
		t.emit2("(")
		t.net.WriteByte('(')
	}
}

// close translates a ')': it ends a lookaround's body, a conditional's
// alternation or a plain group.
func (t *translator) close() {
	t.net.WriteByte(')')
	if len(t.stack) == 0 {
		t.emit2(")")
		return
	}
	g := t.stack[len(t.stack)-1]
	t.stack = t.stack[:len(t.stack)-1]
	switch g.kind {
	case 'l':
		t.endLookaround(g)
		return
	case 'c':
		if g.sawBar {
			t.emit2("))")
		} else {
			// (?(g)A) has an implicit empty "no" branch.
			name := fmt.Sprintf("__c%de", g.cond)
			t.checks[g.cond].empty = name
			t.emit2(")|(?P<" + name + ">))")
		}
	default:
		t.emit2(")")
	}
	// Checks inside a group that repeats see only the last
	// repetition's captures: they cannot confirm a match.
	if repeats(t.p, t.i+1) && len(t.checks) > g.checks {
		t.verifiable = false
	}
}

// endLookaround closes lookaround g: its body becomes the check's
// expression, and a quantifier on it is dropped with it.
func (t *translator) endLookaround(g grp) {
	p, n := t.p, len(t.p)
	t.dropDepth--
	if g.lookIdx >= 0 {
		t.checks[g.lookIdx].expr = t.look.String()
	}
	// A quantifier on a dropped lookaround would dangle: drop it too.
	if i := t.i; i+1 < n && strings.IndexByte("*+?{", p[i+1]) >= 0 {
		j := i + 1
		if p[j] == '{' {
			if k := strings.IndexByte(p[j:], '}'); k > 0 {
				j += k
			}
		}
		if j+1 < n && p[j+1] == '?' {
			j++
		}
		t.net.WriteString(p[i+1 : j+1])
		t.i = j
	}
}

// repeats reports whether a quantifier allowing more than one repetition
// follows at p[i].
func repeats(p string, i int) bool {
	if i >= len(p) {
		return false
	}
	switch p[i] {
	case '*', '+':
		return true
	case '{':
		k := strings.IndexByte(p[i:], '}')
		if k < 0 {
			return false
		}
		q := p[i+1 : i+k]
		if q == "0,1" || q == "1" || q == "0" || q == ",1" {
			return false
		}
		return true
	}
	return false
}

// unescapeLiteral turns `\.` style escapes into the characters.
func unescapeLiteral(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// asciiClass is the class written for \s \S \d \D \w \W: Python's
// meaning restricted to ASCII (docs/COMPATIBILITY.md), identical in RE2
// and in the backtracking engine.
func asciiClass(d byte) string {
	switch d {
	case 's':
		return `[\t\n\v\f\r\x1c-\x1f ]`
	case 'S':
		return `[^\t\n\v\f\r\x1c-\x1f ]`
	case 'd':
		return `[0-9]`
	case 'D':
		return `[^0-9]`
	case 'w':
		return `[0-9A-Za-z_]`
	}
	return `[^0-9A-Za-z_]`
}

// classEnd returns the index just past the character class starting at i.
func classEnd(p string, i int) int {
	j := i + 1
	if j < len(p) && p[j] == '^' {
		j++
	}
	if j < len(p) && p[j] == ']' {
		j++
	}
	for j < len(p) {
		switch p[j] {
		case '\\':
			j += 2
			continue
		case ']':
			return j + 1
		}
		j++
	}
	return len(p)
}

// translateClass rewrites a Python character class for RE2: `\b` inside a
// class is a backspace, `[` is literal, and escapes of letters Go does not
// know are made literal.
func translateClass(cls string) string {
	var b strings.Builder
	for i := 0; i < len(cls); i++ {
		c := cls[i]
		switch {
		case c == '\\' && i+1 < len(cls):
			d := cls[i+1]
			i++
			switch {
			case d == 'b':
				b.WriteString(`\x08`)
			case d == 'u' && i+4 < len(cls):
				b.WriteString(`\x{` + cls[i+1:i+5] + `}`)
				i += 4
			case d == ' ':
				b.WriteString(` `)
			case d == 's' || d == 'd' || d == 'w':
				c := asciiClass(d)
				b.WriteString(c[1 : len(c)-1])
			default:
				b.WriteByte('\\')
				b.WriteByte(d)
			}
		case c == '[' && i > 0:
			b.WriteString(`\[`)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// netClass writes a class for the backtracking engine with \s \d \w in
// their ASCII meaning, as translateClass does for RE2.
func netClass(cls string) string {
	var b strings.Builder
	for i := 0; i < len(cls); i++ {
		c := cls[i]
		if c == '\\' && i+1 < len(cls) {
			d := cls[i+1]
			i++
			if d == 's' || d == 'd' || d == 'w' {
				a := asciiClass(d)
				b.WriteString(a[1 : len(a)-1])
				continue
			}
			b.WriteByte('\\')
			b.WriteByte(d)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// describe returns a short form of a pattern for messages.
func describe(p string) string {
	if len(p) > 100 {
		return fmt.Sprintf("%q…", p[:100])
	}
	return fmt.Sprintf("%q", p)
}
