package webattack

import (
	"bytes"
	"fmt"
	"sort"
	"unsafe"

	"github.com/rampart-ids/rampart/internal/accesslog"
)

// Scores decide what a request's matches mean. A match adds its severity's
// Points; a request is reported (a finding) from ReportScore on, and is
// SingleHit — bannable on that one request — from SingleHitScore on. So
// one low sign is noted only in --explain, a medium one is a finding that
// counts towards a jail's maxretry, and a high or critical one, or two
// medium ones together, ban at once.
const (
	ReportScore    = 3
	SingleHitScore = 6
)

// MaxMatches bounds the matches kept per request.
const MaxMatches = 16

// maxFragment bounds the evidence copied per match.
const maxFragment = 160

// Ruleset is a compiled set of rules, shared read-only by Detectors.
type Ruleset struct {
	rules    []*Rule
	regex    []*Rule // EngineRegex, in rule order
	sqli     []*Rule
	xss      []*Rule
	pf       *prefilter
	freeText FreeText
}

// Option changes how Compile builds a Ruleset.
type Option func(*compileOptions)

type compileOptions struct {
	freeText *FreeText
}

// WithFreeText sets the free-text parameters (see FreeText) instead of the
// built-in ones (BuiltinFreeText); the zero FreeText turns the cap off.
func WithFreeText(ft FreeText) Option {
	return func(o *compileOptions) { o.freeText = &ft }
}

// Compile builds a Ruleset from rules (see BuiltinRules), with the
// built-in free-text parameters unless WithFreeText says otherwise.
func Compile(rules []*Rule, opts ...Option) (*Ruleset, error) {
	var o compileOptions
	for _, opt := range opts {
		opt(&o)
	}
	rs := &Ruleset{rules: rules}
	if o.freeText != nil {
		rs.freeText = *o.freeText
	} else {
		ft, err := BuiltinFreeText()
		if err != nil {
			return nil, err
		}
		rs.freeText = ft
	}
	groups := make([][]string, len(rules))
	for i, r := range rules {
		r.index, r.index2 = i, -1
		groups[i] = r.Literals
		switch r.Engine {
		case EngineRegex:
			rs.regex = append(rs.regex, r)
		case EngineSQLi:
			rs.sqli = append(rs.sqli, r)
		case EngineXSS:
			rs.xss = append(rs.xss, r)
		default:
			return nil, fmt.Errorf("webattack: rule %s: unknown engine", r.ID)
		}
	}
	// Strongest first: Scan stops at the first single-hit, so a critical
	// rule that fires spares the weaker ones their patterns.
	sort.SliceStable(rs.regex, func(i, j int) bool { return rs.regex[i].Severity > rs.regex[j].Severity })
	for _, r := range rules {
		if len(r.Requires) > 0 {
			r.index2 = len(groups)
			groups = append(groups, r.Requires)
		}
	}
	pf, err := buildPrefilter(groups)
	if err != nil {
		return nil, err
	}
	rs.pf = pf
	return rs, nil
}

// Rules returns the compiled rules in order.
func (rs *Ruleset) Rules() []*Rule { return rs.rules }

// FreeText returns the free-text parameters the Ruleset caps.
func (rs *Ruleset) FreeText() FreeText { return rs.freeText }

// Match is one rule that fired on a request.
type Match struct {
	Rule     *Rule
	Field    Field
	Fragment []byte // the decoded text that matched; valid until the next Scan
	Detail   string // libinjection's fingerprint for SQLi, else empty
	// Param is the parameter the match is in ("" outside the query).
	// Valid until the next Scan.
	Param []byte
	// Prose: the match is in a free-text parameter whose value quotes code
	// (FreeText.Quoted: it reads as prose, or has nothing FreeText.Active
	// matches), so it counts at most FreeText.MaxSeverity, together with
	// the request's other such matches.
	Prose bool
	// Severity is what the match counts as: its rule's severity, or at
	// most the free-text cap when it is Prose.
	Severity Severity
}

