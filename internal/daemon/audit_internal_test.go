package daemon

import (
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/audit"
	"github.com/rampart-ids/rampart/internal/event"
)

func TestAuditRunEvent(t *testing.T) {
	at := time.Date(2026, 12, 4, 1, 0, 0, 0, time.UTC)
	rep := &audit.Report{Score: 61, Time: at, Checks: []audit.Finding{
		{ID: "ssh.root-login", Status: audit.Fail, Severity: audit.High, Title: "root cannot log in"},
		{ID: "ssh.passwords", Status: audit.Pass},
		{ID: "updates.unattended", Status: audit.Fail, Severity: audit.Medium, Title: "updates install"},
		{ID: "backups.recent", Status: audit.Warn},
	}}
	e, counts := auditRunEvent(rep)
	if e.Kind != event.AuditResult || e.Score != 61 || e.Count != 2 || !e.Time.Equal(at) || e.Severity != "medium" {
		t.Fatalf("event %+v", e)
	}
	if len(e.Evidence) != 2 || e.Evidence[0] != "ssh.root-login (high): root cannot log in" {
		t.Errorf("evidence %q", e.Evidence)
	}
	if counts["fail"] != 2 || counts["pass"] != 1 || counts["warn"] != 1 || counts["skip"] != 0 {
		t.Errorf("counts %v", counts)
	}
}
