package date

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// yearRE is the regex for %ExY. Fail2ban builds it from the current date (the
// decades from 2000 up to now+3 years); a fixed 2000-2099 keeps Compile pure.
const yearRE = `(?P<Y>20\d\d)`

// directive is one strptime-style %-code: its regex (Python syntax, with the
// named groups fields.fill reads) and the short name used in template names.
type directive struct {
	code, re, name string
}

// directives returns the %-codes a datepattern may use, longest first so that
// %ExY wins over %E.
func directives() []directive {
	return []directive{
		{"ExZ", `(?P<Z>[A-Z](?:[A-Z]{2,4})?)`, "ExZone name"},
		{"Exz", `(?P<z>(?:[A-Z](?:[A-Z]{2,4})?)?[+-][01]\d(?::?\d{2})?|[A-Z](?:[A-Z]{2,4})?)`, "ExZone offset"},
		{"Exd", `(?P<d>[1-2]\d|0[1-9]|3[0-1])`, "ExDay"},
		{"Exm", `(?P<m>0[1-9]|1[0-2])`, "ExMonth"},
		{"ExH", `(?P<H>[0-1]\d|2[0-3])`, "Ex24hour"},
		{"Exk", ` ?(?P<H>[0-1]?\d|2[0-3])`, "Ex%k"},
		{"Exl", ` ?(?P<I>1[0-2]|\d)`, "Ex%l"},
		{"ExM", `(?P<M>[0-5]\d)`, "ExMinute"},
		{"ExS", `(?P<S>[0-5]\d|6[0-1])`, "ExSecond"},
		{"ExY", yearRE, "ExYear"},
		{"Exy", `(?P<y>\d{2})`, "ExYear2"},
		{"%", `%`, "%"},
		{"a", `(?P<a>mon|tue|wed|thu|fri|sat|sun)`, "DAY"},
		{"A", `(?P<A>wednesday|thursday|saturday|tuesday|monday|friday|sunday)`, "DAYNAME"},
		{"b", `(?P<b>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)`, "MON"},
		{"B", `(?P<B>september|february|november|december|january|october|august|march|april|june|july|may)`, "MONTH"},
		{"c", `(?P<a>mon|tue|wed|thu|fri|sat|sun)\s+(?P<b>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)\s+(?P<d>3[0-1]|[1-2]\d|0[1-9]|[1-9]| [1-9])\s+(?P<H>2[0-3]|[0-1]\d|\d):(?P<M>[0-5]\d|\d):(?P<S>6[0-1]|[0-5]\d|\d)\s+(?P<Y>\d\d\d\d)`, "%c"},
		{"d", `(?P<d>[1-2]\d|[0 ]?[1-9]|3[0-1])`, "Day"},
		{"e", `(?P<d>[1-2]\d|[0 ]?[1-9]|3[0-1])`, "Day"}, // rampart: strftime's space-padded day, as %d
		{"f", `(?P<f>[0-9]{1,6})`, "Microseconds"},
		{"G", `(?P<G>\d\d\d\d)`, "%G"},
		{"H", `(?P<H>[0-1]?\d|2[0-3])`, "24hour"},
		{"I", `(?P<I>1[0-2]|0[1-9]|[1-9])`, "12hour"},
		{"j", `(?P<j>36[0-6]|3[0-5]\d|[1-2]\d\d|0[1-9]\d|00[1-9]|[1-9]\d|0[1-9]|[1-9])`, "Yearday"},
		{"k", ` ?(?P<H>[0-2]?\d)`, "%k"},
		{"l", ` ?(?P<I>1?\d)`, "%l"},
		{"m", `(?P<m>0?[1-9]|1[0-2])`, "Month"},
		{"M", `(?P<M>[0-5]?\d)`, "Minute"},
		{"p", `(?P<p>am|pm)`, "AMPM"},
		{"s", `(?P<s>\d{1,12})`, "Epoch"}, // rampart: seconds since 1970
		{"S", `(?P<S>[0-5]?\d|6[0-1])`, "Second"},
		{"u", `(?P<u>[1-7])`, "%u"},
		{"U", `(?P<U>5[0-3]|[0-4]\d|\d)`, "Yearweek"},
		{"V", `(?P<V>5[0-3]|0[1-9]|[1-4]\d|\d)`, "%V"},
		{"w", `(?P<w>[0-6])`, "Weekday"},
		{"W", `(?P<W>5[0-3]|[0-4]\d|\d)`, "Yearweek"},
		{"x", `(?P<m>1[0-2]|0[1-9]|[1-9])/(?P<d>3[0-1]|[1-2]\d|0[1-9]|[1-9]| [1-9])/(?P<y>\d\d)`, "%x"},
		{"X", `(?P<H>2[0-3]|[0-1]\d|\d):(?P<M>[0-5]\d|\d):(?P<S>6[0-1]|[0-5]\d|\d)`, "%X"},
		{"y", `(?P<y>\d\d)`, "Year2"},
		{"Y", `(?P<Y>\d{4})`, "Year"},
		{"z", `(?P<z>Z|UTC|GMT|[+-][01]\d(?::?\d{2})?)`, "Zone offset"},
		{"Z", `(?P<Z>Z|[A-Z]{3,5})`, "Zone name"},
	}
}

