package daemon_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/control"
	"github.com/rampart-ids/rampart/internal/daemon"
	"github.com/rampart-ids/rampart/internal/event"
	"github.com/rampart-ids/rampart/internal/origin"
)

// A real daemon reading a real log file: the findings are stored with
// their log lines, `why` explains the ban they caused, and a follower sees
// a ban as it happens.
func TestEventsAndWhy(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "auth.log")
	if err := os.WriteFile(logPath, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	d := startTestDaemon(t, fmt.Sprintf(`[jails.sshd]
enabled = true
logpath = [%q]
maxretry = 3
ignoreip = ["192.0.2.200"]
`, logPath), daemon.Options{})
	c := d.client
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// A follower, started before the attack.
	followed := make(chan control.Event, 64)
	fctx, fcancel := context.WithCancel(ctx)
	defer fcancel()
	go c.Follow(fctx, control.EventsRequest{Kinds: []event.Kind{event.BanAdded}}, func(e control.Event) error {
		followed <- e
		return nil
	})
	time.Sleep(200 * time.Millisecond) // the follower's subscription is in place

	f, err := os.OpenFile(logPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for i := range 3 {
		l := fmt.Sprintf("%s host sshd[%d]: Failed password for root from 192.0.2.7 port %d ssh2", time.Now().Format(time.RFC3339), 100+i, 40000+i)
		lines = append(lines, l)
		fmt.Fprintln(f, l)
	}
	f.Close()

	select {
	case e := <-followed:
		if e.Prefix != netip.MustParsePrefix("192.0.2.7/32") || e.Origin != "jail sshd" {
			t.Errorf("followed ban = %+v", e)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the follower saw no ban within 10 s")
	}
	a := netip.MustParseAddr("192.0.2.7")
	var why control.WhyReply
	waitFor(t, "the ban's events in the history", func() bool {
		why, err = c.Why(ctx, a)
		return err == nil && len(why.Events) >= 4
	})
	if len(why.Bans) != 1 || why.Bans[0].Origin != origin.OfJail("sshd") || why.Bans[0].Until.IsZero() {
		t.Errorf("why: bans = %+v, want one timed ban of origin jail sshd", why.Bans)
	}
	var findings []string
	for _, e := range why.Events {
		if e.Kind == event.Finding {
			findings = append(findings, e.Evidence...)
		}
	}
	if strings.Join(findings, "\n") != strings.Join(lines, "\n") {
		t.Errorf("why: the findings' log lines are\n%s\nwant\n%s", strings.Join(findings, "\n"), strings.Join(lines, "\n"))
	}
	if len(why.History) != 1 || len(why.Next) != 1 || why.Next[0].Count != 1 {
		t.Errorf("why: history %+v, next %+v; want one past ban, counted by the next", why.History, why.Next)
	}
	if w, err := c.Why(ctx, netip.MustParseAddr("192.0.2.200")); err != nil || len(w.Ignored) != 1 || len(w.Bans) != 0 {
		t.Errorf("why of an ignoreip address = %+v, %v", w, err)
	}
	bans, err := c.Events(ctx, control.EventsRequest{Kinds: []event.Kind{event.BanAdded}, Addr: a})
	if err != nil || len(bans) != 1 || bans[0].ID == 0 {
		t.Errorf("events --kind ban --ip = %+v, %v", bans, err)
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatalf("no %s within 10 s", what)
}
