package nft

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/firewall"
)

// Watch reports deletions of rampart's table from outside (the kernel's
// nftables events), not rampart's own element changes.
func TestWatchSeesDeletion(t *testing.T) {
	b, ns := newInNS(t, "nftwatch")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := b.Setup(ctx, []firewall.JailSpec{{Name: "sshd"}}); err != nil {
		t.Fatal(err)
	}
	changed := make(chan struct{}, 16)
	done := make(chan error, 1)
	go func() { done <- b.Watch(ctx, func() { changed <- struct{}{} }) }()
	time.Sleep(300 * time.Millisecond) // subscribed
	if err := b.Apply(ctx, firewall.Change{Add: []firewall.Ban{{Jail: "sshd", Prefix: netip.MustParsePrefix("192.0.2.1/32"), Timeout: time.Hour}}}); err != nil {
		t.Fatal(err)
	}
	if err := b.Apply(ctx, firewall.Change{Remove: []firewall.Ban{{Jail: "sshd", Prefix: netip.MustParsePrefix("192.0.2.1/32")}}}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
		t.Fatal("rampart's own element changes were reported")
	case <-time.After(300 * time.Millisecond):
	}
	ns.MustExec(t, "nft", "flush", "ruleset")
	select {
	case <-changed:
	case <-time.After(5 * time.Second):
		t.Fatal("nft flush ruleset was not reported")
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Watch = %v", err)
	}
}
