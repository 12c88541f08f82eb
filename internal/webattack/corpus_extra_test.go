package webattack_test

import (
	"bufio"
	"bytes"
	"testing"

	"github.com/rampart-ids/rampart/internal/accesslog"
	"github.com/rampart-ids/rampart/internal/webattack"
	"github.com/rampart-ids/rampart/internal/webattack/corpus"
)

// TestBenignSeeds runs larger benign-only logs from several seeds: more
// combinations of pages, searches, tokens and links, none flagged.
func TestBenignSeeds(t *testing.T) {
	rules, err := webattack.BuiltinRules()
	if err != nil {
		t.Fatal(err)
	}
	rs, err := webattack.Compile(rules)
	if err != nil {
		t.Fatal(err)
	}
	for seed := uint64(100); seed < 104; seed++ {
		var log bytes.Buffer
		if _, err := corpus.Generate(&log, corpus.Options{Seed: seed, BenignLines: 10000, AttackLines: -1}); err != nil {
			t.Fatal(err)
		}
		d := rs.NewDetector(accesslog.Auto)
		var res webattack.Result
		sc := bufio.NewScanner(&log)
		for sc.Scan() {
			if d.Scan(sc.Bytes(), &res) {
				top := res.Top()
				t.Errorf("seed %d: benign line flagged by %s (%s=%q): %s", seed, top.Rule.ID, top.Field, top.Fragment, sc.Text())
			}
		}
	}
}
