package daemon_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/daemon"
	"github.com/rampart-ids/rampart/internal/event"
)

// TestScheduledAudit: with [audit] delay 0 the daemon runs the audit's
// checks against this host at start and publishes one audit-result event
// whose score and failing checks are the report's.
func TestScheduledAudit(t *testing.T) {
	evs := make(chan event.Event, 4)
	startTestDaemon(t, "[audit]\ndelay = \"0s\"\nschedule = \"10m\"\n", daemon.Options{Subscribers: []daemon.Subscriber{{Name: "test", Kinds: []event.Kind{event.AuditResult},
		Handle: func(_ context.Context, es []event.Event) {
			for _, e := range es {
				evs <- e
			}
		}}}})
	var e event.Event
	select {
	case e = <-evs:
	case <-time.After(60 * time.Second):
		t.Fatal("no audit-result event within 60 s of start")
	}
	if e.Err != "" {
		t.Fatalf("audit refused: %s", e.Err)
	}
	if e.Score < 0 || e.Score > 100 || e.Count != len(e.Evidence) {
		t.Fatalf("event %+v: want a score 0-100 and one evidence line per failing check", e)
	}
	for _, l := range e.Evidence {
		if id, _, ok := strings.Cut(l, " ("); !ok || !strings.Contains(id, ".") {
			t.Errorf("evidence %q does not start with a check ID", l)
		}
	}
	t.Logf("score %d, %d failing checks", e.Score, e.Count)
	select {
	case e := <-evs:
		t.Fatalf("a second run before the schedule: %+v", e)
	case <-time.After(time.Second):
	}
}
