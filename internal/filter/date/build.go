package date

import (
	"fmt"
	"strings"
)

// defaultTemplate is one of Fail2ban's default date templates, with the
// bytes its date can start with (for a cheap test before the regex).
type defaultTemplate struct {
	pattern string
	first   string
}

const (
	digits  = "0123456789"
	letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)

// defaultPatterns are Fail2ban's default date templates, in its order.
func defaultPatterns() []defaultTemplate {
	return []defaultTemplate{
		// ISO 8601 and the like: 2005-01-23T21:59:59.981746+01:00, 2005/01/23 21:59:59, 2006.12.21 06:43:20
		{`%ExY(?P<_sep>[-/.])%m(?P=_sep)%d(?:T|  ?)%H:%M:%S(?:[.,]%f)?(?:\s*%z)?`, "2"},
		// asctime/syslog: [Sun ]Jan 23 21:59:59[.011][ 2005]
		{`(?:%a )?%b %d %k:%M:%S(?:\.%f)?(?: %ExY)?`, letters},
		// Sun Jan 23 2005 21:59:59.011
		{`(?:%a )?%b %d %ExY %k:%M:%S(?:\.%f)?`, letters},
		// 23/01/2005 21:59:59, 23/01/05 21:59:59, 17-07-2008 17:23:25
		{`%d(?P<_sep>[-/])%m(?P=_sep)(?:%ExY|%Exy) %k:%M:%S`, digits + " "},
		// Apache [31/Oct/2006:09:22:55 -0000], 26-Jul-2007 15:20:52[.252][ +0200]
		{`%d(?P<_sep>[-/])%b(?P=_sep)%ExY[ :]?%H:%M:%S(?:\.%f)?(?: %z)?`, digits + " "},
		// CPanel 05/20/2008:01:57:39
		{`%m/%d/%ExY:%H:%M:%S`, digits},
		// 01-27-2012 16:22:44.252
		{`%m-%d-%ExY %k:%M:%S(?:\.%f)?`, digits},
		{`EPOCH`, digits},
		// time only
		{`{^LN-BEG}%H:%M:%S`, digits},
		// <09/16/08@05:03:30>
		{`^<%m/%d/%Exy@%H:%M:%S>`, "<"},
		// MySQL 130322 11:46:11
		{`%Exy%Exm%Exd  ?%H:%M:%S`, digits},
		// Apache Tomcat Jan 23, 2005 9:59:59 PM
		{`%b %d, %ExY %I:%M:%S %p`, letters},
		// ASSP Apr-27-13 02:33:06
		{`^%b-%d-%Exy %k:%M:%S`, letters},
		// 20050123T215959, 20050123 215959
		{`%ExY%Exm%Exd(?:T|  ?)%ExH%ExM%ExS(?:[.,]%f)?(?:\s*%z)?`, "2"},
		// monit: PDT Apr 16 21:05:29
		{`(?:%Z )?(?:%a )?%b %d %k:%M:%S(?:\.%f)?(?: %ExY)?`, letters},
		// +00:00 Jan 23 21:59:59.011 2005
		{`(?:%z )?(?:%a )?%b %d %k:%M:%S(?:\.%f)?(?: %ExY)?`, letters + "+-"},
		{`TAI64N`, "@"},
	}
}

// source remembers how a template was built, so that {^LN-BEG} and {DATE}
// can derive variants of it.
type source struct {
	pattern string // the datepattern text; "" for the special kinds
	kind    int
	regex   string // for the special kinds: the Python regex before bounds
}

type built struct {
	t   *template
	src source
}

const (
	epochRE     = `\d{10,11}\b(?:\.\d{3,6})?`
	longEpochRE = `\d{10,11}(?:\d{3}(?:\.\d{1,6}|\d{3})?)?`
)

var epochPatternRE = onceRE(`(?i)\{L?EPOCH\}`)

// patternTemplate builds the template for one datepattern line (Fail2ban's
// _getPatternTemplate): the special names EPOCH, LEPOCH and TAI64N (plain,
// ^-anchored or {^LN-BEG}-anchored), a pattern with {EPOCH} or {LEPOCH}
// inside, or a %-pattern.
func patternTemplate(pattern string) (built, error) {
	key := pattern
	if !strings.Contains(pattern, "%") {
		key = strings.ToUpper(pattern)
	}
	if strings.Contains(key, "EPOCH") {
		if loc := epochValueLoc(pattern); loc != nil {
			return epochPattern(pattern, strings.Contains(key, "LEPOCH"))
		}
		switch key {
		case "EPOCH", "{^LN-BEG}EPOCH", "^EPOCH":
			return epochTemplate(key != "EPOCH", false)
		case "LEPOCH", "{^LN-BEG}LEPOCH", "^LEPOCH":
			return epochTemplate(key != "LEPOCH", true)
		}
	}
	switch key {
	case "TAI64N", "{^LN-BEG}TAI64N", "^TAI64N":
		return taiTemplate(key != "TAI64N")
	}
	return regexTemplate(pattern, kindFields, "")
}

// epochValueLoc finds {EPOCH} or {LEPOCH} not preceded by a backslash.
func epochValueLoc(p string) []int {
	for _, loc := range epochPatternRE().FindAllStringIndex(p, -1) {
		if loc[0] == 0 || p[loc[0]-1] != '\\' {
			return loc
		}
	}
	return nil
}

