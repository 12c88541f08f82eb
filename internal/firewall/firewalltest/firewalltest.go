// Package firewalltest is the conformance suite every firewall.Backend
// passes. A backend's test calls Run with a constructor that returns a fresh
// backend (for kernel backends: inside a new network namespace).
package firewalltest

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/rampart-ids/rampart/internal/firewall"
)

// Slack is how far below the requested timeout a listed timeout may be:
// time passes between Apply and List, and some backends count in seconds.
const Slack = time.Minute

// Jails is the jail set the suite sets up: one per kind of rule.
func Jails() []firewall.JailSpec {
	return []firewall.JailSpec{
		{Name: "sshd", Ports: []firewall.PortRange{{First: 22, Last: 22}}, Protocols: []string{"tcp"}},
		{Name: "web", Ports: []firewall.PortRange{{First: 80, Last: 80}, {First: 443, Last: 443}, {First: 8000, Last: 8080}}, Action: firewall.Reject},
		{Name: "recidive", Action: firewall.Drop},
	}
}

// Run runs the conformance suite; newBackend returns a fresh, not yet set up
// backend for each subtest.
func Run(t *testing.T, newBackend func(t *testing.T) firewall.Backend) {
	ctx := context.Background()
	p := netip.MustParsePrefix

	t.Run("AddListRemove", func(t *testing.T) {
		b := setup(t, newBackend(t), Jails())
		add := []firewall.Ban{
			{Jail: "sshd", Prefix: p("192.0.2.10/32"), Timeout: time.Hour},
			{Jail: "sshd", Prefix: p("2001:db8::10/128")},
			{Jail: "sshd", Prefix: p("198.51.100.0/24"), Timeout: 10 * time.Minute},
			{Jail: "web", Prefix: p("2001:db8:1:2::/64"), Timeout: 24 * time.Hour},
			{Jail: "web", Prefix: p("::ffff:203.0.113.7/128"), Timeout: time.Hour},
			{Jail: "recidive", Prefix: p("203.0.113.0/25"), Timeout: 7 * 24 * time.Hour},
			{Jail: "recidive", Prefix: p("192.0.2.10/32"), Timeout: time.Hour},
		}
		if err := b.Apply(ctx, firewall.Change{Add: add}); err != nil {
			t.Fatalf("Apply(add %d) = %v", len(add), err)
		}
		want := slices.Clone(add)
		want[4].Prefix = p("203.0.113.7/32") // IPv4-mapped is stored as IPv4
		expectList(t, b, want)

		remove := []firewall.Ban{add[0], add[3], {Jail: "web", Prefix: p("::ffff:203.0.113.7/128")}}
		if err := b.Apply(ctx, firewall.Change{Remove: remove}); err != nil {
			t.Fatalf("Apply(remove) = %v", err)
		}
		expectList(t, b, []firewall.Ban{want[1], want[2], want[5], want[6]})
	})

	t.Run("RemoveAbsentIsNoError", func(t *testing.T) {
		b := setup(t, newBackend(t), Jails())
		err := b.Apply(ctx, firewall.Change{Remove: []firewall.Ban{
			{Jail: "sshd", Prefix: p("192.0.2.99/32")},
			{Jail: "sshd", Prefix: p("198.51.100.0/24")},
			{Jail: "web", Prefix: p("2001:db8::99/128")},
		}})
		if err != nil {
			t.Fatalf("Apply(remove absent) = %v, want nil", err)
		}
	})

	t.Run("AddTwiceKeepsOne", func(t *testing.T) {
		b := setup(t, newBackend(t), Jails())
		ban := firewall.Ban{Jail: "sshd", Prefix: p("192.0.2.20/32"), Timeout: time.Hour}
		for i := 0; i < 2; i++ {
			if err := b.Apply(ctx, firewall.Change{Add: []firewall.Ban{ban}}); err != nil {
				t.Fatalf("Apply(add) #%d = %v", i+1, err)
			}
		}
		net := firewall.Ban{Jail: "sshd", Prefix: p("198.51.100.0/24"), Timeout: time.Hour}
		for i := 0; i < 2; i++ {
			if err := b.Apply(ctx, firewall.Change{Add: []firewall.Ban{net}}); err != nil {
				t.Fatalf("Apply(add net) #%d = %v", i+1, err)
			}
		}
		// Remove then add in one batch is how a ban is extended.
		longer := ban
		longer.Timeout = 48 * time.Hour
		if err := b.Apply(ctx, firewall.Change{Remove: []firewall.Ban{ban}, Add: []firewall.Ban{longer}}); err != nil {
			t.Fatalf("Apply(extend) = %v", err)
		}
		expectList(t, b, []firewall.Ban{longer, net})
	})

	t.Run("ResetupKeepsBans", func(t *testing.T) {
		b := setup(t, newBackend(t), Jails())
		bans := []firewall.Ban{
			{Jail: "sshd", Prefix: p("192.0.2.30/32"), Timeout: time.Hour},
			{Jail: "web", Prefix: p("2001:db8::30/128"), Timeout: time.Hour},
			{Jail: "recidive", Prefix: p("198.51.100.0/24"), Timeout: time.Hour},
		}
		if err := b.Apply(ctx, firewall.Change{Add: bans}); err != nil {
			t.Fatalf("Apply = %v", err)
		}
		// Same jails, one changed port and action: everything stays.
		jails := Jails()
		jails[0].Ports = []firewall.PortRange{{First: 2222, Last: 2222}}
		jails[0].Action = firewall.Reject
		jails = append(jails, firewall.JailSpec{Name: "postfix", Ports: []firewall.PortRange{{First: 25, Last: 25}}})
		if err := b.Setup(ctx, jails); err != nil {
			t.Fatalf("Setup again = %v", err)
		}
		expectList(t, b, bans)
		// Dropping a jail drops its bans.
		if err := b.Setup(ctx, jails[:1]); err != nil {
			t.Fatalf("Setup(sshd only) = %v", err)
		}
		expectList(t, b, bans[:1])
	})

	t.Run("BadElementsAreNamed", func(t *testing.T) {
		b := setup(t, newBackend(t), Jails())
		var good []firewall.Ban
		for i := range 20 {
			good = append(good, firewall.Ban{Jail: "sshd", Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, 0, byte(i + 1)}), 32), Timeout: time.Hour})
		}
		bad := []firewall.Ban{
			{Jail: "nosuchjail", Prefix: p("192.0.2.40/32"), Timeout: time.Hour},
			{Jail: "sshd", Timeout: time.Hour}, // zero Prefix
			{Jail: "sshd", Prefix: p("0.0.0.0/0")},
		}
		add := slices.Concat(good[:10], bad[:1], good[10:15], bad[1:], good[15:])
		err := b.Apply(ctx, firewall.Change{Add: add})
		var be *firewall.BatchError
		if !errors.As(err, &be) {
			t.Fatalf("Apply(with bad elements) = %v, want *firewall.BatchError", err)
		}
		var gotBad []string
		for _, f := range be.Failed {
			gotBad = append(gotBad, fmt.Sprintf("%s %s %v", f.Op, f.Ban.Jail, f.Ban.Prefix))
		}
		wantBad := []string{"add nosuchjail 192.0.2.40/32", "add sshd invalid Prefix", "add sshd 0.0.0.0/0"}
		if diff := cmp.Diff(wantBad, gotBad); diff != "" {
			t.Errorf("BatchError.Failed (-want +got):\n%s", diff)
		}
		if be.Total != len(add) {
			t.Errorf("BatchError.Total = %d, want %d", be.Total, len(add))
		}
		expectList(t, b, good)
	})

	t.Run("ManyInChunks", func(t *testing.T) {
		b := setup(t, newBackend(t), Jails())
		var bans []firewall.Ban
		for i := range 5000 {
			a := netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)})
			bans = append(bans, firewall.Ban{Jail: "recidive", Prefix: firewall.Host(a), Timeout: time.Hour})
		}
		for i := range 300 {
			a := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 0, byte(i >> 8), byte(i)})
			bans = append(bans, firewall.Ban{Jail: "web", Prefix: netip.PrefixFrom(a, 64), Timeout: time.Hour})
		}
		if err := b.Apply(ctx, firewall.Change{Add: bans}); err != nil {
			t.Fatalf("Apply(%d) = %v", len(bans), err)
		}
		expectList(t, b, bans)
		if err := b.Apply(ctx, firewall.Change{Remove: bans[:4000]}); err != nil {
			t.Fatalf("Apply(remove 4000) = %v", err)
		}
		expectList(t, b, bans[4000:])
	})

	t.Run("Concurrent", func(t *testing.T) {
		b := setup(t, newBackend(t), Jails())
		var all []firewall.Ban
		errs := make(chan error, 4)
		for g := range 4 {
			var bans []firewall.Ban
			for i := range 50 {
				a := netip.AddrFrom4([4]byte{198, 19, byte(g), byte(i)})
				bans = append(bans, firewall.Ban{Jail: Jails()[g%3].Name, Prefix: firewall.Host(a), Timeout: time.Hour})
			}
			all = append(all, bans...)
			go func() {
				for _, ban := range bans {
					if err := b.Apply(ctx, firewall.Change{Add: []firewall.Ban{ban}}); err != nil {
						errs <- err
						return
					}
				}
				_, err := b.List(ctx)
				errs <- err
			}()
		}
		for range 4 {
			if err := <-errs; err != nil {
				t.Errorf("concurrent Apply/List: %v", err)
			}
		}
		expectList(t, b, all)
	})

	t.Run("Teardown", func(t *testing.T) {
		b := setup(t, newBackend(t), Jails())
		if err := b.Apply(ctx, firewall.Change{Add: []firewall.Ban{{Jail: "sshd", Prefix: p("192.0.2.50/32")}}}); err != nil {
			t.Fatalf("Apply = %v", err)
		}
		for i := 0; i < 2; i++ {
			if err := b.Teardown(ctx); err != nil {
				t.Fatalf("Teardown #%d = %v", i+1, err)
			}
		}
		expectList(t, b, nil)
		// A torn-down backend can be set up again.
		setup(t, b, Jails())
		expectList(t, b, nil)
	})
}

