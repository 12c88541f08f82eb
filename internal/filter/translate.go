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
	var re2, net strings.Builder
	exact, verifiable := true, true
	why := ""
	slow := func(reason string) {
		if exact {
			why = reason
		}
		exact = false
	}
	type grp struct {
		kind    byte // 'n' normal, 'l' lookaround (dropped), 'c' conditional
		checks  int  // len(checks) when the group opened
		cond    int  // index of the conditional's check
		sawBar  bool
		lookIdx int // index of the lookaround's check
		body    int // re2 length where a lookaround body starts (for the check)
	}
	var stack []grp
	var checks []check
	dropDepth := 0 // >0 while inside a lookaround being dropped from re2
	var look strings.Builder
	emit2 := func(s string) {
		if dropDepth == 0 {
			re2.WriteString(s)
		} else {
			look.WriteString(s)
		}
	}
	// closing finds the ')' of a (?P=…) or (?(…) head; when there is none
	// the rest is copied as it is and the compilers report the error.
	closing := func(rest string) (int, bool) {
		k := strings.IndexByte(rest, ')')
		if k < 0 {
			emit2(rest)
			net.WriteString(rest)
			return 0, false
		}
		return k, true
	}
	n := len(p)
	for i := 0; i < n; i++ {
		c := p[i]
		switch c {
		case '\\':
			if i+1 >= n {
				emit2(`\\`)
				net.WriteString(`\\`)
				continue
			}
			d := p[i+1]
			i++
			switch {
			case d == 'Z':
				emit2(`\z`)
				net.WriteString(`\z`)
			case d >= '1' && d <= '9':
				slow("backreference \\" + string(d))
				verifiable = false
				emit2(`(?s:.*?)`)
				net.WriteByte('\\')
				net.WriteByte(d)
			case d == 'u' && i+4 < n:
				emit2(`\x{` + p[i+1:i+5] + `}`)
				net.WriteString(`\u` + p[i+1:i+5])
				i += 4
			case d == ' ':
				emit2(` `)
				net.WriteString(`\ `)
			case d == '_':
				emit2(`_`)
				net.WriteString(`\_`)
			case strings.IndexByte("sSdDwW", d) >= 0:
				// One ASCII meaning in both engines (RE2's \s lacks \v and
				// \x1c-\x1f, which Python counts; .NET's classes are
				// Unicode): the same class text goes to each.
				c := asciiClass(d)
				emit2(c)
				net.WriteString(c)
			default:
				emit2(`\` + string(d))
				net.WriteByte('\\')
				net.WriteByte(d)
			}
		case '[':
			j := classEnd(p, i)
			cls := p[i:j]
			emit2(translateClass(cls))
			net.WriteString(netClass(cls))
			i = j - 1
		case '{':
			// Python's {,n} means {0,n}; Go would read it as a literal.
			if i+1 < n && p[i+1] == ',' {
				if k := strings.IndexByte(p[i:], '}'); k > 0 && isDigits(p[i+2:i+k]) {
					q := "{0" + p[i+1:i+k+1]
					emit2(q)
					net.WriteString(q)
					i += k
					continue
				}
			}
			emit2("{")
			net.WriteByte('{')
		case '|':
			if len(stack) > 0 && stack[len(stack)-1].kind == 'c' && !stack[len(stack)-1].sawBar && dropDepth == 0 {
				g := &stack[len(stack)-1]
				g.sawBar = true
				name := fmt.Sprintf("__c%dn", g.cond)
				checks[g.cond].no = name
				emit2(")|(?P<" + name + ">")
				net.WriteByte('|')
				continue
			}
			emit2("|")
			net.WriteByte('|')
		case '(':
			rest := p[i:]
			if m := temperedRE.FindStringSubmatch(rest); m != nil && dropDepth == 0 {
				// (?:(?!LIT).)* — "any text without LIT": a capture whose
				// span is checked afterwards.
				slow("lookahead (?!")
				name := fmt.Sprintf("__t%d", len(checks))
				checks = append(checks, check{kind: checkTempered, group: name, lit: unescapeLiteral(m[1])})
				emit2("(?P<" + name + ">(?:.)" + m[2] + ")")
				net.WriteString(m[0])
				i += len(m[0]) - 1
				continue
			}
			switch {
			case strings.HasPrefix(rest, "(?P<"):
				stack = append(stack, grp{kind: 'n', checks: len(checks)})
				emit2("(?P<")
				net.WriteString("(?<")
				i += 3
			case strings.HasPrefix(rest, "(?P="):
				k, ok := closing(rest)
				if !ok {
					i = n
					continue
				}
				slow("backreference " + rest[:k+1])
				verifiable = false
				emit2(`(?s:.*?)`)
				net.WriteString(`\k<` + rest[4:k] + `>`)
				i += k
			case strings.HasPrefix(rest, "(?#"):
				k := strings.IndexByte(rest, ')')
				if k < 0 {
					i = n
					continue
				}
				i += k
			case strings.HasPrefix(rest, "(?="), strings.HasPrefix(rest, "(?!"),
				strings.HasPrefix(rest, "(?<="), strings.HasPrefix(rest, "(?<!"):
				behind := rest[2] == '<'
				op := rest[:3]
				if behind {
					op = rest[:4]
				}
				slow("lookaround " + op)
				g := grp{kind: 'l', checks: len(checks), lookIdx: -1}
				if dropDepth == 0 {
					name := fmt.Sprintf("__l%d", len(checks))
					kind := checkLookahead
					if behind {
						kind = checkLookbehind
					}
					checks = append(checks, check{kind: kind, neg: op[len(op)-1] == '!', group: name})
					g.lookIdx = len(checks) - 1
					re2.WriteString("(?P<" + name + ">)")
					look.Reset()
				} else {
					verifiable = false // nested lookarounds
				}
				stack = append(stack, g)
				dropDepth++
				net.WriteString(op)
				i += len(op) - 1
			case strings.HasPrefix(rest, "(?>"):
				slow("atomic group")
				verifiable = false
				stack = append(stack, grp{kind: 'n', checks: len(checks)})
				emit2("(?:")
				net.WriteString("(?>")
				i += 2
			case strings.HasPrefix(rest, "(?("):
				k, ok := closing(rest)
				if !ok {
					i = n
					continue
				}
				slow("conditional " + rest[:k+1])
				idx := len(checks)
				checks = append(checks, check{kind: checkCond, cond: rest[3:k], yes: fmt.Sprintf("__c%dy", idx)})
				stack = append(stack, grp{kind: 'c', checks: idx, cond: idx})
				if dropDepth > 0 {
					verifiable = false
				}
				// A named wrapper keeps the parser from merging it into an
				// enclosing alternation (conditional.go finds it by name).
				emit2("(?P<" + fmt.Sprintf("__c%d", idx) + ">(?P<" + checks[idx].yes + ">")
				net.WriteString(rest[:k+1])
				i += k
			case strings.HasPrefix(rest, "(?"):
				// Flags: (?i) (?i:...) (?aiLmsux-imsx:...). Go lacks a, L, u, x.
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
					slow("verbose flag (?x)")
					verifiable = false
				}
				if strings.ContainsRune(flags, 'L') {
					slow("locale flag (?L)")
					verifiable = false
				}
				if k < len(rest) && rest[k] == ':' {
					stack = append(stack, grp{kind: 'n', checks: len(checks)})
					if goFlags == "" || goFlags == "-" {
						emit2("(?:")
					} else {
						emit2("(?" + goFlags + ":")
					}
					net.WriteString("(?" + flags + ":")
					i += k
				} else if k < len(rest) && rest[k] == ')' {
					if goFlags != "" && goFlags != "-" {
						emit2("(?" + goFlags + ")")
					}
					fl := strings.Map(func(r rune) rune {
						if strings.ContainsRune("imsx-", r) {
							return r
						}
						return -1
					}, flags)
					if fl != "" {
						net.WriteString("(?" + fl + ")")
					}
					i += k
				} else {
					// Unknown extension: pass through; the compilers report it.
					stack = append(stack, grp{kind: 'n', checks: len(checks)})
					emit2("(")
					net.WriteByte('(')
				}
			default:
				stack = append(stack, grp{kind: 'n', checks: len(checks)})
				emit2("(")
				net.WriteByte('(')
			}
		case ')':
			net.WriteByte(')')
			if len(stack) == 0 {
				emit2(")")
				continue
			}
			g := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			switch g.kind {
			case 'l':
				dropDepth--
				if g.lookIdx >= 0 {
					checks[g.lookIdx].expr = look.String()
				}
				// A quantifier on a dropped lookaround would dangle: drop it too.
				if i+1 < n && strings.IndexByte("*+?{", p[i+1]) >= 0 {
					j := i + 1
					if p[j] == '{' {
						if k := strings.IndexByte(p[j:], '}'); k > 0 {
							j += k
						}
					}
					if j+1 < n && p[j+1] == '?' {
						j++
					}
					net.WriteString(p[i+1 : j+1])
					i = j
				}
				continue
			case 'c':
				if g.sawBar {
					emit2("))")
				} else {
					// (?(g)A) has an implicit empty "no" branch.
					name := fmt.Sprintf("__c%de", g.cond)
					checks[g.cond].empty = name
					emit2(")|(?P<" + name + ">))")
				}
			default:
				emit2(")")
			}
			// Checks inside a group that repeats see only the last
			// repetition's captures: they cannot confirm a match.
			if repeats(p, i+1) && len(checks) > g.checks {
				verifiable = false
			}
		default:
			emit2(string(c))
			net.WriteByte(c)
		}
	}
	if dropDepth != 0 || len(stack) != 0 {
		verifiable = false
	}
	return translation{re2: re2.String(), exact: exact, dotnet: net.String(), why: why, checks: checks, verifiable: verifiable && !exact}
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
