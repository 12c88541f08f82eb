package logging

import (
	"log/slog"
	"testing"

	"github.com/coreos/go-systemd/v22/journal"
)

func TestJournalFields(t *testing.T) {
	var got []map[string]string
	var msgs []string
	var pris []journal.Priority
	h := newJournal(slog.LevelInfo, func(m string, p journal.Priority, v map[string]string) error {
		got, msgs, pris = append(got, v), append(msgs, m), append(pris, p)
		return nil
	})
	log := slog.New(h).With("version", "1.0")
	log.Info("ban", "jail", "sshd", "ip", "192.0.2.7", "until", "2026-12-03T12:10:00Z", "count", 2)
	log.Error("log source stopped", "jail", "web", "err", "permission denied")
	log.Debug("not shown")
	if len(got) != 2 {
		t.Fatalf("%d journal entries, want 2", len(got))
	}
	if msgs[0] != "ban version=1.0 jail=sshd ip=192.0.2.7 until=2026-12-03T12:10:00Z count=2" {
		t.Errorf("MESSAGE = %q", msgs[0])
	}
	want := map[string]string{"RAMPART_EVENT": "ban", "RAMPART_JAIL": "sshd", "RAMPART_IP": "192.0.2.7", "RAMPART_COUNT": "2", "RAMPART_VERSION": "1.0", "SYSLOG_IDENTIFIER": "rampart"}
	for k, v := range want {
		if got[0][k] != v {
			t.Errorf("%s = %q, want %q", k, got[0][k], v)
		}
	}
	if got[1]["RAMPART_EVENT"] != "log-source-stopped" || got[1]["RAMPART_ERR"] != "permission denied" || pris[1] != journal.PriErr || pris[0] != journal.PriInfo {
		t.Errorf("second entry %v priority %v", got[1], pris[1])
	}
}