// expand replaces the %-codes of a datepattern by their regexes. It returns
// the regex, the template name (codes replaced by readable names) and whether
// a name code (%a %A %b %B %p %c) asks for case-insensitive matching.
func expand(pattern string) (re, name string, fold bool, err error) {
	dirs := directives()
	var rb, nb strings.Builder
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		if c != '%' {
			rb.WriteByte(c)
			nb.WriteByte(c)
			continue
		}
		rest := pattern[i+1:]
		found := false
		for _, d := range dirs {
			if strings.HasPrefix(rest, d.code) {
				rb.WriteString(d.re)
				nb.WriteString(d.name)
				i += len(d.code)
				found = true
				switch d.code {
				case "a", "A", "b", "B", "p", "c":
					fold = true
				}
				break
			}
		}
		if !found {
			if rest == "" {
				return "", "", false, fmt.Errorf("date pattern %q: lone %% at the end (write %%%% for a literal %%)", pattern)
			}
			return "", "", false, fmt.Errorf("date pattern %q: unknown directive %%%s at offset %d", pattern, firstRune(rest), i)
		}
	}
	return rb.String(), nb.String(), fold, nil
}

func firstRune(s string) string {
	for _, r := range s {
		return string(r)
	}
	return ""
}

// Boundary modes for bound.
const (
	boundNone  = iota // {UNB}: no checks
	boundWord         // the date starts at a word boundary
	boundStart        // {^LN-BEG}: the date starts the line, after at most 2 non-word characters
)

// Template flags, as in Fail2ban.
const (
	flagLineBegin = 8
	flagLineEnd   = 4
	flagWordBegin = 2
	flagWordEnd   = 1
)

// bound adds Fail2ban's boundary checks to a Python-syntax date regex: a
// capture group around the date if it has none, a word (or line-start) check
// in front and a word check behind, unless the regex is anchored there or
// marked with ** (no boundary). It returns the regex and its flags.
func bound(regex string, begin int, end bool) (string, int) {
	regex = strings.TrimSpace(regex)
	gf := ""
	if loc := globalFlagsRE().FindStringIndex(regex); loc != nil {
		gf = regex[loc[0]:loc[1]]
		regex = regex[:loc[0]] + regex[loc[1]:]
	}
	boundBegin := begin != boundNone && !noWordBoundBegRE().MatchString(regex)
	boundEnd := end && !noWordBoundEnd(regex)
	if !hasPlainGroup(regex) {
		regex = groupRE().ReplaceAllString(regex, "${1}(${2})${3}")
	}
	flags := 0
	if boundBegin {
		if begin == boundStart {
			flags |= flagLineBegin
			regex = `^(?:\W{0,2})?` + regex
		} else {
			flags |= flagWordBegin
			regex = `(?=^|\b|\W)` + regex
		}
	}
	if boundEnd {
		flags |= flagWordEnd
		regex += `(?=\b|\W|$)`
	}
	if flags&flagLineBegin == 0 && lineBoundBeg(regex) {
		flags |= flagLineBegin
	}
	if lineBoundEnd(regex) {
		flags |= flagLineEnd
	}
	regex = delWordBounds(regex)
	return gf + regex, flags
}

