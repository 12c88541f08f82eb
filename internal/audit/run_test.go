package audit

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRunTimeoutAndPanic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		defer close(release)
		checks := []Check{
			{ID: "t.hang", Area: AreaDocs, Severity: Low, Run: func(ctx context.Context, e *Env) Result {
				<-release // ignores ctx: the runner must not wait for it
				return pass("late")
			}},
			{ID: "t.slow", Area: AreaDocs, Severity: Low, Run: func(ctx context.Context, e *Env) Result {
				<-ctx.Done()
				return errorf("gave up: %v", ctx.Err())
			}},
			{ID: "t.panic", Area: AreaDocs, Severity: High, Run: func(ctx context.Context, e *Env) Result {
				var m map[string]int
				m["x"] = 1
				return pass("unreachable")
			}},
			{ID: "t.empty", Area: AreaDocs, Severity: Low, Run: func(ctx context.Context, e *Env) Result { return Result{} }},
			{ID: "t.ok", Area: AreaDocs, Severity: Medium, Run: func(ctx context.Context, e *Env) Result { return pass("fine") }},
		}
		e := &Env{Now: time.Unix(0, 0), Host: "h"}
		start := time.Now()
		rep := Run(t.Context(), e, checks, Options{Timeout: 3 * time.Second, Parallel: 2})
		if d := time.Since(start); d > 4*time.Second {
			t.Errorf("run took %v with a 3s per-check timeout", d)
		}
		got := map[string]Status{}
		for _, f := range rep.Checks {
			got[f.ID] = f.Status
		}
		want := map[string]Status{"t.hang": Error, "t.slow": Error, "t.panic": Error, "t.empty": Error, "t.ok": Pass}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("statuses (-want +got):\n%s", d)
		}
		if ev := rep.Checks[0].Evidence; ev != "timed out after 3s" {
			t.Errorf("hang evidence = %q", ev)
		}
	})
}

func TestScore(t *testing.T) {
	for _, tc := range []struct {
		name string
		fs   []Finding
		want int
	}{
		{"empty", nil, -1},
		{"only skips", []Finding{{Severity: High, Status: Skip}, {Severity: Low, Status: Error}}, -1},
		{"all pass", []Finding{{Severity: High, Status: Pass}, {Severity: Low, Status: Pass}}, 100},
		{"high fails", []Finding{{Severity: High, Status: Fail}, {Severity: Low, Status: Pass}}, 2 * 100 / 12},
		{"warn is half", []Finding{{Severity: Medium, Status: Warn}}, 50},
		{"weights", []Finding{{Severity: High, Status: Pass}, {Severity: Medium, Status: Fail}, {Severity: Low, Status: Fail}}, 10 * 100 / 17},
	} {
		if got := Score(tc.fs); got != tc.want {
			t.Errorf("%s: Score = %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestFailedThreshold(t *testing.T) {
	rep := &Report{Checks: []Finding{{Severity: Medium, Status: Fail}, {Severity: High, Status: Warn}}}
	for _, tc := range []struct {
		min  Severity
		want bool
	}{{High, false}, {Medium, true}, {Low, true}} {
		if got := rep.Failed(tc.min); got != tc.want {
			t.Errorf("Failed(%s) = %v, want %v", tc.min, got, tc.want)
		}
	}
}

func TestCheckListIsWellFormed(t *testing.T) {
	seen := map[string]bool{}
	areas := map[Area]int{}
	for _, c := range Checks() {
		if seen[c.ID] {
			t.Errorf("duplicate check %s", c.ID)
		}
		seen[c.ID] = true
		areas[c.Area]++
		if c.ID[:len(c.Area)] != string(c.Area) || c.ID[len(c.Area)] != '.' {
			t.Errorf("%s: ID does not start with its area %q", c.ID, c.Area)
		}
		if c.Title == "" || c.Reads == "" || c.Why == "" || c.Remediation == "" || c.Run == nil || c.Severity < Low || c.Severity > High {
			t.Errorf("%s: incomplete metadata", c.ID)
		}
	}
	if len(seen) < 60 {
		t.Errorf("%d checks, want at least 60", len(seen))
	}
	for _, a := range Areas() {
		if areas[a] == 0 {
			t.Errorf("area %s has no check", a)
		}
	}
}

// BenchmarkAuditHardened runs every check against the hardened fixture tree
// (fake commands, an in-process SSH server for the probe, a fresh Env per
// run so nothing is cached across iterations).
func BenchmarkAuditHardened(b *testing.B) {
	probes := startProbes(b)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		fe := buildFixture(b, fixture{}, probes)
		b.StartTimer()
		Run(context.Background(), fe.env, Checks(), Options{})
	}
}

// TestSlowProbeDoesNotStall: a command that hangs (here nft) gives the
// checks that need it an error naming the timeout; the others finish
// normally. (apt-config hangs too: its checks fall back to parsing
// apt.conf.d, so they may pass or time out.)
func TestSlowProbeDoesNotStall(t *testing.T) {
	probes := startProbes(t)
	fe := buildFixture(t, fixture{cmds: map[string]string{
		"apt-config dump":     "@sleep:30s",
		"nft -j list ruleset": "@sleep:30s",
	}}, probes)
	rep := Run(t.Context(), fe.env, Checks(), Options{Timeout: 2 * time.Second})
	for _, f := range rep.Checks {
		if f.ID == "updates.periodic" || f.ID == "updates.security-origin" {
			continue
		}
		slow := (len(f.ID) > 9 && f.ID[:9] == "firewall." && f.ID != "firewall.listening-intended" && f.ID != "firewall.single-manager" && f.ID != "firewall.boot" && f.ID != "firewall.ip-forward" && f.ID != "firewall.ufw-ipv6")
		switch {
		case slow && (f.Status != Error || (f.Evidence != "timed out after 2s" && !strings.Contains(f.Evidence, "deadline exceeded"))):
			t.Errorf("%s = %s %q, want a timeout error", f.ID, f.Status, f.Evidence)
		case !slow && f.Status == Error:
			t.Errorf("%s = error %q, want it unaffected by the slow commands", f.ID, f.Evidence)
		}
	}
}