// Result is what Scan found in one request. Reuse one Result across calls:
// its buffers are kept, so the miss path allocates nothing.
type Result struct {
	Score     int
	Severity  Severity // highest among the matches (a Prose match counts as the free-text cap)
	SingleHit bool     // Score >= SingleHitScore: ban on this request alone
	Matches   []Match
	Anomalies Anomaly
	frag      []byte
	plain     int // points of the matches that are not Prose
	prose     int // points of the Prose matches, before the cap
}

// Top returns the match of highest severity (the first of those), or nil.
// A Prose match counts as the free-text cap.
func (r *Result) Top() *Match {
	var top *Match
	for i := range r.Matches {
		if top == nil || r.Matches[i].Severity > top.Severity {
			top = &r.Matches[i]
		}
	}
	return top
}

func (r *Result) reset() {
	if r.Matches == nil {
		r.Matches = make([]Match, 0, MaxMatches)
		r.frag = make([]byte, 0, MaxMatches*maxFragment)
	}
	r.Score, r.Severity, r.SingleHit, r.Anomalies = 0, 0, false, 0
	r.plain, r.prose = 0, 0
	r.Matches = r.Matches[:0]
	r.frag = r.frag[:0]
}

// Stats counts what a Detector has seen.
type Stats struct {
	Lines    int // lines given to Scan
	Skipped  int // lines that did not parse as an access log (see Detector.LastError)
	Flagged  int // requests that scored ReportScore or more
	Requests int // requests scanned (parsed lines and ScanRequest calls)
}

type span struct{ start, end int32 }

// Detector scans requests with a Ruleset. It is not safe for concurrent
// use; give each goroutine its own (Ruleset.NewDetector).
type Detector struct {
	rs      *Ruleset
	parser  *accesslog.Parser
	req     accesslog.Request
	norm    normaliser
	val     [numFieldKinds][]byte // normalised field values
	low     [numFieldKinds][]byte // the same, lower case
	args    []span                // values within val[FieldArgs]
	names   []span                // their names within val[FieldQuery] (empty: no '=')
	prose   []int8                // per parameter: 0 not judged yet, 1 prose in a free-text parameter, -1 not
	cand    [numFieldKinds][]uint64
	any     []uint64
	fired   []uint64
	Stats   Stats
	lastErr error
	// exhaustive runs every rule even after the request is SingleHit
	// (for --explain and the rule tests); Scan stops at the first
	// SingleHit, since one strong sign is all a ban needs.
	exhaustive bool
	libFields  FieldSet // fields some libinjection rule looks at
	uaCache    *headerCache
	refCache   *headerCache
	lib        libCache
	lowered    FieldSet // fields whose low copy is current
}

// lowerField returns the lower-case copy of field f, making it on first use.
func (d *Detector) lowerField(f Field) []byte {
	if !d.lowered.Has(f) {
		d.low[f] = append(d.low[f][:0], d.val[f]...)
		lower(d.low[f])
		d.lowered |= 1 << f
	}
	return d.low[f]
}

// NewDetector returns a Detector reading lines in format f.
func (rs *Ruleset) NewDetector(f accesslog.Format) *Detector {
	d := &Detector{rs: rs, parser: accesslog.NewParser(f)}
	for i := range d.cand {
		d.cand[i] = make([]uint64, rs.pf.words)
	}
	for _, r := range rs.sqli {
		d.libFields |= r.Fields
	}
	for _, r := range rs.xss {
		d.libFields |= r.Fields
	}
	d.uaCache, d.refCache = newHeaderCache(rs.pf.words), newHeaderCache(rs.pf.words)
	d.any = make([]uint64, rs.pf.words)
	d.fired = make([]uint64, rs.pf.words)
	return d
}

// LastError is the parse error of the last line Scan skipped.
func (d *Detector) LastError() error { return d.lastErr }

// Request is the request the last Scan parsed; valid until the next Scan.
func (d *Detector) Request() *accesslog.Request { return &d.req }

