package webattack_test

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/rampart-ids/rampart/internal/accesslog"
	"github.com/rampart-ids/rampart/internal/webattack"
	"github.com/rampart-ids/rampart/internal/webattack/corpus"
)

// TestFreeTextCost measures what the free-text cap costs on every attack
// corpus: the attacks that ban on their one request (single-hit) with the
// cap and without it, by corpus and category. The cap may never turn a
// finding into none, and may take single-hit from at most 1 % of a
// corpus's attacks (it is meant for prose, which attacks rarely are).
func TestFreeTextCost(t *testing.T) {
	rules, err := webattack.BuiltinRules()
	if err != nil {
		t.Fatal(err)
	}
	on, err := webattack.Compile(rules)
	if err != nil {
		t.Fatal(err)
	}
	off, err := webattack.Compile(rules, webattack.WithFreeText(webattack.FreeText{}))
	if err != nil {
		t.Fatal(err)
	}
	don, doff := on.NewDetector(accesslog.Auto), off.NewDetector(accesslog.Auto)
	var ron, roff webattack.Result
	type entry struct{ corpus, cat, line string }
	var entries []entry
	attacks, err := corpus.Attacks()
	if err != nil {
		t.Fatal(err)
	}
	esc := strings.NewReplacer(`\`, `\x5C`, `"`, `\x22`).Replace
	for _, a := range attacks {
		ua, ref := a.Agent, a.Referer
		if ua == "" {
			ua = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
		}
		if ref == "" {
			ref = "-"
		}
		entries = append(entries, entry{"training", a.Category,
			fmt.Sprintf(`198.18.0.1 - - [03/Dec/2026:16:40:01 +0000] "GET %s HTTP/1.1" 200 512 "%s" "%s"`, esc(a.Target), esc(ref), esc(ua))})
	}
	for _, dir := range []string{heldout, heldout2} {
		files, _ := filepath.Glob(filepath.Join(dir, "attacks", "*.txt"))
		if len(files) == 0 {
			t.Fatalf("%s: no attack files", dir)
		}
		for _, f := range files {
			for _, l := range readCorpus(t, f) {
				entries = append(entries, entry{filepath.Base(dir), strings.TrimSuffix(filepath.Base(f), ".txt"), logLine("198.18.0.1", l)})
			}
		}
	}
	type count struct{ n, flagOn, flagOff, singleOn, singleOff int }
	counts := map[string]*count{}
	totals := map[string]*count{}
	for _, e := range entries {
		k := e.corpus + " " + e.cat
		if counts[k] == nil {
			counts[k] = &count{}
		}
		if totals[e.corpus] == nil {
			totals[e.corpus] = &count{}
		}
		hitOn, hitOff := don.Scan([]byte(e.line), &ron), doff.Scan([]byte(e.line), &roff)
		for _, c := range []*count{counts[k], totals[e.corpus]} {
			c.n++
			c.flagOn += b2i(hitOn)
			c.flagOff += b2i(hitOff)
			c.singleOn += b2i(ron.SingleHit)
			c.singleOff += b2i(roff.SingleHit)
		}
		if hitOff && !hitOn {
			t.Errorf("%s %s: a finding without the cap, none with it: %s", e.corpus, e.cat, e.line)
		}
		if roff.SingleHit && !ron.SingleHit {
			top := ron.Top()
			t.Logf("single-hit lost: %s %s: %s %s[%s]=%q score %d", e.corpus, e.cat, top.Rule.ID, top.Field, top.Param, top.Fragment, ron.Score)
		}
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-20s %7s %15s %15s\n", "corpus category", "attacks", "flagged off/on", "single off/on")
	for _, k := range keys {
		c := counts[k]
		fmt.Fprintf(&b, "%-20s %7d %7d/%-7d %7d/%-7d\n", k, c.n, c.flagOff, c.flagOn, c.singleOff, c.singleOn)
	}
	t.Log(b.String())
	for name, c := range totals {
		t.Logf("%s: %d attacks, single-hit %d without the cap, %d with it", name, c.n, c.singleOff, c.singleOn)
		if lost := c.singleOff - c.singleOn; lost*100 > c.n {
			t.Errorf("%s: the cap takes single-hit from %d of %d attacks, want <= 1 %%", name, lost, c.n)
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
