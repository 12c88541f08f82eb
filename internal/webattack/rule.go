package webattack

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
)

// Severity orders how sure a rule is that a request is an attack.
type Severity uint8

// The severities, weakest first.
const (
	Low Severity = iota + 1
	Medium
	High
	Critical
)

// Points is what a match adds to its request's score.
func (s Severity) Points() int {
	switch s {
	case Low:
		return 1
	case Medium:
		return 3
	case High:
		return 6
	case Critical:
		return 10
	}
	return 0
}

// String returns the severity's name as rule files write it.
func (s Severity) String() string {
	switch s {
	case Low:
		return "low"
	case Medium:
		return "medium"
	case High:
		return "high"
	case Critical:
		return "critical"
	}
	return "none"
}

func parseSeverity(s string) (Severity, bool) {
	for v := Low; v <= Critical; v++ {
		if v.String() == s {
			return v, true
		}
	}
	return 0, false
}

// Field is a part of a request that rules look at, after normalisation.
type Field uint8

// The fields.
const (
	FieldMethod   Field = iota
	FieldPath           // URL-decoded path
	FieldNPath          // decoded path with //, /./ and /../ resolved
	FieldQuery          // decoded name=value pairs, one per line
	FieldArgs           // decoded parameter values, one per line
	FieldUA             // User-Agent
	FieldReferer        // Referer
	FieldHost           // vhost or Host
	FieldAnomaly        // words for the normaliser's Anomaly set
	FieldRawQuery       // the whole query decoded at once: & and = kept as sent
	numFieldKinds
)

var fieldNames = [numFieldKinds]string{"method", "path", "npath", "query", "args", "ua", "referer", "host", "anomaly", "rawquery"}

// String returns the field's name as rule files write it.
func (f Field) String() string {
	if int(f) < len(fieldNames) {
		return fieldNames[f]
	}
	return "?"
}

// FieldSet is a set of Fields.
type FieldSet uint16

// Has reports whether f is in the set.
func (s FieldSet) Has(f Field) bool { return s&(1<<f) != 0 }

var fieldAliases = map[string]FieldSet{
	"uri":     1<<FieldPath | 1<<FieldQuery | 1<<FieldRawQuery,
	"headers": 1<<FieldUA | 1<<FieldReferer,
	"request": 1<<FieldPath | 1<<FieldQuery | 1<<FieldUA | 1<<FieldReferer,
}

// Engine says how a rule matches.
type Engine uint8

// The engines.
const (
	EngineRegex Engine = iota // literal prefilter, then an RE2 pattern
	EngineSQLi                // libinjection's SQLi tokenizer; Pattern filters the fingerprint
	EngineXSS                 // libinjection's HTML5 XSS check
)

// Rule is one detection rule, loaded from a rules/*.toml file.
type Rule struct {
	ID       string
	Title    string
	Category string
	Severity Severity
	Fields   FieldSet
	Engine   Engine
	// Literals are lower-case strings one of which must appear in a field
	// before the pattern runs there: the cheap check that rejects most lines.
	Literals []string
	// Requires is a second literal group: when set, one of these must
	// appear in the same field as well.
	Requires []string
	Pattern  *regexp.Regexp
	// Fold makes Pattern see the field in lower case (the default).
	Fold   bool
	Attack []string
	Benign []string
	// SkipParams are parameter names (lower case) whose values the rule
	// does not look at in the args field: e.g. OAuth's redirect_uri, a URL
	// the browser is sent to, not one the server fetches.
	SkipParams []string
	Source     string      // file:rule-id, for error messages
	index      int         // bit of Literals in prefilter sets
	index2     int         // bit of Requires, or -1
	anchor     *lineAnchor // Pattern tried at line starts only, or nil
	split      *branchSet  // Pattern's branches, each where its literal is, or nil
}

type ruleFile struct {
	Category string        `toml:"category"`
	Rules    []ruleSpec    `toml:"rule"`
	FreeText *freeTextSpec `toml:"free_text"`
}