// Scan parses one access-log line and scans it; it reports whether the
// request scored at least ReportScore. Lines that do not parse are counted
// in Stats.Skipped and report false.
func (d *Detector) Scan(line []byte, res *Result) bool {
	d.Stats.Lines++
	if err := d.parser.Parse(line, &d.req); err != nil {
		d.Stats.Skipped++
		d.lastErr = err
		res.reset()
		return false
	}
	return d.ScanRequest(&d.req, res)
}

// ScanRequest scans a parsed request.
func (d *Detector) ScanRequest(r *accesslog.Request, res *Result) bool {
	d.Stats.Requests++
	res.reset()
	an := d.prepare(r)
	res.Anomalies = an
	d.match(res)
	if res.Score >= ReportScore {
		d.Stats.Flagged++
		return true
	}
	return false
}

// prepare fills the normalised fields.
func (d *Detector) prepare(r *accesslog.Request) Anomaly {
	for i := range d.val {
		d.val[i] = d.val[i][:0]
	}
	d.args = d.args[:0]
	d.names = d.names[:0]
	d.prose = d.prose[:0]
	var an, a Anomaly
	d.val[FieldMethod] = append(d.val[FieldMethod], r.Method...)
	d.val[FieldPath], an = d.norm.value(d.val[FieldPath], r.Path, false)
	d.val[FieldNPath], a = normPath(d.val[FieldNPath], d.val[FieldPath])
	an |= a
	if len(r.Query) > 0 {
		// Every parameter of the query field follows a newline, the first
		// too, so literals can anchor at a parameter's start.
		d.val[FieldQuery] = append(d.val[FieldQuery], '\n')
	}
	d.val[FieldRawQuery], a = d.norm.value(d.val[FieldRawQuery], r.Query, true)
	an |= a
	q := r.Query
	for len(q) > 0 {
		end := 0
		for end < len(q) && (q[end] != '&' || isEntityAt(q[end:])) {
			end++
		}
		part := q[:end]
		if end < len(q) {
			q = q[end+1:]
		} else {
			q = nil
		}
		if len(part) == 0 {
			continue
		}
		eq := -1
		for i, c := range part {
			if c == '=' {
				eq = i
				break
			}
		}
		// A part without '=' ("?-s", "?cd /tmp;...") is both the name and
		// the value: it is what a handler that reads the raw query sees.
		name, value := part[:0], part
		nstart := len(d.val[FieldQuery])
		if eq >= 0 {
			name, value = part[:eq], part[eq+1:]
			d.val[FieldQuery], a = d.norm.value(d.val[FieldQuery], name, true)
			an |= a
			d.names = append(d.names, span{int32(nstart), int32(len(d.val[FieldQuery]))})
			d.val[FieldQuery] = append(d.val[FieldQuery], '=')
		} else {
			d.names = append(d.names, span{int32(nstart), int32(nstart)})
		}
		start := len(d.val[FieldArgs])
		d.val[FieldArgs], a = d.norm.value(d.val[FieldArgs], value, true)
		an |= a
		d.args = append(d.args, span{int32(start), int32(len(d.val[FieldArgs]))})
		// A value that needed an evasion to decode was not typed into a
		// box by a person: it is never prose.
		st := int8(0)
		if a&proseEvasions != 0 {
			st = -1
		}
		d.prose = append(d.prose, st)
		d.val[FieldQuery] = append(d.val[FieldQuery], d.val[FieldArgs][start:]...)
		d.val[FieldQuery] = append(d.val[FieldQuery], '\n')
		d.val[FieldArgs] = append(d.val[FieldArgs], '\n')
	}
	if !isDash(r.UserAgent) {
		d.val[FieldUA], _ = d.norm.value(d.val[FieldUA], r.UserAgent, false)
	}
	if !isDash(r.Referer) {
		d.val[FieldReferer], _ = d.norm.value(d.val[FieldReferer], r.Referer, false)
	}
	d.val[FieldHost] = append(d.val[FieldHost], r.Host...)
	if an != 0 {
		d.val[FieldAnomaly] = an.appendWords(d.val[FieldAnomaly])
	}
	d.lowered = 0 // lower-case copies are made when a pattern needs one
	return an
}

