package webattack

import (
	"fmt"
	"strings"

	libinjection "github.com/corazawaf/libinjection-go"

	"github.com/rampart-ids/rampart/internal/accesslog"
)

// Explanation says why a line did or did not match: what was parsed, what
// the normaliser made of it, and what each rule did.
type Explanation struct {
	Parsed     map[string]string `json:"parsed"`
	ParseError string            `json:"parse_error,omitempty"`
	Normalised map[string]string `json:"normalised"`
	Anomalies  string            `json:"anomalies,omitempty"`
	Rules      []RuleTrace       `json:"rules"`
	Score      int               `json:"score"`
	Reported   bool              `json:"reported"`   // Score >= ReportScore
	SingleHit  bool              `json:"single_hit"` // Score >= SingleHitScore
}

// RuleTrace is what one rule did with a request.
type RuleTrace struct {
	ID       string `json:"id"`
	Category string `json:"category"`
	Severity string `json:"severity"`
	Matched  bool   `json:"matched"`
	Field    string `json:"field,omitempty"`
	Fragment string `json:"fragment,omitempty"`
	Param    string `json:"param,omitempty"`
	Prose    bool   `json:"prose,omitempty"`
	Why      string `json:"why"`
}

// Explain scans line with every rule (no early stop) and traces each.
// It is the slow path behind --explain; Scan stays allocation-free.
func (d *Detector) Explain(line []byte) Explanation {
	var ex Explanation
	var req accesslog.Request
	p := accesslog.NewParser(accesslog.Auto)
	if err := p.Parse(line, &req); err != nil {
		ex.ParseError = err.Error()
		return ex
	}
	ex.Parsed = map[string]string{
		"format": req.Format.String(), "addr": string(req.Addr), "time": string(req.Time), "method": string(req.Method),
		"path": string(req.Path), "query": string(req.Query), "proto": string(req.Proto), "referer": string(req.Referer),
		"user_agent": string(req.UserAgent), "host": string(req.Host), "status": fmt.Sprint(req.Status), "bytes": fmt.Sprint(req.Bytes),
	}
	var res Result
	saved := d.exhaustive
	d.exhaustive = true
	d.ScanRequest(&req, &res)
	d.exhaustive = saved
	d.Stats.Requests--
	if res.Score >= ReportScore {
		d.Stats.Flagged--
	}
	ex.Normalised = map[string]string{}
	for f := Field(0); f < numFieldKinds; f++ {
		if len(d.val[f]) > 0 {
			ex.Normalised[f.String()] = string(d.val[f])
		}
	}
	ex.Anomalies = res.Anomalies.String()
	ex.Score, ex.Reported, ex.SingleHit = res.Score, res.Score >= ReportScore, res.SingleHit
	matched := map[*Rule]*Match{}
	for i := range res.Matches {
		matched[res.Matches[i].Rule] = &res.Matches[i]
	}
	for _, r := range d.rs.rules {
		t := RuleTrace{ID: r.ID, Category: r.Category, Severity: r.Severity.String()}
		if m, ok := matched[r]; ok {
			t.Matched, t.Field, t.Fragment = true, m.Field.String(), string(m.Fragment)
			t.Param, t.Prose = string(m.Param), m.Prose
			t.Why = fmt.Sprintf("matched in %s (+%d)", m.Field, r.Severity.Points())
			if m.Prose {
				t.Why = fmt.Sprintf("matched in %s, in free-text parameter %q whose value reads as prose (+%d; such matches count %d together at most)",
					m.Field, m.Param, r.Severity.Points(), d.rs.freeText.MaxSeverity.Points())
			}
			if m.Detail != "" {
				t.Why += ", libinjection fingerprint " + m.Detail
			}
		} else {
			t.Why = d.whyNot(r)
		}
		ex.Rules = append(ex.Rules, t)
	}
	return ex
}

func (d *Detector) whyNot(r *Rule) string {
	var fields []string
	for f := Field(0); f < numFieldKinds; f++ {
		if r.Fields.Has(f) {
			fields = append(fields, f.String())
		}
	}
	in := strings.Join(fields, ", ")
	switch r.Engine {
	case EngineSQLi, EngineXSS:
		tried, found := 0, ""
		check := func(v []byte) {
			if len(v) == 0 {
				return
			}
			if r.Engine == EngineSQLi {
				if !worthSQLi(v) {
					return
				}
				tried++
				if ok, fp := libinjection.IsSQLi(string(v)); ok {
					found = fp
				}
				return
			}
			if worthXSS(v) {
				tried++
			}
		}
		if r.Fields.Has(FieldArgs) {
			for _, s := range d.args {
				check(d.val[FieldArgs][s.start:s.end])
			}
		}
		if r.Fields.Has(FieldPath) {
			for _, seg := range strings.Split(string(d.val[FieldPath]), "/") {
				check([]byte(seg))
			}
		}
		if tried == 0 {
			return "skipped: no value in " + in + " has the characters an injection needs"
		}
		if found != "" {
			return fmt.Sprintf("libinjection found SQLi with fingerprint %s, which pattern %s leaves to another rule", found, r.Pattern)
		}
		return fmt.Sprintf("libinjection: %d value(s) in %s checked, no injection", tried, in)
	}
	lit, req := false, r.index2 < 0
	for f := Field(0); f < numFieldKinds; f++ {
		if !r.Fields.Has(f) {
			continue
		}
		if d.cand[f][r.index/64]&(1<<(r.index%64)) != 0 {
			lit = true
			if r.index2 >= 0 && d.cand[f][r.index2/64]&(1<<(r.index2%64)) != 0 {
				req = true
			}
		}
	}
	switch {
	case !lit:
		return fmt.Sprintf("not tried: none of its %d literals (%s) is in %s", len(r.Literals), clipList(r.Literals), in)
	case !req:
		return fmt.Sprintf("not tried: a literal is in %s but none of requires (%s) beside it", in, clipList(r.Requires))
	}
	return fmt.Sprintf("literal found in %s, pattern did not match", in)
}

func clipList(l []string) string {
	var b strings.Builder
	for i, s := range l {
		if i == 6 {
			fmt.Fprintf(&b, ", … %d more", len(l)-6)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", s)
	}
	return b.String()
}