type ruleSpec struct {
	ID       string     `toml:"id"`
	Title    string     `toml:"title"`
	Severity string     `toml:"severity"`
	Fields   []string   `toml:"fields"`
	Engine   string     `toml:"engine"`
	Literals []string   `toml:"literals"`
	Requires []string   `toml:"requires"`
	Product  [][]string `toml:"literal_product"`
	ReqProd  [][]string `toml:"literal_product_requires"`
	Pattern  string     `toml:"pattern"`
	Fold     *bool      `toml:"fold"`
	Attack   []string   `toml:"attack"`
	Benign   []string   `toml:"benign"`
	Skip     []string   `toml:"skip_params"`
}

//go:embed rules/*.toml
var builtinRules embed.FS

// BuiltinRules loads the rule files embedded in the binary.
func BuiltinRules() ([]*Rule, error) { return LoadRules(builtinRules, "rules") }

// BuiltinFreeText loads the [free_text] table of the embedded rule files
// (rules/free_text.toml).
func BuiltinFreeText() (FreeText, error) { return LoadFreeText(builtinRules, "rules") }

// LoadFreeText reads the [free_text] table of the *.toml files in dir of
// fsys; at most one file may have one. None: the zero FreeText (no cap).
func LoadFreeText(fsys fs.FS, dir string) (FreeText, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.toml"))
	if err != nil {
		return FreeText{}, err
	}
	sort.Strings(names)
	var ft FreeText
	from := ""
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return FreeText{}, err
		}
		// A file without the word has no such table (however TOML writes
		// its name): the rule files need not be compiled a second time.
		if !bytes.Contains(data, []byte("free_text")) {
			continue
		}
		_, f, err := parseFile(path.Base(name), data, true)
		if err != nil {
			return FreeText{}, err
		}
		if f == nil {
			continue
		}
		if from != "" {
			return FreeText{}, fmt.Errorf("%s: [free_text]: already given in %s (keep one)", path.Base(name), from)
		}
		ft, from = *f, path.Base(name)
	}
	return ft, nil
}

// LoadRules reads every *.toml file in dir of fsys, sorted by name.
func LoadRules(fsys fs.FS, dir string) ([]*Rule, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.toml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var all []*Rule
	seen := map[string]string{}
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		rules, err := ParseRules(path.Base(name), data)
		if err != nil {
			return nil, err
		}
		for _, r := range rules {
			if prev, dup := seen[r.ID]; dup {
				return nil, fmt.Errorf("%s: rule %q: id already used in %s", r.Source, r.ID, prev)
			}
			seen[r.ID] = r.Source
			all = append(all, r)
		}
	}
	return all, nil
}

// ParseRules compiles one rule file. Errors name the file, the rule and
// the key.
func ParseRules(name string, data []byte) ([]*Rule, error) {
	rules, _, err := parseFile(name, data, false)
	return rules, err
}

// parseFile compiles one rule file: its rules, and its [free_text] table
// if it has one (compiled when freeText is set, else only checked). A
// file with a [free_text] table needs no rules.
func parseFile(name string, data []byte, freeText bool) ([]*Rule, *FreeText, error) {
	var f ruleFile
	md, err := toml.Decode(string(data), &f)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %v", name, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return nil, nil, fmt.Errorf("%s: unknown key %q (want category and [[rule]] tables with id, title, severity, fields, engine, literals, literal_product, requires, literal_product_requires, pattern, fold, skip_params, attack, benign; or a [free_text] table with params, max_severity, active)", name, und[0].String())
	}
	var ft *FreeText
	if f.FreeText != nil {
		v, err := compileFreeText(f.FreeText, freeText)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: [free_text]: %v", name, err)
		}
		ft = &v
		if f.Category == "" && len(f.Rules) == 0 {
			return nil, ft, nil
		}
	}
	if f.Category == "" {
		return nil, nil, fmt.Errorf("%s: category: missing (e.g. category = \"sqli\")", name)
	}
	out := make([]*Rule, 0, len(f.Rules))
	for i, s := range f.Rules {
		where := fmt.Sprintf("%s: rule %d", name, i+1)
		if s.ID != "" {
			where = fmt.Sprintf("%s: rule %q", name, s.ID)
		}
		r, err := compileRule(f.Category, s)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %v", where, err)
		}
		r.Source = name + ":" + r.ID
		out = append(out, r)
	}
	return out, ft, nil
}

