package detect

import (
	"context"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/filter"
	"github.com/rampart-ids/rampart/internal/filterload"
	"github.com/rampart-ids/rampart/internal/finding"
	"github.com/rampart-ids/rampart/internal/logsource"
)

// lines is a log source that emits fixed lines.
type lines []logsource.Line

func (l lines) Run(ctx context.Context, emit func(logsource.Line)) error {
	for _, x := range l {
		emit(x)
	}
	return nil
}

type counter struct{ read, truncated, lag int }

func (c *counter) LineRead(tr bool) {
	c.read++
	if tr {
		c.truncated++
	}
}
func (c *counter) Lag(time.Duration) { c.lag++ }

func TestLogFindings(t *testing.T) {
	l, err := filterload.Load("sshd", "", filter.Options{Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	fail := func(ts string) []byte {
		return []byte(ts + " host sshd[99]: Failed password for root from 192.0.2.9 port 4242 ssh2")
	}
	src := lines{
		{Bytes: fail("2026-12-03T11:59:58+00:00")},                // live, on time
		{Bytes: fail("2026-12-03T10:00:00+00:00")},                // live, 2 h late: taken as now
		{Bytes: fail("2026-12-03T10:00:00+00:00"), Backlog: true}, // backlog keeps its time
		{Bytes: []byte("2026-12-03T11:59:59+00:00 host CRON[1]: session opened"), Truncated: true},
	}
	c := &counter{}
	d := &Log{Lines: src, Filter: l.Filter, Name: "/var/log/auth.log", Rule: "sshd", Observer: c, Now: func() time.Time { return now }}
	var got []finding.Finding
	if err := d.Run(context.Background(), func(f finding.Finding) { got = append(got, f) }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d findings, want 3: %+v", len(got), got)
	}
	want := []time.Time{now.Add(-2 * time.Second), now, time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)}
	for i, f := range got {
		if !f.Time.Equal(want[i]) || f.Addr.String() != "192.0.2.9" || f.Source != "/var/log/auth.log" || f.Rule != "sshd" || f.Evidence == "" {
			t.Errorf("finding %d = %+v, want time %v", i, f, want[i])
		}
	}
	if !got[2].Backlog || got[0].Backlog {
		t.Errorf("backlog marks wrong: %v %v", got[0].Backlog, got[2].Backlog)
	}
	if c.read != 4 || c.truncated != 1 || c.lag != 3 {
		t.Errorf("observer read %d truncated %d lag %d, want 4 1 3", c.read, c.truncated, c.lag)
	}
}
