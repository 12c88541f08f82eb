package date

import (
	"fmt"
	"strings"
)

// translation is a Python-syntax date regex rewritten for regexp2 (the .NET
// dialect), which, unlike Go's RE2, has the lookarounds, backreferences and
// conditionals Fail2ban's templates use.
type translation struct {
	re    string   // regexp2 syntax
	span  string   // name of the group that holds the date text (Python's group 1)
	names []string // all group names, in order
}

// translate rewrites Python regex syntax that regexp2 reads differently:
// (?P<name>...) and (?P=name), the u/a/L flags, \Z; and it names Python's
// group 1 (the first capture group, named or not) so its span can be read
// whatever number .NET gives it.
func translate(py string) (translation, error) {
	var b strings.Builder
	var tr translation
	seen := map[string]bool{}
	addName := func(n string) error {
		if seen[n] {
			return fmt.Errorf("group name %q defined twice", n)
		}
		seen[n] = true
		tr.names = append(tr.names, n)
		return nil
	}
	depth := 0
	for i := 0; i < len(py); i++ {
		c := py[i]
		switch c {
		case '\\':
			if i+1 >= len(py) {
				return tr, fmt.Errorf("trailing backslash")
			}
			if py[i+1] == 'Z' {
				b.WriteString(`\z`)
			} else {
				b.WriteByte(c)
				b.WriteByte(py[i+1])
			}
			i++
		case '[':
			j := classEnd(py, i)
			if j < 0 {
				return tr, fmt.Errorf("unterminated character set at offset %d", i)
			}
			b.WriteString(py[i : j+1])
			i = j
		case ')':
			depth--
			if depth < 0 {
				return tr, fmt.Errorf("unbalanced parenthesis at offset %d", i)
			}
			b.WriteByte(c)
		case '(':
			depth++
			rest := py[i+1:]
			switch {
			case strings.HasPrefix(rest, "?P<"):
				end := strings.IndexByte(rest, '>')
				if end < 0 {
					return tr, fmt.Errorf("unterminated group name at offset %d", i)
				}
				name := rest[3:end]
				if !validName(name) {
					return tr, fmt.Errorf("bad group name %q", name)
				}
				if err := addName(name); err != nil {
					return tr, err
				}
				if tr.span == "" {
					tr.span = name
				}
				b.WriteString("(?<" + name + ">")
				i += end + 1
			case strings.HasPrefix(rest, "?P="):
				end := strings.IndexByte(rest, ')')
				if end < 0 {
					return tr, fmt.Errorf("unterminated backreference at offset %d", i)
				}
				name := rest[3:end]
				if !seen[name] {
					return tr, fmt.Errorf("backreference to unknown group %q", name)
				}
				b.WriteString(`\k<` + name + ">")
				i += end + 1
				depth--
			case strings.HasPrefix(rest, "?") && len(rest) > 1 && isFlag(rest[1]):
				// (?flags) or (?flags:...): drop the flags .NET does not know.
				j := 1
				for j < len(rest) && (isFlag(rest[j]) || rest[j] == '-') {
					j++
				}
				if j >= len(rest) || (rest[j] != ')' && rest[j] != ':') {
					return tr, fmt.Errorf("bad inline flags at offset %d", i)
				}
				var kept strings.Builder
				for _, f := range rest[1:j] {
					if f != 'u' && f != 'a' && f != 'L' {
						kept.WriteRune(f)
					}
				}
				k := strings.Trim(kept.String(), "-")
				if rest[j] == ')' {
					depth--
					if k != "" {
						b.WriteString("(?" + k + ")")
					}
				} else if k == "" {
					b.WriteString("(?:")
				} else {
					b.WriteString("(?" + k + ":")
				}
				i += j + 1
			case strings.HasPrefix(rest, "?"):
				b.WriteByte(c)
			default:
				if tr.span == "" {
					tr.span = "_date"
					if err := addName(tr.span); err != nil {
						return tr, err
					}
					b.WriteString("(?<_date>")
				} else {
					b.WriteByte(c)
				}
			}
		default:
			b.WriteByte(c)
		}
	}
	if depth != 0 {
		return tr, fmt.Errorf("missing ), unterminated group")
	}
	tr.re = b.String()
	return tr, nil
}

func isFlag(c byte) bool { return strings.IndexByte("aiLmsux", c) >= 0 }

func validName(n string) bool {
	if n == "" {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && isDigit(c)) {
			return false
		}
	}
	return true
}

// classEnd returns the index of the ] closing the set that opens at i.
func classEnd(s string, i int) int {
	j := i + 1
	if j < len(s) && s[j] == '^' {
		j++
	}
	if j < len(s) && s[j] == ']' {
		j++
	}
	for ; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case ']':
			return j
		}
	}
	return -1
}