// Neighbour is what another owner (the baseline policy, an administrator)
// keeps beside a backend's objects in the same packet filter: Add creates
// it before the backend's first Setup, and Check fails the test unless all
// of it is still there, unchanged.
type Neighbour struct {
	Add   func(t *testing.T)
	Check func(t *testing.T)
}

// RunNeighbour checks that Setup, Apply, a reload-style Setup with changed
// jails, Teardown and a new Setup leave a neighbour's objects alone while
// the backend's own bans come and go. newBackend returns a fresh backend
// and the neighbour to put beside it.
func RunNeighbour(t *testing.T, newBackend func(t *testing.T) (firewall.Backend, Neighbour)) {
	ctx := context.Background()
	p := netip.MustParsePrefix
	b, n := newBackend(t)
	n.Add(t)
	setup(t, b, Jails())
	bans := []firewall.Ban{
		{Jail: "sshd", Prefix: p("192.0.2.60/32"), Timeout: time.Hour},
		{Jail: "web", Prefix: p("2001:db8::60/128"), Timeout: time.Hour},
		{Jail: "recidive", Prefix: p("198.51.100.0/24"), Timeout: time.Hour},
	}
	if err := b.Apply(ctx, firewall.Change{Add: bans}); err != nil {
		t.Fatalf("Apply = %v", err)
	}
	n.Check(t)
	expectList(t, b, bans)

	// A reload: sshd moves and rejects, web goes, postfix comes.
	jails := Jails()
	jails[0].Ports, jails[0].Action = []firewall.PortRange{firewall.Port(2222)}, firewall.Reject
	jails = append(slices.Delete(jails, 1, 2), firewall.JailSpec{Name: "postfix", Ports: []firewall.PortRange{firewall.Port(25)}})
	setup(t, b, jails)
	n.Check(t)
	expectList(t, b, []firewall.Ban{bans[0], bans[2]})

	if err := b.Teardown(ctx); err != nil {
		t.Fatalf("Teardown = %v", err)
	}
	n.Check(t)
	expectList(t, b, nil)

	setup(t, b, Jails())
	if err := b.Apply(ctx, firewall.Change{Add: bans[1:2]}); err != nil {
		t.Fatalf("Apply after Teardown = %v", err)
	}
	n.Check(t)
	expectList(t, b, bans[1:2])
}

