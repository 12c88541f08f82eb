package filter

import (
	"regexp/syntax"
	"strconv"
	"strings"
	"unicode"
)

// reString is re.String() without its cost on large character classes.
//
// Since Go 1.22 syntax.Regexp.String works out which flags to print by
// testing, for every rune of every character class, whether its case folds
// stay inside the class: for a class such as \S or [^\]] that is about
// 120,000 unicode.SimpleFold calls, 10 ms per class, and Fail2ban's
// sshd.conf printed that way took 100 ms to compile. The answer of that test
// only matters when the tree holds a case-folded literal (it decides where
// a (?i: span may end); without one, classes are swapped for placeholder
// literals that the flag pass finds neutral at no cost, the tree is printed
// by the standard String, and the placeholders are replaced by the
// classes' text. The result is byte for byte what String returns (the
// tests compare them); trees with a case-folded literal, or with a rune in
// the placeholder range, are printed by String as they are.
func reString(re *syntax.Regexp) string {
	var classes []*syntax.Regexp
	if !placeholderSafe(re, &classes) || len(classes) == 0 || len(classes) > placeholderCount {
		return re.String()
	}
	index := map[*syntax.Regexp]rune{}
	for i, c := range classes {
		index[c] = placeholderBase + rune(i)
	}
	s := withPlaceholders(re, index).String()
	pairs := make([]string, 0, 2*len(classes))
	for i, c := range classes {
		pairs = append(pairs, `\x{`+strconv.FormatInt(int64(placeholderBase+rune(i)), 16)+`}`, classString(c.Rune))
	}
	return strings.NewReplacer(pairs...).Replace(s)
}

// Placeholders are runes of plane 15 (private use): not printable, so
// String writes them as \x{fXXXX}, which no other node prints (a literal
// backslash is written \\ and braces \{ \}).
const (
	placeholderBase  = 0xF0000
	placeholderCount = 0xFFFE
)

// placeholderSafe collects the character classes of re and reports whether
// swapping them for placeholders leaves String's output unchanged: no
// literal is case-folded (only those make the classes' fold test matter)
// and no literal uses a placeholder rune.
func placeholderSafe(re *syntax.Regexp, classes *[]*syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpLiteral:
		for _, r := range re.Rune {
			if r >= placeholderBase && r < placeholderBase+placeholderCount {
				return false
			}
			if re.Flags&syntax.FoldCase != 0 && unicode.SimpleFold(r) != r {
				return false
			}
		}
	case syntax.OpCharClass:
		if len(re.Rune)%2 != 0 {
			return false // String prints these specially
		}
		*classes = append(*classes, re)
	}
	for _, s := range re.Sub {
		if !placeholderSafe(s, classes) {
			return false
		}
	}
	return true
}

// withPlaceholders copies re with each class in index replaced by a
// one-rune literal; re is not modified.
func withPlaceholders(re *syntax.Regexp, index map[*syntax.Regexp]rune) *syntax.Regexp {
	if r, ok := index[re]; ok {
		return &syntax.Regexp{Op: syntax.OpLiteral, Rune: []rune{r}}
	}
	if len(re.Sub) == 0 {
		return re
	}
	c := *re
	c.Sub = make([]*syntax.Regexp, len(re.Sub))
	for i, s := range re.Sub {
		c.Sub[i] = withPlaceholders(s, index)
	}
	c.Sub0 = [1]*syntax.Regexp{}
	return &c
}

// classString writes a character class (sorted, merged ranges) in Perl
// syntax the way syntax.Regexp.String does.
func classString(r []rune) string {
	var b strings.Builder
	b.WriteByte('[')
	switch {
	case len(r) == 0:
		b.WriteString(`^\x00-\x{10FFFF}`)
	case r[0] == 0 && r[len(r)-1] == unicode.MaxRune && len(r) > 2:
		// A negated class: print the gaps.
		b.WriteByte('^')
		for i := 1; i < len(r)-1; i += 2 {
			writeRange(&b, r[i]+1, r[i+1]-1)
		}
	default:
		for i := 0; i < len(r); i += 2 {
			writeRange(&b, r[i], r[i+1])
		}
	}
	b.WriteByte(']')
	return b.String()
}

func writeRange(b *strings.Builder, lo, hi rune) {
	escapeRune(b, lo, lo == '-')
	if lo != hi {
		if hi != lo+1 {
			b.WriteByte('-')
		}
		escapeRune(b, hi, hi == '-')
	}
}

// escapeRune writes r as regexp/syntax prints a rune.
func escapeRune(b *strings.Builder, r rune, force bool) {
	if unicode.IsPrint(r) {
		if strings.ContainsRune(`\.+*?()|[]{}^$`, r) || force {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
		return
	}
	switch r {
	case '\a':
		b.WriteString(`\a`)
	case '\f':
		b.WriteString(`\f`)
	case '\n':
		b.WriteString(`\n`)
	case '\r':
		b.WriteString(`\r`)
	case '\t':
		b.WriteString(`\t`)
	case '\v':
		b.WriteString(`\v`)
	default:
		s := strconv.FormatInt(int64(r), 16)
		if r < 0x100 {
			b.WriteString(`\x`)
			if len(s) == 1 {
				b.WriteByte('0')
			}
			b.WriteString(s)
			return
		}
		b.WriteString(`\x{` + s + `}`)
	}
}
