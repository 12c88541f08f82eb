package limits

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/netns"
)

// TestApplyChanges: a limit added, changed and removed takes effect in
// one batch each; a set whose timeout is unchanged keeps its bans, a
// changed bantime makes a new set; other owners' objects stay.
func TestApplyChanges(t *testing.T) {
	need(t)
	ns := netns.New(t, "lapply")
	k := Kernel{NetNS: ns.Fd()}
	ns.MustExec(t, "nft", "add table inet rampart; add set inet rampart ban-sshd-v4 { type ipv4_addr; }; add chain inet rampart policy-input { type filter hook input priority 0; policy accept; }")
	api := Limit{Name: "api", Port: 9000, Protocol: "tcp", Rate: 30, Per: time.Minute, BanTime: 10 * time.Minute}
	db := Limit{Name: "db", Port: 5432, Protocol: "tcp", MaxConn: 5, BanTime: time.Hour}
	if err := k.Apply([]Limit{api, db}); err != nil {
		t.Fatal(err)
	}
	ns.MustExec(t, "nft", "add element inet rampart kban-api-v4 { 192.0.2.7 }; add element inet rampart kban-db-v6 { 2001:db8:5:: }")
	list := func() string { return ns.MustExec(t, "nft", "list", "table", "inet", "rampart") }
	if s := list(); !strings.Contains(s, "lconn-db-v6") || !strings.Contains(s, "lrate-api-v4") || !strings.Contains(s, "priority filter - 10") {
		t.Fatalf("after apply:\n%s", s)
	}
	// Apply again, unchanged: the bans stay.
	if err := k.Apply([]Limit{api, db}); err != nil {
		t.Fatal(err)
	}
	bans, err := k.Bans([]Limit{api, db})
	if err != nil || len(bans) != 2 {
		t.Fatalf("Bans after a second apply = %+v, %v", bans, err)
	}
	if bans[0].Limit != "api" || bans[0].Prefix != netip.MustParsePrefix("192.0.2.7/32") || bans[1].Prefix != netip.MustParsePrefix("2001:db8:5::/64") {
		t.Errorf("Bans = %+v", bans)
	}
	// db's bantime changes, api goes.
	db.BanTime = 2 * time.Hour
	if err := k.Apply([]Limit{db}); err != nil {
		t.Fatal(err)
	}
	s := list()
	if strings.Contains(s, "api") {
		t.Errorf("limit api left objects:\n%s", s)
	}
	if !strings.Contains(s, "timeout 2h") || !strings.Contains(s, "ban-sshd-v4") || !strings.Contains(s, "policy-input") {
		t.Errorf("after the change:\n%s", s)
	}
	if ok, err := k.Present(); err != nil || !ok {
		t.Errorf("Present = %v, %v", ok, err)
	}
	// None: the layer is gone, the others' objects stay.
	if err := k.Apply(nil); err != nil {
		t.Fatal(err)
	}
	s = list()
	if strings.Contains(s, "limits-input") || strings.Contains(s, "kban") || strings.Contains(s, "lconn") || !strings.Contains(s, "ban-sshd-v4") {
		t.Errorf("after removing every limit:\n%s", s)
	}
	if ok, _ := k.Present(); ok {
		t.Error("Present after removal")
	}
}

// TestOneTransaction: an apply that replaces 10 limits' rules and changes
// a bantime (a set deleted and created again) is one kernel transaction:
// `nft monitor` prints exactly one new generation.
func TestOneTransaction(t *testing.T) {
	need(t)
	ns := netns.New(t, "limtx")
	k := Kernel{NetNS: ns.Fd()}
	if err := k.Apply(benchLimits(9000)); err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	mon := ns.Command(context.Background(), "nft", "monitor")
	mon.Stdout = &out
	if err := mon.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = mon.Process.Kill(); _ = mon.Wait() }()
	time.Sleep(300 * time.Millisecond) // let nft subscribe
	next := benchLimits(9100)
	next[0].BanTime = time.Hour
	if err := k.Apply(next); err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end) && !strings.Contains(out.String(), "new generation"); {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	got := out.String()
	if n := strings.Count(got, "new generation"); n != 1 {
		t.Fatalf("apply made %d transactions, want 1:\n%s", n, got)
	}
	if n := strings.Count(got, "add rule inet rampart limits-input"); n != 60 {
		t.Errorf("the transaction added %d rules, want 60", n)
	}
	if !strings.Contains(got, "delete set inet rampart kban-svc0-v4") || !strings.Contains(got, "add set inet rampart kban-svc0-v4") {
		t.Errorf("the changed bantime did not re-create kban-svc0-v4:\n%s", got)
	}
}

// TestBaselineAndLimitsOneTransaction: the daemon's start/reload apply —
// a baseline of 119 rules and 10 limits replaced by other versions — is one
// kernel transaction: one new generation holding both layers' rules.
func TestBaselineAndLimitsOneTransaction(t *testing.T) {
	need(t)
	ns := netns.New(t, "bltx")
	if err := together(ns.Fd(), benchLimits(9000)).Apply(benchBaseline(t, 1000)); err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	mon := ns.Command(context.Background(), "nft", "monitor")
	mon.Stdout = &out
	if err := mon.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = mon.Process.Kill(); _ = mon.Wait() }()
	time.Sleep(300 * time.Millisecond) // let nft subscribe
	pol := benchBaseline(t, 2000)
	if err := together(ns.Fd(), benchLimits(9100)).Apply(pol); err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end) && !strings.Contains(out.String(), "new generation"); {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	got := out.String()
	if n := strings.Count(got, "new generation"); n != 1 {
		t.Fatalf("apply made %d transactions, want 1:\n%s", n, got)
	}
	if n := strings.Count(got, "add rule inet rampart limits-input"); n != 60 {
		t.Errorf("the transaction added %d limit rules, want 60", n)
	}
	if n := strings.Count(got, "add rule inet rampart policy-input"); n != len(pol.Rules) {
		t.Errorf("the transaction added %d baseline rules, want %d", n, len(pol.Rules))
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
