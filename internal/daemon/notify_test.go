package daemon_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/config"
	"github.com/rampart-ids/rampart/internal/daemon"
)

// The daemon tells systemd READY=1 once it serves, RELOADING=1 with
// MONOTONIC_USEC then READY=1 around a reload, and STOPPING=1.
func TestSystemdNotify(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
	cfgText := fmt.Sprintf("[daemon]\nstate_dir = %q\nsocket = %q\nfirewall = \"dryrun\"\n[jails.sshd]\nenabled = false\n",
		filepath.Join(dir, "state"), filepath.Join(dir, "rampart.sock"))
	load := func() (*config.Config, []string, error) {
		c, err := config.LoadBytes("test.toml", []byte(cfgText), config.Options{})
		return c, nil, err
	}
	reloads := make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- daemon.Run(ctx, daemon.Options{Load: load, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Reloads: reloads})
	}()
	next := func() string {
		t.Helper()
		buf := make([]byte, 512)
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("no notification: %v", err)
		}
		return string(buf[:n])
	}
	if got := next(); got != "READY=1" {
		t.Fatalf("first notification %q, want READY=1", got)
	}
	reloads <- struct{}{}
	if got := next(); !strings.HasPrefix(got, "RELOADING=1\nMONOTONIC_USEC=") {
		t.Errorf("reload notification %q, want RELOADING=1 with MONOTONIC_USEC", got)
	}
	if got := next(); got != "READY=1" {
		t.Errorf("after the reload %q, want READY=1", got)
	}
	cancel()
	if got := next(); got != "STOPPING=1" {
		t.Errorf("stop notification %q, want STOPPING=1", got)
	}
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
}
