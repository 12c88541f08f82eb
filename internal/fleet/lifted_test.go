package fleet

import (
	"context"
	"net/netip"
	"testing"
	"time"
)

// TestLateBanAfterUnban is the race TestFleetChaos found (seed
// 1796356522256861946): a node that missed a ban live gets its unban live
// (nothing to lift yet), then a prefetched stored copy of the ban, then the
// unban's stored copy — a duplicate of the live one, skipped. Without a
// memory of the unban the ban stayed in force on that node only.
func TestLateBanAfterUnban(t *testing.T) {
	bans := newMemBans()
	now := time.Date(2026, 12, 4, 4, 0, 0, 0, time.UTC)
	f := New(Options{Config: Config{Enabled: true, Node: "me"}, Bans: bans, Cursor: &memCursor{}, Log: testLog(), Now: func() time.Time { return now }})
	x := netip.MustParsePrefix("198.51.100.7/32")
	banned, lifted := now.Add(-10*time.Second), now.Add(-5*time.Second)
	ctx := context.Background()

	f.applyBatch(ctx, []received{{node: "a", id: "u1", msg: Message{Op: OpUnban, Jail: "sshd", Prefix: x, Since: lifted}}})
	f.applyBatch(ctx, []received{{node: "a", id: "b1", seq: 10, msg: Message{Op: OpBan, Jail: "sshd", Prefix: x, Since: banned, Until: now.Add(time.Hour)}}})
	f.applyBatch(ctx, []received{{node: "a", id: "u1", seq: 11, dup: true}})
	if _, ok := bans.has("sshd", x); ok {
		t.Fatal("a ban its node had lifted came back from a late copy")
	}

	// The same node banning the address again later is a new ban.
	f.applyBatch(ctx, []received{{node: "a", id: "b2", msg: Message{Op: OpBan, Jail: "sshd", Prefix: x, Since: now, Until: now.Add(time.Hour)}}})
	if _, ok := bans.has("sshd", x); !ok {
		t.Fatal("a new ban after the unban was not applied")
	}
	// Another node's unban does not make this node's ban stale.
	y := netip.MustParsePrefix("198.51.100.8/32")
	f.applyBatch(ctx, []received{{node: "b", id: "u2", msg: Message{Op: OpUnban, Jail: "sshd", Prefix: y, Since: lifted}}})
	f.applyBatch(ctx, []received{{node: "a", id: "b3", msg: Message{Op: OpBan, Jail: "sshd", Prefix: y, Since: banned, Until: now.Add(time.Hour)}}})
	if _, ok := bans.has("sshd", y); !ok {
		t.Fatal("node a's ban was dropped for node b's unban")
	}
}

func TestLiftedForgets(t *testing.T) {
	l := newLifted()
	k := banKey{"sshd", netip.MustParsePrefix("192.0.2.1/32")}
	t0 := time.Date(2026, 12, 4, 4, 0, 0, 0, time.UTC)
	l.note(k, "a", t0, t0)
	if !l.stale(k, "a", t0.Add(-time.Second)) || l.stale(k, "a", t0.Add(time.Second)) || l.stale(k, "a", time.Time{}) {
		t.Fatal("stale before, not after, never without a time")
	}
	// Two rotations later it is forgotten.
	l.note(banKey{"x", k.prefix}, "a", t0, t0.Add(liftedKeep))
	l.note(banKey{"y", k.prefix}, "a", t0, t0.Add(2*liftedKeep))
	if l.stale(k, "a", t0.Add(-time.Second)) {
		t.Fatal("kept past two rotations")
	}
}
