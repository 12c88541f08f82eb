package daemon_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/rampart-ids/rampart/internal/config"
	"github.com/rampart-ids/rampart/internal/control"
	"github.com/rampart-ids/rampart/internal/daemon"
)

// testDaemon is a daemon.Run in the test process on the dryrun firewall,
// with its state and socket in a temporary directory.
type testDaemon struct {
	dir    string
	client *control.Client
	cancel context.CancelFunc
	done   chan error
}

// startTestDaemon runs the daemon on jails (TOML tables after [daemon]; the
// built-in sshd jail is off unless they enable it) and waits until it
// answers on its socket. It is stopped when the test ends.
func startTestDaemon(t *testing.T, jails string, opts daemon.Options) *testDaemon {
	t.Helper()
	dir := t.TempDir()
	sock := filepath.Join(dir, "rampart.sock")
	text := fmt.Sprintf("[daemon]\nstate_dir = %q\nsocket = %q\nfirewall = \"dryrun\"\n\n%s", filepath.Join(dir, "state"), sock, jails)
	opts.Load = func() (*config.Config, []string, error) {
		c, err := config.LoadBytes("test.toml", []byte(text), config.Options{FilterExists: func(string) bool { return true }})
		return c, nil, err
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &testDaemon{dir: dir, client: control.NewClient(sock), cancel: cancel, done: make(chan error, 1)}
	go func() { d.done <- daemon.Run(ctx, opts) }()
	t.Cleanup(func() { d.stop(t) })
	waitFor(t, "answer from the daemon", func() bool { _, err := d.client.Ping(ctx); return err == nil })
	return d
}

// stop stops the daemon and checks that it stopped cleanly (once).
func (d *testDaemon) stop(t *testing.T) {
	if d.cancel == nil {
		return
	}
	d.cancel()
	d.cancel = nil
	if err := <-d.done; err != nil {
		t.Errorf("Run = %v", err)
	}
}
