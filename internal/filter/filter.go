// Package filter compiles filter definitions (rampart's own TOML format and
// Fail2ban's filter.d files, both reduced to a Definition) and matches log
// lines against them.
//
// A *Filter is immutable and safe for concurrent use; each log stream gets
// its own *Matcher, which holds the per-stream state Fail2ban keeps (the
// multi-line session cache, the maxlines buffer, the date template order).
// Match takes the line as a []byte it does not retain, so sources can pass
// their read buffers without copying.
package filter

import (
	"fmt"
	"strings"
	"time"

	"github.com/rampart-ids/rampart/internal/filter/date"
)

// Pattern is one regex with where it was defined.
type Pattern struct {
	Expr string
	File string
	Line int
}

// Where returns "file:line" (or what is known of it) for messages.
func (p Pattern) Where() string {
	switch {
	case p.File != "" && p.Line > 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	case p.File != "":
		return p.File
	}
	return "regex"
}

// Definition is a filter before compilation, whatever format it came from.
type Definition struct {
	Name         string
	Source       string // file it was read from, for messages
	PrefRegex    *Pattern
	FailRegex    []Pattern
	IgnoreRegex  []Pattern
	DatePattern  string // "" = default detection
	DateWhere    Pattern
	MaxLines     int
	JournalMatch string
	// Daemon is the program-name regex that <PREFIX> expects (rampart format).
	Daemon string
}

// Options tune compilation for a jail.
type Options struct {
	// UseDNS lets <HOST> match host names (reported unresolved in Result.Host).
	UseDNS bool
	// Location is the time zone of log times without a zone; nil = time.Local.
	Location *time.Location
	// Dates, when set, shares compiled date detectors between filters.
	Dates *date.Cache
	// NoVerify makes every pattern match whole, on the backtracking engine
	// when RE2 cannot express it: no superset checks, no head shortcuts.
	// Tests compare it with the fast paths.
	NoVerify bool
}

// Filter is a compiled definition.
type Filter struct {
	name string
	def  *Definition
	pref *rx
	fail []*rx
	// failOrder is every failregex index in order; byFirst, when set, the
	// ones whose prefilter lets a text starting with each byte through.
	failOrder []int
	byFirst   *[256][]int
	ignore    []*rx
	dates     *date.Detector
	noDate    bool
	maxLines  int
	loc       *time.Location
	prefix    *prefixSpec
}

// Compile builds a Filter. Errors name the file, line and pattern at fault.
func Compile(def *Definition, opts Options) (*Filter, error) {
	f := &Filter{name: def.Name, def: def, maxLines: def.MaxLines, loc: opts.Location}
	if f.loc == nil {
		f.loc = time.Local
	}
	if f.maxLines < 1 {
		f.maxLines = 1
	}
	if len(def.FailRegex) == 0 {
		return nil, fmt.Errorf("%s: filter %q has no failregex", def.Source, def.Name)
	}
	prefixRE := ""
	if def.Daemon != "" {
		f.prefix = &prefixSpec{}
		if err := f.prefix.compile(def.Daemon); err != nil {
			return nil, fmt.Errorf("%s: daemon %q: %v", def.Source, def.Daemon, err)
		}
		prefixRE = syslogPrefixRE(def.Daemon)
	}
	comp := func(p Pattern) (*rx, error) {
		expr, mode := p.Expr, prefixNone
		if f.prefix != nil {
			// A pattern that starts with the syslog prefix has it parsed by
			// hand (see prefix.go) and the rest matched by the engine.
			if rest, ok := strings.CutPrefix(expr, "^<F-MLFID><PREFIX></F-MLFID>"); ok {
				expr, mode = "^"+rest, prefixMLFID
			} else if rest, ok := strings.CutPrefix(expr, "^<PREFIX>"); ok {
				expr, mode = "^"+rest, prefixPlain
			}
		}
		exp, err := expandTags(expr, opts.UseDNS, prefixRE)
		if err != nil {
			return nil, fmt.Errorf("%s: %v in %s", p.Where(), err, describe(p.Expr))
		}
		if f.maxLines > 1 {
			// Fail2ban compiles multi-line filters with re.MULTILINE.
			exp = "(?m)" + exp
		}
		r, err := compileRx(p, exp)
		if err != nil {
			return nil, err
		}
		if opts.NoVerify {
			// The reference engine for tests: whole-pattern matching only.
			r.checks, r.head, r.seq, r.headOptional, r.variants = nil, nil, nil, false, nil
		}
		r.prefix = mode
		if mode == prefixMLFID {
			// The hand-parsed prefix fills one extra group after the engine's.
			r.known[gMLFID] = r.ngroups
		}
		return r, nil
	}
	var err error
	if def.PrefRegex != nil && strings.TrimSpace(def.PrefRegex.Expr) != "" {
		if f.pref, err = comp(*def.PrefRegex); err != nil {
			return nil, err
		}
	}
	for _, p := range def.FailRegex {
		r, err := comp(p)
		if err != nil {
			return nil, err
		}
		f.fail = append(f.fail, r)
		f.failOrder = append(f.failOrder, len(f.failOrder))
	}
	f.byFirst = firstByteIndex(f.fail)
	for _, p := range def.IgnoreRegex {
		r, err := comp(p)
		if err != nil {
			return nil, err
		}
		f.ignore = append(f.ignore, r)
	}
	dp := strings.TrimSpace(def.DatePattern)
	switch dp {
	case "{NONE}":
		f.noDate = true
	case "":
		f.dates = date.Default()
	default:
		d, err := opts.Dates.Compile(dp)
		if err != nil {
			return nil, fmt.Errorf("%s: datepattern %q: %v", def.DateWhere.Where(), dp, err)
		}
		f.dates = d
	}
	return f, nil
}

// firstByteIndex lists, for each byte a text can start with, the
// failregexes whose prefilter can pass such a text, in their order. It is
// nil when a pattern parses a syslog prefix by hand first (its engine then
// sees a later part of the text).
func firstByteIndex(rs []*rx) *[256][]int {
	idx := new([256][]int)
	for i, r := range rs {
		if r.prefix != prefixNone {
			return nil
		}
		for c := 0; c < 256; c++ {
			if r.pre.mayStart(byte(c)) {
				idx[c] = append(idx[c], i)
			}
		}
	}
	return idx
}

// Name is the filter's name.
func (f *Filter) Name() string { return f.name }

// Definition returns what the filter was compiled from.
func (f *Filter) Definition() *Definition { return f.def }

// SlowPattern is a pattern that needed the backtracking engine.
type SlowPattern struct {
	Pattern Pattern
	Reason  string
}

// SlowPatterns lists the patterns RE2 could not express.
func (f *Filter) SlowPatterns() []SlowPattern {
	var out []SlowPattern
	add := func(r *rx) {
		if r != nil && r.slow != nil {
			out = append(out, SlowPattern{r.src, r.why})
		}
	}
	add(f.pref)
	for _, r := range f.fail {
		add(r)
	}
	for _, r := range f.ignore {
		add(r)
	}
	return out
}

// DateTemplateName names date template i (Result.DateTemplate).
func (f *Filter) DateTemplateName(i int) string {
	if f.dates == nil || i < 0 || i >= f.dates.Len() {
		return ""
	}
	return f.dates.TemplateName(i)
}

// FailRegexCount is the number of failregex patterns (Result.Regex indexes them).
func (f *Filter) FailRegexCount() int { return len(f.fail) }

// FailRegex returns failregex i as defined.
func (f *Filter) FailRegex(i int) Pattern { return f.fail[i].src }
