package date

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// Detector finds and parses the date in log lines with a list of date
// templates. It is immutable once built and safe for concurrent use; the
// per-stream adaptive state lives in State.
type Detector struct {
	templates []*template
}

// Match is a date found in a line.
type Match struct {
	// Time is the instant the date stands for. For an empty span (the {NONE}
	// template, or a pattern whose date group matched nothing) it is now:
	// Fail2ban then reuses the previous line's date if it is less than 60 s
	// old, which is up to the caller.
	Time time.Time
	// Start and End are the byte offsets of the date text in the line.
	// Fail2ban removes this text before the failure regexes run.
	Start, End int
	// Template is the index of the template that matched; see TemplateName.
	Template int
}

// Default returns a detector with Fail2ban's default templates: each of its 17
// date formats once anchored at the line begin (preferred) and once anywhere
// in the line, 31 templates in all. It is what a filter without a datepattern
// uses.
func Default() *Detector {
	d, err := buildDefault(nil)
	if err != nil {
		panic("date: default templates do not compile: " + err.Error())
	}
	return d
}

// defaults returns the default templates: the anchored copies first, then
// the originals. They are built once per process: templates are immutable, so
// every detector shares them (as Fail2ban shares its template cache).
var defaults = sync.OnceValues(buildDefaults)

func buildDefaults() ([]built, error) {
	var anchored, plain []built
	for _, dt := range defaultPatterns() {
		b, err := patternTemplate(dt.pattern)
		if err != nil {
			return nil, err
		}
		name := b.t.name
		if !strings.HasPrefix(name, "{^LN-BEG}") && !strings.HasPrefix(name, "^") {
			a, err := anchoredCopy(b)
			if err != nil {
				return nil, err
			}
			if a.t.name != name {
				a.t.weight = 100
				a.t.first = newByteSet(dt.first)
				anchored = append(anchored, a)
			}
		} else if b.t.flags&flagLineBegin != 0 {
			b.t.first = newByteSet(dt.first)
		}
		plain = append(plain, b)
	}
	return append(anchored, plain...), nil
}

func buildDefault(keep func(*template) bool) (*Detector, error) {
	all, err := defaults()
	if err != nil {
		return nil, err
	}
	d := &Detector{}
	for _, b := range all {
		if keep == nil || keep(b.t) {
			d.templates = append(d.templates, b.t)
		}
	}
	return d, nil
}

// Compile builds a detector from a Fail2ban datepattern value: one or more
// patterns separated by newlines, each tried in turn. A pattern is regex text
// with strptime-like %-codes (%Y %y %m %d %e %H %I %M %S %f %p %z %Z %b %B %a
// %A %j %s, the exact two-digit %Ex forms, %% for a percent sign) and these
// markers:
//
//	{^LN-BEG}     the date starts the line (after at most two non-word characters);
//	              alone, the default templates anchored that way
//	{UNB}         no word-boundary checks around the date
//	**            no word-boundary check at that end (at the start or end of the pattern)
//	{DATE}        the default templates inserted at that spot: ^<\d+>\d+\s+{DATE}
//	{DEFAULT}     all default templates
//	{NONE}        the line has no date: every line matches with an empty span
//	EPOCH LEPOCH  Unix time in seconds (LEPOCH also milli- or microseconds);
//	              {EPOCH} or {LEPOCH} inside a pattern stand for the number
//	TAI64N        a TAI64N label @4000000041f4104f00000000
//
// An empty value gives Default(). The error says which pattern is wrong and
// why; the caller adds the file and line.
func Compile(datepattern string) (*Detector, error) {
	var lines []string
	for l := range strings.SplitSeq(datepattern, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return Default(), nil
	}
	d := &Detector{}
	names := map[string]bool{}
	add := func(t *template, ignoreDup bool) error {
		if names[t.name] {
			if ignoreDup {
				return nil
			}
			return fmt.Errorf("date pattern %q: a template named %q is already in the list", t.name, t.name)
		}
		names[t.name] = true
		d.templates = append(d.templates, t)
		return nil
	}
	for _, p := range lines {
		key := p
		if !strings.Contains(p, "%") {
			key = strings.ToUpper(p)
		}
		switch {
		case key == "{^LN-BEG}" || key == "{DEFAULT}":
			all, err := defaults()
			if err != nil {
				return nil, err
			}
			ignoreDup := len(d.templates) > 0
			for _, b := range all {
				if key == "{^LN-BEG}" && b.t.flags&flagLineBegin == 0 {
					continue
				}
				if err := add(b.t, ignoreDup); err != nil {
					return nil, err
				}
			}
		case len(replaceDate(p, "")) != len(p):
			all, err := defaults()
			if err != nil {
				return nil, err
			}
			ignoreDup := len(d.templates) > 0
			for _, b := range all[len(all)-len(defaultPatterns()):] {
				w, err := withPrematch(b, p)
				if err == nil {
					err = w.t.load() // the prematch is the filter's own text
				}
				if err != nil {
					return nil, fmt.Errorf("date pattern %q: %w", p, err)
				}
				if err := add(w.t, ignoreDup); err != nil {
					return nil, err
				}
			}
		case key == "{NONE}":
			b, err := regexTemplate("{UNB}^", kindFields, "{NONE}")
			if err != nil {
				return nil, err
			}
			if err := add(b.t, false); err != nil {
				return nil, err
			}
		default:
			b, err := patternTemplate(p)
			if err == nil {
				err = b.t.load() // the filter's own pattern: its errors are load errors
			}
			if err != nil {
				if !strings.HasPrefix(err.Error(), "date pattern") {
					err = fmt.Errorf("date pattern %q: %w", p, err)
				}
				return nil, err
			}
			if err := add(b.t, false); err != nil {
				return nil, err
			}
		}
	}
	return d, nil
}

// Len returns the number of templates.
func (d *Detector) Len() int { return len(d.templates) }

// TemplateName returns the name of template i in Fail2ban's notation
// ("{^LN-BEG}ExYear(?P<_sep>[-/.])Month(?P=_sep)Day..."), for reports such
// as the date-template hits of `rampart filter test`.
func (d *Detector) TemplateName(i int) string {
	if i < 0 || i >= len(d.templates) {
		return ""
	}
	return d.templates[i].name
}

// Find looks for a date in line, using and updating st, the state of the
// stream the line comes from (one State per log file or source; the zero
// value is ready). now is the current time, used for dates without a year
// or day; loc is the zone of dates that carry none (nil: time.Local).
// Find does not allocate when the date matches a common template.
func (d *Detector) Find(line []byte, st *State, now time.Time, loc *time.Location) (Match, bool) {
	if loc == nil {
		loc = time.Local
	}
	if len(line) > maxLine {
		line = line[:maxLine]
	}
	st.bind(d)
	c := &st.ctx
	c.line, c.now, c.loc, c.st, c.runesOK = line, now, loc, st, false
	var r result
	i, ok := st.search(c, &r)
	c.line = nil
	if !ok {
		return Match{}, false
	}
	return Match{Time: time.Unix(r.unix, int64(r.nsec)), Start: r.start, End: r.end, Template: i}, true
}

// maxLine is how much of a line the date search looks at. Fail2ban has no
// limit; a date past the first 16 KiB of a line is not found here, which
// bounds the work on hostile lines (a few ms for the default templates).
const maxLine = 16 << 10
