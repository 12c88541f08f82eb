package dryrun

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rampart-ids/rampart/internal/firewall"
	"github.com/rampart-ids/rampart/internal/firewall/firewalltest"
)

func TestConformance(t *testing.T) {
	firewalltest.Run(t, func(*testing.T) firewall.Backend { return New(nil, nil) })
}

// TestGolden replays a small ban flow on a fake clock and compares the
// rendered text with testdata/flow.golden (UPDATE_GOLDEN=1 rewrites it).
func TestGolden(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	b := New(nil, func() time.Time { return now })
	p := netip.MustParsePrefix
	steps := []func() error{
		func() error { return b.Setup(ctx, firewalltest.Jails()) },
		func() error {
			return b.Apply(ctx, firewall.Change{Add: []firewall.Ban{
				{Jail: "sshd", Prefix: p("192.0.2.1/32"), Timeout: 10 * time.Minute},
				{Jail: "web", Prefix: p("2001:db8::/64")},
				{Jail: "ftp", Prefix: p("192.0.2.2/32")},
			}})
		},
		func() error { now = now.Add(11 * time.Minute); return nil },
		func() error {
			return b.Apply(ctx, firewall.Change{Remove: []firewall.Ban{{Jail: "web", Prefix: p("2001:db8::1/64")}}})
		},
		func() error { return b.Setup(ctx, firewalltest.Jails()[:1]) },
		func() error { return b.Teardown(ctx) },
	}
	for _, s := range steps {
		_ = s() // errors are part of the rendered text
	}
	got := b.Text()
	golden := filepath.Join("testdata", "flow.golden")
	if os.Getenv("UPDATE_GOLDEN") == "1" {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with UPDATE_GOLDEN=1 to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("dry-run text (-want +got):\n%s", diff)
	}
}

func TestListExpires(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1000, 0)
	b := New(nil, func() time.Time { return now })
	if err := b.Setup(ctx, firewalltest.Jails()); err != nil {
		t.Fatal(err)
	}
	ban := firewall.Ban{Jail: "sshd", Prefix: netip.MustParsePrefix("192.0.2.1/32"), Timeout: time.Minute}
	if err := b.Apply(ctx, firewall.Change{Add: []firewall.Ban{ban}}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(20 * time.Second)
	got, _ := b.List(ctx)
	want := []firewall.Ban{{Jail: "sshd", Prefix: ban.Prefix, Timeout: 40 * time.Second}}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("List after 20s (-want +got):\n%s", diff)
	}
	now = now.Add(time.Minute)
	if got, _ := b.List(ctx); len(got) != 0 {
		t.Errorf("List after expiry = %v, want none", got)
	}
}
