package daemon

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/event"
	"github.com/rampart-ids/rampart/internal/fim"
)

// TestFIMScheduledCheck: the scheduled check publishes a change once, not
// again while it stays, and again when it changes further; an accept
// (a new baseline on disk) is taken into account.
func TestFIMScheduledCheck(t *testing.T) {
	dir := t.TempDir()
	etc := filepath.Join(dir, "etc")
	os.MkdirAll(etc, 0o755)
	file := filepath.Join(etc, "hosts")
	os.WriteFile(file, []byte("127.0.0.1 localhost\n"), 0o644)
	d := &Daemon{log: slog.New(slog.NewTextHandler(io.Discard, nil)), bus: event.New()}
	sub := d.bus.Subscribe("test", 100)
	f := &fimRunner{d: d, reported: map[string]bool{}, cfg: fim.Config{Paths: []string{etc}, Baseline: filepath.Join(dir, "b"), Schedule: "1h"}}
	ctx := context.Background()
	if _, err := f.baseline(ctx); err != nil {
		t.Fatal(err)
	}
	next := func() []event.Event {
		c, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		var out []event.Event
		for {
			evs, err := sub.Next(c)
			if err != nil {
				return out
			}
			out = append(out, evs...)
		}
	}
	if evs := next(); len(evs) != 1 || evs[0].Reason != "baseline-created" {
		t.Fatalf("start: %+v", evs)
	}
	os.Chmod(file, os.ModeSetuid|0o644)
	f.check(ctx)
	evs := next()
	if len(evs) != 1 || evs[0].Reason != "suid-added" || evs[0].Severity != "critical" || evs[0].Path != file || evs[0].Source != "fim schedule" {
		t.Fatalf("after chmod u+s: %+v", evs)
	}
	f.check(ctx)
	if evs := next(); len(evs) != 0 {
		t.Fatalf("the same change published again: %+v", evs)
	}
	os.WriteFile(file, []byte("203.0.113.9 localhost\n"), 0o644)
	f.check(ctx)
	evs = next()
	if len(evs) != 1 || evs[0].Reason != "content" || !strings.HasPrefix(evs[0].Evidence[1], "old sha256:") {
		t.Fatalf("after a content change: %+v", evs)
	}
	b, _ := fim.Load(f.cfg.Baseline)
	opts := f.options(false)
	opts.By = "alice (via sudo, uid 0)"
	if _, err := fim.Accept(ctx, b, nil, opts); err != nil {
		t.Fatal(err)
	}
	f.check(ctx)
	evs = next()
	if len(evs) != 1 || evs[0].Reason != "baseline-accepted" || !strings.Contains(evs[0].Evidence[0], "accepted by alice (via sudo, uid 0)") || evs[0].Count != 2 {
		t.Fatalf("after accept: %+v (want only the accept, by alice, of 2 changes)", evs)
	}
	f.check(ctx)
	if evs := next(); len(evs) != 0 {
		t.Fatalf("second check after accept: %+v", evs)
	}
}

// TestIntegrityEventPackageVerdicts: a package run is info, not tampering;
// a file that differs from its package is critical.
func TestIntegrityEventPackageVerdicts(t *testing.T) {
	up := integrityEvent("fim schedule", fim.Change{Path: "/usr/bin/x", Kind: fim.KindContent, Old: "sha256:a", New: "sha256:b",
		Package: &fim.PackageNote{Name: "x", OldVersion: "1.2", NewVersion: "1.3", Verdict: fim.VerdictUpgrade}})
	if up.Reason != "package-upgrade" || up.Severity != "info" || !strings.Contains(strings.Join(up.Evidence, "\n"), "package upgrade: x 1.2 → 1.3") {
		t.Errorf("upgrade: %+v", up)
	}
	bad := integrityEvent("fim schedule", fim.Change{Path: "/usr/bin/x", Kind: fim.KindContent, Old: "sha256:a", New: "sha256:b",
		Package: &fim.PackageNote{Name: "x", OldVersion: "1.3", NewVersion: "1.3", Verdict: fim.VerdictTampered}})
	if bad.Reason != "content (tampered)" || bad.Severity != "critical" {
		t.Errorf("tampered: %+v", bad)
	}
}