func epochTemplate(lineBegin, long bool) (built, error) {
	num := epochRE
	name := "Epoch"
	kind := kindEpoch
	if long {
		num, name, kind = longEpochRE, "LongEpoch", kindLongEpoch
	}
	var regex string
	var flags int
	if !lineBegin {
		regex = `((?:^|(?P<square>(?<=^\[))|(?P<selinux>(?<=\baudit\()))(?P<_epoch>` + num +
			`))(?:(?(selinux)(?=:\d+\)))|(?(square)(?=\])))`
		regex, flags = bound(regex, boundNone, true)
	} else {
		regex = `((?P<square>(?<=^\[))?(?P<_epoch>` + num + `))(?(square)(?=\]))`
		regex, flags = bound(regex, boundStart, true)
		name = "{^LN-BEG}" + name
	}
	t, err := newTemplate(name, regex, flags, kind)
	return built{t, source{kind: kind, regex: regex}}, err
}

func taiTemplate(lineBegin bool) (built, error) {
	begin, name := boundNone, "TAI64N"
	if lineBegin {
		begin, name = boundStart, "{^LN-BEG}TAI64N"
	}
	regex, flags := bound(`(?P<_epoch>@[0-9a-f]{24})`, begin, true)
	t, err := newTemplate(name, regex, flags, kindTAI64N)
	return built{t, source{kind: kindTAI64N, regex: regex}}, err
}

// epochPattern builds a template from a pattern with {EPOCH} or {LEPOCH}
// standing for the number.
func epochPattern(pattern string, long bool) (built, error) {
	num, kind := epochRE, kindEpoch
	if long {
		num, kind = longEpochRE, kindLongEpoch
	}
	loc := epochValueLoc(pattern)
	inner := pattern[:loc[0]] + `(?P<_epoch>` + num + `)` + pattern[loc[1]:]
	regex, flags := bound("("+inner+")", boundWord, true)
	t, err := newTemplate(pattern, regex, flags, kind)
	return built{t, source{kind: kind, regex: regex}}, err
}

// regexTemplate builds a template from a %-pattern (Fail2ban's
// DatePatternRegex). kind other than kindFields is used for {DATE} variants of
// the epoch and TAI64N templates.
func regexTemplate(pattern string, kind int, name string) (built, error) {
	p := pattern
	begin, end := boundWord, true
	if strings.HasPrefix(p, "{UNB}") {
		p = strings.TrimPrefix(p, "{UNB}")
		begin, end = boundNone, false
	}
	if begin != boundNone && strings.HasPrefix(p, "{^LN-BEG}") {
		p = strings.TrimPrefix(p, "{^LN-BEG}")
		begin = boundStart
	}
	re, pname, fold, err := expand(p)
	if err != nil {
		return built{}, err
	}
	if name == "" {
		name = pname
	}
	if fold {
		re = `(?iu)` + re
	}
	regex, flags := bound(re, begin, end)
	if begin == boundStart && flags&flagLineBegin != 0 && !strings.HasPrefix(name, "{^LN-BEG}") {
		name = "{^LN-BEG}" + name
	}
	t, err := newTemplate(name, regex, flags, kind)
	if err != nil {
		return built{}, fmt.Errorf("date pattern %q: %w", pattern, err)
	}
	if kind == kindFields {
		t.fast = fastFor(pattern)
	}
	return built{t, source{pattern: pattern, kind: kind}}, nil
}

// anchoredCopy returns the {^LN-BEG} variant of a default template.
func anchoredCopy(b built) (built, error) {
	if b.src.pattern == "" {
		switch b.src.kind {
		case kindTAI64N:
			return taiTemplate(true)
		default:
			return epochTemplate(true, b.src.kind == kindLongEpoch)
		}
	}
	return patternTemplate("{^LN-BEG}" + b.src.pattern)
}

// datePrematchRE finds {DATE} (any case) in a datepattern.
var datePrematchRE = onceRE(`(?i)\{DATE\}`)

// withPrematch returns the variant of a default template placed at {DATE}
// inside prematch.
func withPrematch(b built, prematch string) (built, error) {
	inner := b.src.pattern
	if inner == "" {
		inner = b.src.regex
	}
	inner = unbound(inner)
	wrapped := replaceDate(prematch, inner)
	name := replaceDate(prematch, b.t.name)
	if b.src.pattern == "" {
		// The epoch and TAI64N regexes hold no %-codes: escape the % of
		// their \d{10,11} etc. is not needed, only the prematch is expanded.
		return regexTemplate(wrapped, b.src.kind, name)
	}
	return regexTemplate(wrapped, kindFields, name)
}

func replaceDate(s, with string) string {
	re := datePrematchRE()
	var b strings.Builder
	last := 0
	for _, loc := range re.FindAllStringIndex(s, -1) {
		if loc[0] > 0 && s[loc[0]-1] == '\\' {
			continue
		}
		b.WriteString(s[last:loc[0]])
		b.WriteString(with)
		last = loc[1]
	}
	b.WriteString(s[last:])
	return b.String()
}
