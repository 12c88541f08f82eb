package filter

import (
	"fmt"
	"strings"
)

// translation is a Python-flavoured regex rewritten for Go.
type translation struct {
	// re2 is Go RE2 syntax. When exact is false it is a superset of the
	// original (lookarounds dropped, conditionals turned into alternations,
	// backreferences into .*?): a line it does not match cannot match the
	// original, so it serves as a fast pre-check for the slow path.
	re2   string
	exact bool
	// dotnet is the pattern in the syntax of the backtracking engine
	// (regexp2), used only when exact is false.
	dotnet string
	// why names the first construct RE2 cannot express, for the load report.
	why string
}

// translate rewrites a Python `re` pattern (as Fail2ban writes them, tags
// already expanded) for Go. It never fails; a pattern neither engine accepts
// is reported when compiled.
func translate(p string) translation {
	var re2, net strings.Builder
	exact := true
	why := ""
	slow := func(reason string) {
		if exact {
			why = reason
		}
		exact = false
	}
	// depth-tracking of constructs we rewrite in re2 only.
	type grp struct{ kind byte } // 'n' normal, 'l' lookaround (dropped), 'c' conditional
	var stack []grp
	dropDepth := 0 // >0 while inside a lookaround being dropped from re2
	emit2 := func(s string) {
		if dropDepth == 0 {
			re2.WriteString(s)
		}
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
			case d == '<' || d == '>' || d == '\'' || d == '"' || d == '/' || d == ',' || d == '@' || d == '%' || d == '=' || d == ':' || d == '#' || d == '!' || d == '&' || d == '~' || d == '`' || d == ';' || d == '_':
				if d == '_' {
					emit2(`_`)
				} else {
					emit2(`\` + string(d))
				}
				net.WriteByte('\\')
				net.WriteByte(d)
			default:
				emit2(`\` + string(d))
				net.WriteByte('\\')
				net.WriteByte(d)
			}
		case '[':
			j := classEnd(p, i)
			cls := p[i:j]
			emit2(translateClass(cls))
			net.WriteString(cls)
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
		case '(':
			rest := p[i:]
			switch {
			case strings.HasPrefix(rest, "(?P<"):
				stack = append(stack, grp{'n'})
				emit2("(?P<")
				net.WriteString("(?<")
				i += 3
			case strings.HasPrefix(rest, "(?P="):
				k := strings.IndexByte(rest, ')')
				if k < 0 {
					emit2(rest)
					net.WriteString(rest)
					i = n
					continue
				}
				slow("backreference " + rest[:k+1])
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
			case strings.HasPrefix(rest, "(?="), strings.HasPrefix(rest, "(?!"):
				slow("lookahead " + rest[:3])
				stack = append(stack, grp{'l'})
				dropDepth++
				net.WriteString(rest[:3])
				i += 2
			case strings.HasPrefix(rest, "(?<="), strings.HasPrefix(rest, "(?<!"):
				slow("lookbehind " + rest[:4])
				stack = append(stack, grp{'l'})
				dropDepth++
				net.WriteString(rest[:4])
				i += 3
			case strings.HasPrefix(rest, "(?>"):
				slow("atomic group")
				stack = append(stack, grp{'n'})
				emit2("(?:")
				net.WriteString("(?>")
				i += 2
			case strings.HasPrefix(rest, "(?("):
				k := strings.IndexByte(rest, ')')
				if k < 0 {
					emit2(rest)
					net.WriteString(rest)
					i = n
					continue
				}
				slow("conditional " + rest[:k+1])
				stack = append(stack, grp{'c'})
				emit2("(?:")
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
				}
				if strings.ContainsRune(flags, 'L') {
					slow("locale flag (?L)")
				}
				if k < len(rest) && rest[k] == ':' {
					stack = append(stack, grp{'n'})
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
					stack = append(stack, grp{'n'})
					emit2("(")
					net.WriteByte('(')
				}
			default:
				stack = append(stack, grp{'n'})
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
			if g.kind == 'l' {
				dropDepth--
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
			}
			if g.kind == 'c' {
				// (?(g)A) has an implicit empty "no" branch.
				emit2("|)")
				continue
			}
			emit2(")")
		default:
			emit2(string(c))
			net.WriteByte(c)
		}
	}
	return translation{re2: re2.String(), exact: exact, dotnet: net.String(), why: why}
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
