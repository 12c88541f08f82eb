package nft

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rampart-ids/rampart/internal/firewall"
)

// TestApplyAfterFlush: once `nft flush ruleset` has removed the ban
// layer, a batch of adds fails as a whole — every element reported, for
// ENOENT — without bisecting it one failed transaction at a time (30 s
// for 1,237 adds on Linux 6.18: TestFaultFlushDuringFlood); removals from
// the sets that are gone succeed; after Setup the same adds apply.
func TestApplyAfterFlush(t *testing.T) {
	b, ns := newInNS(t, "nftgone")
	ctx := context.Background()
	jails := []firewall.JailSpec{{Name: "sshd"}, {Name: "web"}}
	if err := b.Setup(ctx, jails); err != nil {
		t.Fatal(err)
	}
	var c firewall.Change
	for i := range 300 {
		jail := "sshd"
		if i%3 == 0 {
			jail = "web"
		}
		c.Add = append(c.Add, firewall.Ban{Jail: jail, Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}), 32), Timeout: time.Hour})
	}
	c.Add = append(c.Add, firewall.Ban{Jail: "sshd", Prefix: netip.MustParsePrefix("2001:db8::/64"), Timeout: time.Hour})
	ns.MustExec(t, "nft", "flush", "ruleset")
	err := b.Apply(ctx, c)
	var be *firewall.BatchError
	if !errors.As(err, &be) || len(be.Failed) != len(c.Add) {
		t.Fatalf("Apply after flush = %v, want all %d adds failed", err, len(c.Add))
	}
	for _, f := range be.Failed {
		if !errors.Is(f.Err, unix.ENOENT) || f.Op != firewall.OpAdd {
			t.Fatalf("failure %+v, want an add failed with ENOENT", f)
		}
	}
	if err := b.Apply(ctx, firewall.Change{Remove: c.Add[:50]}); err != nil {
		t.Errorf("removing from sets that are gone: %v, want nothing to do", err)
	}
	if err := b.Setup(ctx, jails); err != nil {
		t.Fatal(err)
	}
	if err := b.Apply(ctx, c); err != nil {
		t.Fatalf("Apply after Setup: %v", err)
	}
}
