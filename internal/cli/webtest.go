package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"time"

	"github.com/rampart-ids/rampart/internal/accesslog"
	"github.com/rampart-ids/rampart/internal/webattack"
	"github.com/spf13/pflag"
)

// webAttacksFilter is the FILTER name of 'rampart filter test' that runs
// the web-attack detector instead of a line filter.
const webAttacksFilter = "web-attacks"

type webTestFlags struct {
	format  string
	explain int
}

// addWebTestFlags registers the flags only web-attacks uses on 'filter test'.
func addWebTestFlags(f *pflag.FlagSet) *webTestFlags {
	var w webTestFlags
	f.StringVar(&w.format, "format", "auto", "web-attacks: access-log format: nginx, apache, caddy, traefik, json or auto")
	f.IntVar(&w.explain, "explain", 0, "web-attacks: explain why line N did or did not match (parsed fields, normalised values, every rule)")
	return &w
}

// webHit is one flagged request in --json output.
type webHit struct {
	Line      int      `json:"line"`
	IP        string   `json:"ip"`
	Time      string   `json:"time,omitempty"`
	Rule      string   `json:"rule"`
	Category  string   `json:"category"`
	Severity  string   `json:"severity"`
	Field     string   `json:"field"`
	Fragment  string   `json:"fragment"`
	Detail    string   `json:"detail,omitempty"`
	Param     string   `json:"param,omitempty"` // the query parameter the match is in
	Prose     bool     `json:"prose,omitempty"` // in a free-text parameter read as prose: counted at most medium
	Score     int      `json:"score"`
	SingleHit bool     `json:"single_hit"`
	Also      []string `json:"also,omitempty"` // other rules that matched
}

// detectLines is how many lines may fail to parse at the start of a log
// before the format counts as unknown.
const detectLines = 20

func runWebTest(g *globals, w *webTestFlags, asJSON, journal bool, args []string) error {
	if journal || len(args) != 1 {
		return usageErr(fmt.Errorf("filter test web-attacks reads one access-log file (or - for standard input), not the journal: rampart filter test web-attacks LOG"))
	}
	logPath := args[0]
	format, err := accesslog.ParseFormat(w.format)
	if err != nil {
		return usageErr(err)
	}
	rules, err := webattack.BuiltinRules()
	if err != nil {
		return err
	}
	rs, err := webattack.Compile(rules)
	if err != nil {
		return err
	}
	var in io.Reader = g.stdin
	if logPath != "-" {
		fh, err := os.Open(logPath)
		if err != nil {
			return usageErr(fmt.Errorf("log file: %v", err))
		}
		defer fh.Close()
		in = fh
	}
	d := rs.NewDetector(format)
	br := bufio.NewReaderSize(in, 256<<10)
	out := bufio.NewWriterSize(g.stdout, 64<<10)
	defer out.Flush()
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	var (
		res       webattack.Result
		sum       webSummary
		firstErr  error
		firstLine int
		long      []byte
	)
	sum.byCat = map[string]*catCount{}
	start := time.Now()
	for n := 1; ; n++ {
		chunk, rerr := br.ReadSlice('\n')
		line := chunk
		if rerr == bufio.ErrBufferFull {
			long = append(long[:0], chunk...)
			for rerr == bufio.ErrBufferFull {
				chunk, rerr = br.ReadSlice('\n')
				if len(long) <= accesslog.MaxLine {
					long = append(long, chunk...)
				}
			}
			line = long
		}
		if len(line) == 0 && rerr != nil {
			break
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			if rerr != nil {
				break
			}
			continue
		}
		sum.lines++
		if w.explain > 0 {
			if n == w.explain {
				return printExplain(out, n, d.Explain(line), asJSON)
			}
			if rerr != nil {
				break
			}
			continue
		}
		hit := d.Scan(line, &res)
		if d.Stats.Skipped > sum.skipped {
			sum.skipped = d.Stats.Skipped
			if len(line) > accesslog.MaxLine {
				sum.tooLong++
			}
			if firstErr == nil {
				firstErr, firstLine = d.LastError(), n
			}
			if sum.skipped == sum.lines && sum.lines >= detectLines {
				return usageErr(fmt.Errorf("%s: unknown format: the first %d lines parse as no access log; line %d: %v (set --format, or see docs/WEBATTACKS.md for the formats read)", logPath, detectLines, firstLine, firstErr))
			}
		}
		if hit {
			sum.add(d, n, &res)
			if asJSON {
				_ = enc.Encode(webHitOf(d.Request(), n, &res))
			}
		}
		if rerr != nil {
			if rerr != io.EOF {
				return fmt.Errorf("reading %s: %v", logPath, rerr)
			}
			break
		}
	}
	if w.explain > 0 {
		return usageErr(fmt.Errorf("--explain %d: %s has only %d lines", w.explain, logPath, sum.lines))
	}
	if sum.lines > 0 && sum.skipped == sum.lines {
		return usageErr(fmt.Errorf("%s: unknown format: no line parses as an access log; line %d: %v", logPath, firstLine, firstErr))
	}
	sum.elapsed = time.Since(start)
	if !asJSON {
		sum.print(out, firstLine, firstErr)
	}
	return nil
}