// isEntityAt reports whether b starts with an HTML character reference
// ("&lt;", "&#60;"): a query like "q=&lt;script&gt;" is one parameter with
// an entity-encoded value, not three parameters.
func isEntityAt(b []byte) bool {
	if len(b) < 3 {
		return false
	}
	_, n := entity(b)
	return n > 0 && (b[1] == '#' || b[n-1] == ';')
}

func isDash(b []byte) bool { return len(b) == 1 && b[0] == '-' }

func bstr(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

func (d *Detector) match(res *Result) {
	rs := d.rs
	words := rs.pf.words
	for w := 0; w < words; w++ {
		d.any[w], d.fired[w] = 0, 0
	}
	// The automaton folds case itself, so it reads the fields as they are.
	// The header caches point at this request's values once scanned.
	d.uaCache.cur, d.refCache.cur = -1, -1
	for f := range d.val {
		c := d.cand[f]
		for w := range c {
			c[w] = 0
		}
		if len(d.val[f]) == 0 {
			continue
		}
		switch Field(f) {
		case FieldNPath:
			if bytes.Equal(d.val[FieldNPath], d.val[FieldPath]) {
				copy(c, d.cand[FieldPath]) // nothing to resolve: same text
			} else {
				rs.pf.scan(d.val[f], c)
			}
		case FieldArgs:
			// Every value is in the query field too (as name=value lines),
			// so its literals are a superset of the values': no second scan.
			copy(c, d.cand[FieldQuery])
		case FieldUA:
			d.uaCache.scan(rs.pf, d.val[f], c)
		case FieldReferer:
			d.refCache.scan(rs.pf, d.val[f], c)
		default:
			rs.pf.scan(d.val[f], c)
		}
		for w := range c {
			d.any[w] |= c[w]
		}
	}
	// libinjection first: it is what finds most SQLi and XSS, and a
	// single-hit there saves the patterns.
	d.libinjection(res)
	if res.SingleHit && !d.exhaustive {
		return
	}
	for _, r := range rs.regex {
		if d.any[r.index/64]&(1<<(r.index%64)) == 0 {
			continue
		}
		for f := Field(0); f < numFieldKinds; f++ {
			if !r.Fields.Has(f) || d.cand[f][r.index/64]&(1<<(r.index%64)) == 0 {
				continue
			}
			if r.index2 >= 0 && d.cand[f][r.index2/64]&(1<<(r.index2%64)) == 0 {
				continue
			}
			cache := d.headerCache(f)
			state, start, end := cache.lookup(r)
			if state == unknown {
				v := d.val[f]
				if r.Fold {
					v = d.lowerField(f)
				}
				loc := d.find(r, f, v)
				cache.record(r, loc)
				if state = noMatch; loc != nil {
					state, start, end = matched, loc[0], loc[1]
				}
			}
			if state == matched {
				d.add(res, r, f, d.val[f][start:end], "", d.paramAt(f, start, end))
				break
			}
		}
		if res.SingleHit && !d.exhaustive {
			return
		}
	}
}

// headerCache returns field f's cache of pattern results (user agent and
// referer), or nil.
func (d *Detector) headerCache(f Field) *headerCache {
	switch f {
	case FieldUA:
		return d.uaCache
	case FieldReferer:
		return d.refCache
	}
	return nil
}

// find runs r's pattern on field f's value v. In the args field a match in
// the value of one of r.SkipParams is passed over, and the search goes on
// from the next value.
func (d *Detector) find(r *Rule, f Field, v []byte) []int {
	if f != FieldArgs || len(r.SkipParams) == 0 {
		return r.findIndex(v)
	}
	for off := 0; off < len(v); {
		loc := r.findIndex(v[off:])
		if loc == nil {
			return nil
		}
		loc[0], loc[1] = loc[0]+off, loc[1]+off
		i := 0
		for i < len(d.args) && int(d.args[i].end) < loc[0] {
			i++
		}
		if i == len(d.args) || !d.skipped(r, d.names[i]) {
			return loc
		}
		off = int(d.args[i].end) + 1
	}
	return nil
}

// skipped reports whether the parameter named at s (in the query field) is
// one of r.SkipParams (compared case-insensitively).
func (d *Detector) skipped(r *Rule, s span) bool {
	name := d.val[FieldQuery][s.start:s.end]
	for _, p := range r.SkipParams {
		if foldEqual(p, name) {
			return true
		}
	}
	return false
}

// paramAt returns the index of the parameter whose decoded value holds
// field f's text from start to end, or -1 (another field, or a match
// across parameters or into a name).
func (d *Detector) paramAt(f Field, start, end int) int {
	switch f {
	case FieldArgs:
		for i, s := range d.args {
			if int(s.start) <= start && end <= int(s.end) {
				return i
			}
		}
	case FieldQuery:
		// Parameter i's line ends where line i+1's name starts (less the
		// newline), and its value is the end of the line.
		q := d.val[FieldQuery]
		for i, s := range d.args {
			lineEnd := len(q) - 1
			if i+1 < len(d.names) {
				lineEnd = int(d.names[i+1].start) - 1
			}
			valStart := lineEnd - int(s.end-s.start)
			if valStart <= start && end <= lineEnd {
				return i
			}
		}
	case FieldRawQuery:
		// The whole query decoded at once: the first value that holds
		// the matched text, if any does.
		frag := d.val[FieldRawQuery][start:end]
		args := d.val[FieldArgs]
		for i, s := range d.args {
			if bytes.Contains(args[s.start:s.end], frag) {
				return i
			}
		}
	}
	return -1
}

// paramName is parameter i's decoded name (empty for a part without '=').
func (d *Detector) paramName(i int) []byte {
	s := d.names[i]
	return d.val[FieldQuery][s.start:s.end]
}

// proseParam reports whether parameter i is a free-text parameter whose
// value reads as prose (judged once per request).
func (d *Detector) proseParam(i int) bool {
	if i < 0 {
		return false
	}
	if d.prose[i] == 0 {
		d.prose[i] = -1
		s := d.args[i]
		ft := &d.rs.freeText
		if ft.MaxSeverity != 0 {
			name := d.paramName(i)
			if ft.always(name) || ft.has(name) && ft.Quoted(d.val[FieldArgs][s.start:s.end], d.lowerField(FieldArgs)[s.start:s.end]) {
				d.prose[i] = 1
			}
		}
	}
	return d.prose[i] == 1
}

// worthSQLi is the cheap check before libinjection's SQLi tokenizer (which
// allocates, and tries three quoting contexts): an injection has to leave
// the value's context or bend the query's grammar. An operator, bracket or
// comment always qualifies; a quote only next to an SQL keyword (English
// text with apostrophes, "don't stop believing", is the common case of a
// quote and is spared). Words and spaces alone ("1 union select 1") are
// left to the SQLI-* patterns; a slug such as "summer-sale-2026" has none.
func worthSQLi(v []byte) bool {
	if len(v) < 2 {
		return false
	}
	quote := false
	for i, c := range v {
		switch c {
		case '(', ')', ';', '=', '<', '>', '|', '&', '#', '\\':
			return true
		case '\'', '"', '`':
			quote = true
		case '-':
			if i+1 < len(v) && v[i+1] == '-' {
				return true
			}
		case '/':
			if i+1 < len(v) && v[i+1] == '*' {
				return true
			}
		case '*':
			if i+1 < len(v) && v[i+1] == '/' {
				return true
			}
		}
	}
	return quote && hasSQLWord(v)
}

// hasSQLWord reports whether v has an SQL keyword as a whole word.
func hasSQLWord(v []byte) bool {
	var w [10]byte
	for i := 0; i < len(v); {
		if !isAlpha(v[i]) && v[i] != '_' {
			i++
			continue
		}
		j := i
		for j < len(v) && (isAlpha(v[j]) || v[j] == '_') {
			j++
		}
		if n := j - i; n >= 2 && n <= len(w) {
			for k := 0; k < n; k++ {
				w[k] = v[i+k] | 0x20
			}
			switch string(w[:n]) {
			case "or", "and", "xor", "not", "union", "select", "from", "where", "like", "rlike", "regexp",
				"sleep", "benchmark", "waitfor", "order", "group", "having", "insert", "update", "delete",
				"drop", "exec", "execute", "declare", "null", "limit", "into", "char", "concat", "true", "false":
				return true
			}
		}
		i = j
	}
	return false
}

// worthXSS: libinjection's XSS check needs a tag or an attribute.
func worthXSS(v []byte) bool {
	for _, c := range v {
		if c == '<' || c == '=' {
			return true
		}
	}
	return false
}

func (d *Detector) libinjection(res *Result) {
	rs := d.rs
	if len(rs.sqli) == 0 && len(rs.xss) == 0 {
		return
	}
	each := func(f Field, v []byte, param int) {
		if len(v) == 0 || (res.SingleHit && !d.exhaustive) {
			return
		}
		if len(rs.sqli) > 0 && worthSQLi(v) {
			if ok, fp := d.lib.isSQLi(v); ok {
				for _, r := range rs.sqli {
					if r.Fields.Has(f) && !d.hasFired(r) && (r.Pattern == nil || r.Pattern.MatchString(fp)) {
						d.add(res, r, f, injectionPart(v), fp, param)
					}
				}
			}
		}
		if len(rs.xss) > 0 && worthXSS(v) && d.lib.isXSS(v) {
			for _, r := range rs.xss {
				if r.Fields.Has(f) && !d.hasFired(r) {
					d.add(res, r, f, injectionPart(v), "", param)
				}
			}
		}
	}
	args := d.val[FieldArgs]
	for i, s := range d.args {
		each(FieldArgs, args[s.start:s.end], i)
	}
	if d.wantsField(FieldPath) {
		p := d.val[FieldPath]
		start := 0
		for i := 0; i <= len(p); i++ {
			if i == len(p) || p[i] == '/' {
				each(FieldPath, p[start:i], -1)
				start = i + 1
			}
		}
	}
	for _, f := range [...]Field{FieldUA, FieldReferer} {
		if d.wantsField(f) {
			each(f, d.val[f], -1)
		}
	}
}

// injectionPart is the evidence for a libinjection match, which names no
// position: a long value is shown from a little before its first quote,
// bracket or tag, where an injection starts.
func injectionPart(v []byte) []byte {
	if len(v) <= maxFragment {
		return v
	}
	for i, c := range v {
		switch c {
		case '\'', '"', '`', '(', ';', '<', '=':
			return v[max(0, i-20):]
		}
	}
	return v
}

func (d *Detector) wantsField(f Field) bool { return d.libFields.Has(f) }

func (d *Detector) hasFired(r *Rule) bool { return d.fired[r.index/64]&(1<<(r.index%64)) != 0 }

// add records that rule r matched frag in field f, in parameter param
// (-1: none). Matches in a prose value of a free-text parameter count
// together at most the free-text cap.
func (d *Detector) add(res *Result, r *Rule, f Field, frag []byte, detail string, param int) {
	if d.hasFired(r) {
		return
	}
	d.fired[r.index/64] |= 1 << (r.index % 64)
	prose := d.proseParam(param)
	sev := r.Severity
	if prose {
		res.prose += r.Severity.Points()
		sev = min(sev, d.rs.freeText.MaxSeverity)
	} else {
		res.plain += r.Severity.Points()
	}
	res.Score = res.plain + min(res.prose, d.rs.freeText.MaxSeverity.Points())
	if sev > res.Severity {
		res.Severity = sev
	}
	res.SingleHit = res.Score >= SingleHitScore
	if len(res.Matches) == MaxMatches {
		return
	}
	if len(frag) > maxFragment {
		frag = frag[:maxFragment]
	}
	start := len(res.frag)
	res.frag = append(res.frag, frag...)
	m := Match{Rule: r, Field: f, Fragment: res.frag[start:len(res.frag):len(res.frag)], Detail: detail, Prose: prose, Severity: sev}
	if param >= 0 {
		m.Param = d.paramName(param)
	}
	res.Matches = append(res.Matches, m)
}
