package daemon_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/daemon"
)

// A jail with filter = "suricata" follows an eve.json file: an alert of
// severity 1 bans on its own, alerts of severity 3 count to maxretry, flow
// events are ignored.
func TestSuricataJail(t *testing.T) {
	evePath := filepath.Join(t.TempDir(), "eve.json")
	if err := os.WriteFile(evePath, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	d := startTestDaemon(t, fmt.Sprintf(`[jails.sshd]
enabled = false

[jails.ids]
enabled = true
filter = "suricata"
logpath = [%q]
maxretry = 2
suricata_single_hit = 1
`, evePath), daemon.Options{})
	c, ctx := d.client, context.Background()
	time.Sleep(300 * time.Millisecond) // the file source follows eve.json
	f, err := os.OpenFile(evePath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Now().UTC().Format("2006-01-02T15:04:05.000000-0700")
	line := func(typ, src string, sev int) string {
		return fmt.Sprintf(`{"timestamp":%q,"event_type":%q,"src_ip":%q,"src_port":40000,"dest_ip":"192.0.2.1","dest_port":80,"proto":"TCP","alert":{"action":"allowed","signature_id":900000%d,"signature":"test","category":"Web Application Attack","severity":%d}}`, ts, typ, src, sev, sev)
	}
	for _, l := range []string{
		line("alert", "198.51.100.1", 1), // bans alone
		line("alert", "198.51.100.3", 3), // counts: 1 of 2
		line("flow", "198.51.100.4", 1),  // ignored
		line("alert", "198.51.100.5", 3),
		line("alert", "198.51.100.5", 3), // 2 of 2: banned
	} {
		fmt.Fprintln(f, l)
	}
	f.Close()
	want := map[string]bool{"198.51.100.1": true, "198.51.100.5": true}
	var got map[string]bool
	waitFor(t, "the two bans", func() bool {
		bans, err := c.Banned(ctx)
		got = map[string]bool{}
		for _, b := range bans {
			got[b.Prefix.Addr().String()] = true
		}
		return err == nil && len(got) >= 2
	})
	time.Sleep(200 * time.Millisecond)
	bans, _ := c.Banned(ctx)
	for _, b := range bans {
		if !want[b.Prefix.Addr().String()] || b.Jail != "ids" || b.Origin.String() != "jail ids" {
			t.Errorf("unexpected ban %+v", b)
		}
	}
	if w, err := c.Why(ctx, netip.MustParseAddr("198.51.100.1")); err != nil || len(w.Events) == 0 || w.Events[0].Rule != "suricata:9000001" {
		t.Errorf("why 198.51.100.1 = %+v, %v; want the alert's finding", w.Events, err)
	}
}
