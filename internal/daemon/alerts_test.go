package daemon_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/alert"
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
	d := startTestDaemon(t, probeJail(t, 1)+fmt.Sprintf(`
[alerts.ops]
type = "webhook"
url = %q
kinds = ["ban"]
digest = "1s"
`, srv.URL), daemon.Options{Sources: []daemon.SourceKind{kind}})
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
	d.stop(t)
	got := total()
	mu.Lock()
	defer mu.Unlock()
	if got != len(addrs) || len(msgs) > 3 {
		t.Errorf("%d messages for %d bans (total %d), want all in at most 3 digests", len(msgs), len(addrs), got)
	}
}