func setup(t *testing.T, b firewall.Backend, jails []firewall.JailSpec) firewall.Backend {
	t.Helper()
	if err := b.Setup(context.Background(), jails); err != nil {
		t.Fatalf("Setup = %v", err)
	}
	return b
}

// expectList checks that List returns exactly want, with timeouts no longer
// than asked and at most Slack shorter.
func expectList(t *testing.T, b firewall.Backend, want []firewall.Ban) {
	t.Helper()
	got, err := b.List(context.Background())
	if err != nil {
		t.Fatalf("List = %v", err)
	}
	key := func(x firewall.Ban) string { return x.Jail + " " + x.Prefix.String() }
	sortBans := func(bans []firewall.Ban) []firewall.Ban {
		s := slices.Clone(bans)
		slices.SortFunc(s, func(a, b firewall.Ban) int { return strings.Compare(key(a), key(b)) })
		return s
	}
	got, want = sortBans(got), sortBans(want)
	timeoutNear := cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Timeout" },
		cmp.Comparer(func(a, b time.Duration) bool {
			if a < b {
				a, b = b, a
			}
			return b > 0 && a-b <= Slack || a == b
		}))
	if diff := cmp.Diff(want, got, timeoutNear, cmpopts.EquateEmpty(), cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		if len(diff) > 4000 {
			diff = diff[:4000] + "\n..."
		}
		t.Errorf("List (-want +got):\n%s", diff)
	}
	asked := make(map[string]time.Duration, len(want))
	for _, w := range want {
		asked[key(w)] = w.Timeout
	}
	for _, g := range got {
		if w, ok := asked[key(g)]; ok && w != 0 && g.Timeout > w {
			t.Errorf("List: %s has timeout %v, longer than the %v asked", key(g), g.Timeout, w)
		}
	}
}