// The regexes that take patterns apart are compiled once, on first use
// (every template needs them; compiling them per call cost a third of
// building the default templates at each start).
var (
	globalFlagsRE    = onceRE(`\(\?[a-z]+\)`)
	noWordBoundBegRE = onceRE(`^\(*(?:\(\?\w+\))?(?:\^|\(*\*\*|\((?:\?:)?\^)`)
	groupRE          = onceRE(`^((?:\(\?\w+\))?\^?(?:\(\?\w+\))?)(.*?)(\$?)$`)
	leadingFlagsRE   = onceRE(`^\(\?\w+\)`)
	leadingBoundRE   = onceRE(`^\(*(?:\(\?\w+\))?\(*\*\*`)
	trailingBoundRE  = onceRE(`\*\*\)*$`)
)

// onceRE returns a function that compiles expr on its first call and then
// returns that (immutable, concurrency-safe) regexp.
func onceRE(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

// noWordBoundEnd reports whether the regex ends with $, \b, \s or ** (then
// Fail2ban adds no word check at the end).
//
// The endings are "$", "$)", `\b`, `\s` and "**" followed by every ')' the
// regex ends with, each not itself escaped.
func noWordBoundEnd(regex string) bool {
	n := len(regex)
	at := func(i int) bool { return i == 0 || regex[i-1] != '\\' }
	switch {
	case strings.HasSuffix(regex, "$") && at(n-1),
		strings.HasSuffix(regex, "$)") && at(n-2),
		(strings.HasSuffix(regex, `\b`) || strings.HasSuffix(regex, `\s`)) && at(n-2):
		return true
	}
	k := strings.TrimRight(regex, ")")
	return strings.HasSuffix(k, "**") && at(len(k)-2)
}

// hasPlainGroup reports whether the regex has an unnamed capture group.
func hasPlainGroup(regex string) bool {
	for i := 0; i < len(regex); i++ {
		if regex[i] != '(' {
			continue
		}
		if i > 0 && regex[i-1] == '\\' {
			continue
		}
		if i >= 2 && regex[i-2:i] == "(?" {
			continue
		}
		if i+1 < len(regex) && regex[i+1] == '?' {
			continue
		}
		return true
	}
	return false
}

func lineBoundBeg(regex string) bool {
	try := func(s string) bool {
		if strings.HasPrefix(s, "^") {
			return true
		}
		for _, p := range []string{"(^", "(?:^"} {
			if strings.HasPrefix(s, p) && !strings.HasPrefix(s[len(p):], "|") {
				return true
			}
		}
		return false
	}
	if try(regex) {
		return true
	}
	if loc := leadingFlagsRE().FindStringIndex(regex); loc != nil {
		return try(regex[loc[1]:])
	}
	return false
}

func lineBoundEnd(regex string) bool {
	s := strings.TrimSuffix(regex, ")")
	if s == regex && !strings.HasSuffix(s, "$") {
		return false
	}
	if !strings.HasSuffix(s, "$") {
		return false
	}
	i := len(s) - 1
	return i == 0 || (s[i-1] != '\\' && s[i-1] != '|')
}

// delWordBounds removes the ** markers at the start and the end.
func delWordBounds(regex string) string {
	if loc := leadingBoundRE().FindStringIndex(regex); loc != nil {
		regex = regex[:loc[1]-2] + regex[loc[1]:]
	}
	if loc := trailingBoundRE().FindStringIndex(regex); loc != nil && (loc[0] == 0 || regex[loc[0]-1] != '\\') {
		regex = regex[:loc[0]] + regex[loc[0]+2:]
	}
	return regex
}

// unbound strips the markers and boundary checks of a pattern or regex, for
// putting it inside another pattern at {DATE}.
func unbound(p string) string {
	p = strings.TrimPrefix(p, "{UNB}")
	p = strings.TrimPrefix(p, "{^LN-BEG}")
	for _, pre := range []string{`(^|\b|\W)`, `(?:^|\b|\W)`} {
		p = strings.TrimPrefix(p, pre)
	}
	return strings.TrimSuffix(p, `(?=\b|\W|$)`)
}
