package webattack_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"testing"

	"github.com/rampart-ids/rampart/internal/accesslog"
	"github.com/rampart-ids/rampart/internal/webattack"
	"github.com/rampart-ids/rampart/internal/webattack/corpus"
)

// TestCorpusDetection runs the detector over the generated corpus log and
// holds it to issue 11's targets: >= 90 % of SQLi and XSS attackers, >= 85 %
// overall, >= 60 % in every category, and no benign client flagged at all.
func TestCorpusDetection(t *testing.T) {
	var log bytes.Buffer
	truth, err := corpus.Generate(&log, corpus.Options{Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	rules, err := webattack.BuiltinRules()
	if err != nil {
		t.Fatal(err)
	}
	rs, err := webattack.Compile(rules)
	if err != nil {
		t.Fatal(err)
	}
	d := rs.NewDetector(accesslog.Auto)
	var res webattack.Result
	total := map[string]int{}
	caught := map[string]int{}
	benign := map[netip.Addr]bool{}
	flaggedBenign := map[netip.Addr]string{}
	var missed []string
	sc := bufio.NewScanner(&log)
	sc.Buffer(nil, 1<<20)
	for i := 0; sc.Scan(); i++ {
		e := truth[i]
		hit := d.Scan(sc.Bytes(), &res)
		if d.LastError() != nil && d.Stats.Skipped > 0 {
			t.Fatalf("line %d did not parse: %v", i+1, d.LastError())
		}
		if e.Category == "" {
			benign[e.Addr] = true
			if hit {
				top := res.Top()
				flaggedBenign[e.Addr] = fmt.Sprintf("line %d %s: %s %s=%q", i+1, sc.Text(), top.Rule.ID, top.Field, top.Fragment)
			}
			continue
		}
		total[e.Category]++
		if hit {
			caught[e.Category]++
		} else {
			missed = append(missed, fmt.Sprintf("%s (%s): %s score %d", e.Source, e.Category, clip(sc.Text(), 160), res.Score))
		}
	}
	cats := make([]string, 0, len(total))
	all, allCaught := 0, 0
	for c := range total {
		cats = append(cats, c)
		all += total[c]
		allCaught += caught[c]
	}
	sort.Strings(cats)
	var tbl strings.Builder
	fmt.Fprintf(&tbl, "\n%-9s %8s %8s %7s\n", "category", "attacks", "flagged", "rate")
	for _, c := range cats {
		fmt.Fprintf(&tbl, "%-9s %8d %8d %6.1f%%\n", c, total[c], caught[c], pct(caught[c], total[c]))
	}
	fmt.Fprintf(&tbl, "%-9s %8d %8d %6.1f%%\n", "overall", all, allCaught, pct(allCaught, all))
	fmt.Fprintf(&tbl, "benign clients flagged: %d of %d (%d lines)\n", len(flaggedBenign), len(benign), d.Stats.Lines-all)
	t.Log(tbl.String())
	for _, m := range missed {
		t.Logf("missed %s", m)
	}
	for _, c := range cats {
		want := 60.0
		if c == "sqli" || c == "xss" {
			want = 90
		}
		if got := pct(caught[c], total[c]); got < want {
			t.Errorf("%s: %.1f%% of attackers flagged, want >= %.0f%%", c, got, want)
		}
	}
	if got := pct(allCaught, all); got < 85 {
		t.Errorf("overall: %.1f%% of attackers flagged, want >= 85%%", got)
	}
	// What the rules catch here today: a change that loses one of these
	// (RFI-001's narrowing once lost two, unnoticed above the targets)
	// fails. Raise it with the rules; never lower it.
	if allCaught < 459 {
		t.Errorf("overall: %d of %d attackers flagged, fewer than the 459 of 2026-12-04", allCaught, all)
	}
	for a, why := range flaggedBenign {
		t.Errorf("benign client %s flagged: %s", a, why)
	}
}

func pct(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return 100 * float64(a) / float64(b)
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
