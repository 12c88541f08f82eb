package daemon

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/config"
	"github.com/rampart-ids/rampart/internal/jail"
	"github.com/rampart-ids/rampart/internal/origin"
	"github.com/rampart-ids/rampart/internal/store"
)

// History older than history_keep leaves the store and the running
// offenders; newer history and "permanent" keep everything.
func TestPurgeHistory(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(filepath.Join(t.TempDir(), "rampart.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	old, recent := netip.MustParsePrefix("192.0.2.1/32"), netip.MustParsePrefix("192.0.2.2/32")
	if err := st.AddBans(ctx, []store.Ban{
		{Jail: "sshd", Prefix: old, Since: now.Add(-40 * 24 * time.Hour), Until: now.Add(-39 * 24 * time.Hour), Count: 1, Origin: origin.OfJail("sshd")},
		{Jail: "sshd", Prefix: recent, Since: now.Add(-time.Hour), Until: now.Add(time.Hour), Count: 1, Origin: origin.OfJail("sshd")},
	}); err != nil {
		t.Fatal(err)
	}
	offs := jail.NewOffenders()
	offs.Add("sshd", old, 1, now.Add(-40*24*time.Hour))
	offs.Add("sshd", recent, 1, now.Add(-time.Hour))
	d := &Daemon{store: st, log: slog.New(slog.NewTextHandler(io.Discard, nil))}

	d.purgeHistory(ctx, config.Permanent, offs)
	if h, _ := st.Offenders(ctx, "sshd"); len(h) != 2 {
		t.Fatalf("history_keep permanent: %d prefixes left, want 2", len(h))
	}
	d.purgeHistory(ctx, 30*24*time.Hour, offs)
	h, err := st.Offenders(ctx, "sshd")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := h[old]; ok || len(h) != 1 {
		t.Errorf("after a 30-day purge the store holds %v, want only %s", h, recent)
	}
	if n, _ := offs.Lookup("sshd", old, false); n != 0 {
		t.Errorf("offenders still count %s %d times", old, n)
	}
	if n, _ := offs.Lookup("sshd", recent, false); n != 1 {
		t.Errorf("offenders count %s %d times, want 1", recent, n)
	}
}
