package store

import (
	"context"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/event"
)

// An event whose only detail is its score or its path keeps it: a perfect
// audit (score 100, no failing check) was read back as score 0.
func TestEventsScoreOrPathAlone(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	evs := []event.Event{
		{Kind: event.AuditResult, Time: t0, Rule: "audit", Score: 100, Severity: "info"},
		{Kind: event.IntegrityChange, Time: t0.Add(time.Second), Rule: "fim", Path: "/etc/hosts", Severity: "medium"},
	}
	if err := s.AddEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	got, err := s.Events(ctx, EventQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Score != 100 || got[1].Path != "/etc/hosts" {
		t.Fatalf("read back %+v, want score 100 and path /etc/hosts", got)
	}
}