func webHitOf(r *accesslog.Request, n int, res *webattack.Result) webHit {
	top := res.Top()
	h := webHit{Line: n, IP: string(r.Addr), Rule: top.Rule.ID, Category: top.Rule.Category, Severity: top.Severity.String(),
		Field: top.Field.String(), Fragment: string(top.Fragment), Detail: top.Detail, Param: string(top.Param), Prose: top.Prose,
		Score: res.Score, SingleHit: res.SingleHit}
	if ip, err := r.IP(); err == nil {
		h.IP = ip.String()
	}
	if t, ok := r.When(); ok {
		h.Time = t.Format(time.RFC3339)
	}
	for i := range res.Matches {
		if m := &res.Matches[i]; m != top {
			h.Also = append(h.Also, m.Rule.ID)
		}
	}
	return h
}

type catCount struct {
	requests int
	addrs    map[string]bool
	rules    map[string]int
}

type webSummary struct {
	lines, skipped, tooLong, flagged, single int
	byCat                                    map[string]*catCount
	elapsed                                  time.Duration
}

func (s *webSummary) add(d *webattack.Detector, n int, res *webattack.Result) {
	top := res.Top()
	c := s.byCat[top.Rule.Category]
	if c == nil {
		c = &catCount{addrs: map[string]bool{}, rules: map[string]int{}}
		s.byCat[top.Rule.Category] = c
	}
	s.flagged++
	if res.SingleHit {
		s.single++
	}
	c.requests++
	c.addrs[string(d.Request().Addr)] = true
	c.rules[top.Rule.ID]++
}

func (s *webSummary) print(w io.Writer, firstLine int, firstErr error) {
	fmt.Fprintf(w, "Filter:   web-attacks (built-in rules, libinjection)\n")
	fmt.Fprintf(w, "Lines:    %d read in %s (%.0f lines/s)\n", s.lines, s.elapsed.Round(time.Millisecond), float64(s.lines)/s.elapsed.Seconds())
	fmt.Fprintf(w, "Skipped:  %d (not an access-log line", s.skipped)
	if s.tooLong > 0 {
		fmt.Fprintf(w, "; %d longer than %d bytes", s.tooLong, accesslog.MaxLine)
	}
	fmt.Fprintf(w, ")\n")
	if firstErr != nil {
		fmt.Fprintf(w, "          first: line %d: %v\n", firstLine, firstErr)
	}
	fmt.Fprintf(w, "Flagged:  %d requests, %d of them single-hit (ban on one request)\n", s.flagged, s.single)
	if len(s.byCat) == 0 {
		return
	}
	cats := make([]string, 0, len(s.byCat))
	for c := range s.byCat {
		cats = append(cats, c)
	}
	sort.Slice(cats, func(i, j int) bool { return s.byCat[cats[i]].requests > s.byCat[cats[j]].requests })
	fmt.Fprintf(w, "\n%-10s %9s %9s  %s\n", "category", "requests", "addresses", "top rules")
	for _, name := range cats {
		c := s.byCat[name]
		ids := make([]string, 0, len(c.rules))
		for id := range c.rules {
			ids = append(ids, id)
		}
		sort.Slice(ids, func(i, j int) bool {
			return c.rules[ids[i]] > c.rules[ids[j]] || (c.rules[ids[i]] == c.rules[ids[j]] && ids[i] < ids[j])
		})
		top := ""
		for i, id := range ids {
			if i == 3 {
				break
			}
			if i > 0 {
				top += ", "
			}
			top += id + " (" + strconv.Itoa(c.rules[id]) + ")"
		}
		fmt.Fprintf(w, "%-10s %9d %9d  %s\n", name, c.requests, len(c.addrs), top)
	}
}

func printExplain(w io.Writer, n int, ex webattack.Explanation, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		return enc.Encode(struct {
			Line int `json:"line"`
			webattack.Explanation
		}{n, ex})
	}
	fmt.Fprintf(w, "Line %d\n", n)
	if ex.ParseError != "" {
		fmt.Fprintf(w, "  not parsed: %s\n", ex.ParseError)
		return nil
	}
	keys := func(m map[string]string) []string {
		ks := make([]string, 0, len(m))
		for k := range m {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		return ks
	}
	fmt.Fprintf(w, "\nParsed:\n")
	for _, k := range keys(ex.Parsed) {
		fmt.Fprintf(w, "  %-11s %q\n", k, ex.Parsed[k])
	}
	fmt.Fprintf(w, "\nNormalised (what rules see):\n")
	for _, k := range keys(ex.Normalised) {
		fmt.Fprintf(w, "  %-11s %q\n", k, ex.Normalised[k])
	}
	if ex.Anomalies != "" {
		fmt.Fprintf(w, "  anomalies   %s\n", ex.Anomalies)
	}
	verdict := "not reported"
	switch {
	case ex.SingleHit:
		verdict = "reported, single-hit (bans on this request)"
	case ex.Reported:
		verdict = "reported (counts towards maxretry)"
	}
	fmt.Fprintf(w, "\nScore: %d (report at %d, single-hit at %d): %s\n", ex.Score, webattack.ReportScore, webattack.SingleHitScore, verdict)
	fmt.Fprintf(w, "\nRules:\n")
	for _, r := range ex.Rules {
		if r.Matched {
			fmt.Fprintf(w, "  + %-15s %-8s %-8s %s: %q\n", r.ID, r.Category, r.Severity, r.Why, r.Fragment)
		}
	}
	for _, r := range ex.Rules {
		if !r.Matched {
			fmt.Fprintf(w, "  - %-15s %-8s %-8s %s\n", r.ID, r.Category, r.Severity, r.Why)
		}
	}
	return nil
}