func compileRule(category string, s ruleSpec) (*Rule, error) {
	r := &Rule{ID: s.ID, Title: s.Title, Category: category, Fold: true, Attack: s.Attack, Benign: s.Benign}
	if s.ID == "" {
		return nil, fmt.Errorf("id: missing")
	}
	if s.Title == "" {
		return nil, fmt.Errorf("title: missing")
	}
	sev, ok := parseSeverity(s.Severity)
	if !ok {
		return nil, fmt.Errorf("severity: %q is not low, medium, high or critical", s.Severity)
	}
	r.Severity = sev
	if len(s.Fields) == 0 {
		return nil, fmt.Errorf("fields: missing (any of %s, or uri, headers, request)", strings.Join(fieldNames[:], ", "))
	}
	for _, name := range s.Fields {
		if set, ok := fieldAliases[name]; ok {
			r.Fields |= set
			continue
		}
		found := false
		for f, n := range fieldNames {
			if n == name {
				r.Fields |= 1 << f
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("fields: unknown field %q (want %s, or uri, headers, request)", name, strings.Join(fieldNames[:], ", "))
		}
	}
	if s.Fold != nil {
		r.Fold = *s.Fold
	}
	if len(s.Product) > 0 {
		lits, err := expandProduct(s.Product)
		if err != nil {
			return nil, err
		}
		s.Literals = append(s.Literals, lits...)
	}
	if len(s.ReqProd) > 0 {
		lits, err := expandProduct(s.ReqProd)
		if err != nil {
			return nil, err
		}
		s.Requires = append(s.Requires, lits...)
	}
	switch s.Engine {
	case "", "regex":
		r.Engine = EngineRegex
		if len(s.Literals) == 0 {
			return nil, fmt.Errorf("literals: missing: a regex rule needs at least one literal that every match contains, so most lines skip the pattern")
		}
		if s.Pattern == "" {
			return nil, fmt.Errorf("pattern: missing")
		}
	case "libinjection-sqli":
		r.Engine = EngineSQLi
	case "libinjection-xss":
		r.Engine = EngineXSS
	default:
		return nil, fmt.Errorf("engine: %q is not regex, libinjection-sqli or libinjection-xss", s.Engine)
	}
	for _, l := range append(s.Literals, s.Requires...) {
		if l == "" || l != strings.ToLower(l) {
			return nil, fmt.Errorf("literals: %q must be non-empty and lower case (literals match case-insensitively)", l)
		}
	}
	if len(s.Requires) > 0 && len(s.Literals) == 0 {
		return nil, fmt.Errorf("requires: needs literals too")
	}
	r.Literals, r.Requires = s.Literals, s.Requires
	for _, p := range s.Skip {
		if p == "" || p != strings.ToLower(p) {
			return nil, fmt.Errorf("skip_params: %q must be a non-empty lower-case parameter name", p)
		}
	}
	r.SkipParams = s.Skip
	if s.Pattern != "" {
		re, err := regexp.Compile(s.Pattern)
		if err != nil {
			return nil, fmt.Errorf("pattern: %v", err)
		}
		r.Pattern = re
		if r.Engine == EngineRegex && strings.HasPrefix(s.Pattern, "(?m)") {
			r.anchor = newLineAnchor(s.Pattern)
		}
		if r.Engine == EngineRegex && r.anchor == nil {
			r.split = splitRule(s.Pattern, r.Fold)
		}
	}
	return r, nil
}

// maxProduct bounds the literals one literal_product may expand to.
const maxProduct = 4096

// expandProduct turns [["a","b"],["", " "],["x"]] into "ax", "a x", "bx",
// "b x": the literals a pattern such as [ab]\s?x needs, written compactly.
func expandProduct(parts [][]string) ([]string, error) {
	out := []string{""}
	for _, p := range parts {
		if len(p) == 0 {
			return nil, fmt.Errorf("literal_product: empty list")
		}
		if len(out)*len(p) > maxProduct {
			return nil, fmt.Errorf("literal_product: more than %d literals", maxProduct)
		}
		next := make([]string, 0, len(out)*len(p))
		for _, a := range out {
			for _, b := range p {
				next = append(next, a+b)
			}
		}
		out = next
	}
	return out, nil
}
