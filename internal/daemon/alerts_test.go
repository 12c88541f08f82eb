package daemon_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/alert"
	"github.com/rampart-ids/rampart/internal/config"
	"github.com/rampart-ids/rampart/internal/daemon"
	"github.com/rampart-ids/rampart/internal/finding"
)

// A flood of 2,000 bans through a running daemon reaches a webhook as a
// digest or two, not 2,000 requests.
func TestAlertDigestOfAFlood(t *testing.T) {
	var mu sync.Mutex
	var msgs []alert.Message
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m alert.Message
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			t.Errorf("webhook body: %v", err)
		}
		mu.Lock()
		msgs = append(msgs, m)
		mu.Unlock()
	}))
	defer srv.Close()
	dir := t.TempDir()
	cfgText := fmt.Sprintf(`
[daemon]
state_dir = %q
socket = %q
firewall = "dryrun"

[jails.sshd]
enabled = false

[jails.probe]
enabled = true
filter = "sshd"
logpath = [%q]
maxretry = 1

[alerts.ops]
type = "webhook"
url = %q
kinds = ["ban"]
digest = "1s"
`, filepath.Join(dir, "state"), filepath.Join(dir, "rampart.sock"), filepath.Join(dir, "absent.log"), srv.URL)
	load := func() (*config.Config, []string, error) {
		c, err := config.LoadBytes("test.toml", []byte(cfgText), config.Options{})
		return c, nil, err
	}
	var addrs []netip.Addr
	for i := range 2000 {
		addrs = append(addrs, netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}))
	}
	kind := daemon.SourceKind{Name: "flood", Sources: func(env daemon.JailEnv) ([]finding.Source, error) {
		if env.Jail.Name != "probe" {
			return nil, nil
		}
		return []finding.Source{probes{addrs}}, nil
	}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- daemon.Run(ctx, daemon.Options{Load: load, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Sources: []daemon.SourceKind{kind}})
	}()
	total := func() int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, m := range msgs {
			n += m.Total
		}
		return n
	}
	for deadline := time.Now().Add(15 * time.Second); total() < len(addrs) && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
	got := total()
	mu.Lock()
	defer mu.Unlock()
	if got != len(addrs) || len(msgs) > 3 {
		t.Errorf("%d messages for %d bans (total %d), want all in at most 3 digests", len(msgs), len(addrs), got)
	}
}
