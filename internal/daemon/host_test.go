package daemon_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/daemon"
	"github.com/rampart-ids/rampart/internal/event"
	"github.com/rampart-ids/rampart/internal/hostwatch"
)

// TestHostCollectorsInTheDaemon: a daemon with [host] on takes a baseline,
// then a new SUID file under host.suid_paths is a critical host-change
// event at the next run, published once.
func TestHostCollectorsInTheDaemon(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	os.MkdirAll(bin, 0o755)
	conf := fmt.Sprintf("[host]\nenabled = true\ninterval = \"1s\"\ncollectors = [\"suid\"]\nsuid_paths = [%q]\nbaseline = %q\n", bin, filepath.Join(dir, "host.baseline"))
	evs := make(chan event.Event, 64)
	startTestDaemon(t, conf, daemon.Options{Subscribers: []daemon.Subscriber{{Name: "test", Kinds: []event.Kind{event.HostChange},
		Handle: func(_ context.Context, es []event.Event) {
			for _, e := range es {
				evs <- e
			}
		}}}})
	next := func(what string) event.Event {
		t.Helper()
		select {
		case e := <-evs:
			return e
		case <-time.After(5 * time.Second):
			t.Fatalf("no %s event", what)
		}
		return event.Event{}
	}
	if e := next("baseline-created"); e.Reason != "baseline-created" {
		t.Fatalf("first event %+v", e)
	}
	shell := filepath.Join(bin, "rootshell")
	os.WriteFile(shell, []byte("x"), 0o755)
	os.Chmod(shell, os.ModeSetuid|0o755)
	e := next("suid")
	if e.Rule != "suid" || e.Path != shell || e.Reason != "new" || e.Severity != "critical" || len(e.Evidence) < 2 || e.Evidence[1] != "new mode 4755 uid 0 gid 0" {
		t.Fatalf("event %+v, want a critical new suid %s", e, shell)
	}
	select {
	case e := <-evs:
		t.Fatalf("published again: %+v", e)
	case <-time.After(2500 * time.Millisecond):
	}
	// rampart host accept, as the CLI does it: the daemon tells who.
	file := filepath.Join(dir, "host.baseline")
	b, err := hostwatch.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	cs, _ := hostwatch.Select([]string{"suid"})
	nb, _, err := hostwatch.Accept(context.Background(), hostwatch.Env{SUIDPaths: []string{bin}}, cs, b, "alice (uid 1000)", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := nb.Save(file); err != nil {
		t.Fatal(err)
	}
	if e := next("baseline-accepted"); e.Reason != "baseline-accepted" || e.Count != 1 || !strings.Contains(e.Evidence[0], "accepted by alice (uid 1000)") {
		t.Fatalf("after accept: %+v", e)
	}
	select {
	case e := <-evs:
		t.Fatalf("after accept, published: %+v", e)
	case <-time.After(2500 * time.Millisecond):
	}
}
