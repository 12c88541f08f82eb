package nft

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/rampart-ids/rampart/internal/firewall"
	"golang.org/x/sys/unix"
)

// These tests run as any user: the backend talks to fakeKernel through
// google/nftables' test dialer. What the kernel makes of the batches is
// checked by the conformance and traffic tests in network namespaces.

var (
	sshd     = firewall.JailSpec{Name: "sshd", Ports: []firewall.PortRange{firewall.Port(22)}, Protocols: []string{"tcp"}}
	recidive = firewall.JailSpec{Name: "recidive", Action: firewall.Reject}
)

// jailLines is what Setup sends for a new jail with a drop action (its
// chain, four sets with their rules), before the dispatch rules.
func jailLines(jail, verdict string) []string {
	out := []string{"add chain ban-" + jail}
	for _, k := range []struct{ suffix, proto, flags string }{
		{"v4", "4", "4-byte keys, timeout"}, {"v4net", "4", "4-byte keys, interval,timeout"},
		{"v6", "6", "16-byte keys, timeout"}, {"v6net", "6", "16-byte keys, interval,timeout"},
	} {
		out = append(out,
			fmt.Sprintf("add set ban-%s-%s (%s) #rampart-bans", jail, k.suffix, k.flags),
			fmt.Sprintf("add rule ban-%s: meta cmp payload lookup(@ban-%s-%s) counter immediate(%s) #rampart-bans", jail, jail, k.suffix, verdict))
	}
	return out
}

// headLines open every Setup batch: the table, the base chain at
// prerouting (hook 0) priority raw, the reject chain.
var headLines = []string{
	"add table rampart",
	"add chain bans (hook 0 priority -300)",
	"add chain bans-reject",
}

var rejectLines = []string{
	"add rule bans-reject: meta cmp reject #rampart-bans",
	"add rule bans-reject: reject #rampart-bans",
}

func TestSetupFreshTable(t *testing.T) {
	k := newFakeKernel(t)
	b := k.backend(Options{})
	if err := b.Setup(context.Background(), []firewall.JailSpec{sshd, recidive}); err != nil {
		t.Fatal(err)
	}
	want := slices.Concat(headLines, rejectLines,
		jailLines("sshd", "drop"),
		[]string{"add rule bans: meta cmp payload cmp immediate(jump ban-sshd) #rampart-bans"},
		jailLines("recidive", "goto bans-reject"),
		[]string{"add rule bans: immediate(jump ban-recidive) #rampart-bans"})
	if diff := cmp.Diff([][]string{want}, k.take()); diff != "" {
		t.Errorf("Setup batches (-want +got):\n%s", diff)
	}
}

// seedForeign gives the table objects of another owner: a base chain at
// input with a rule, and two sets.
func seedForeign(k *fakeKernel) {
	k.addForeignChain("policy-input", nftables.ChainHookInput, 0, "policy", &expr.Verdict{Kind: expr.VerdictAccept})
	k.addForeignSet("policy-allow-v4")
	// A name of the pre-split layout's form, without that layout: not ours.
	k.addForeignSet("allow-v4")
}

func TestSetupLeavesOtherOwnersAlone(t *testing.T) {
	ctx := context.Background()
	k := newFakeKernel(t)
	seedForeign(k)
	b := k.backend(Options{})
	if err := b.Setup(ctx, []firewall.JailSpec{sshd, recidive}); err != nil {
		t.Fatal(err)
	}
	// The first Setup beside another owner's chain, rule and sets only adds.
	first := k.take()
	if len(first) != 1 {
		t.Fatalf("first Setup sent %d batches, want 1", len(first))
	}
	if want := slices.Concat(headLines, rejectLines, jailLines("sshd", "drop")); !slices.Equal(first[0][:len(want)], want) {
		t.Errorf("first Setup began with %q, want %q", first[0][:len(want)], want)
	}
	for _, l := range first[0] {
		if !strings.HasPrefix(l, "add ") {
			t.Errorf("first Setup beside another owner's objects sent %q", l)
		}
	}
	// The other owner also put a rule into the ban layer's base chain.
	k.addRule(baseChain, "policy", &expr.Verdict{Kind: expr.VerdictAccept})
	foreignHandle := k.handle

	// A reload: sshd moves to port 2222 and recidive goes.
	moved := sshd
	moved.Ports = []firewall.PortRange{firewall.Port(2222)}
	if err := b.Setup(ctx, []firewall.JailSpec{moved}); err != nil {
		t.Fatal(err)
	}
	batches := k.take()
	if len(batches) != 1 {
		t.Fatalf("reload sent %d batches, want 1: %q", len(batches), batches)
	}
	var dels []string // with rule handles as N
	for _, l := range batches[0] {
		if strings.Contains(l, "policy") || strings.Contains(l, "allow-v4") || strings.HasPrefix(l, "flush") ||
			l == fmt.Sprintf("delete rule bans handle %d", foreignHandle) {
			t.Errorf("reload touched another owner's object: %q", l)
		}
		if strings.HasPrefix(l, "delete") {
			dels = append(dels, handleRE.ReplaceAllString(l, "handle N"))
		}
	}
	// Every rule of the ban layer goes by handle (13 set rules and reject
	// rules, 2 dispatch rules), then recidive's sets and chain.
	wantDels := []string{
		"delete rule ban-recidive handle N", "delete rule ban-recidive handle N", "delete rule ban-recidive handle N", "delete rule ban-recidive handle N",
		"delete rule ban-sshd handle N", "delete rule ban-sshd handle N", "delete rule ban-sshd handle N", "delete rule ban-sshd handle N",
		"delete rule bans handle N", "delete rule bans handle N",
		"delete rule bans-reject handle N", "delete rule bans-reject handle N",
		"delete set ban-recidive-v4", "delete set ban-recidive-v4net", "delete set ban-recidive-v6", "delete set ban-recidive-v6net",
		"delete chain ban-recidive",
	}
	if diff := cmp.Diff(wantDels, dels); diff != "" {
		t.Errorf("reload deletions (-want +got):\n%s", diff)
	}
	if !slices.Contains(batches[0], "add rule bans: meta cmp payload cmp immediate(jump ban-sshd) #rampart-bans") {
		t.Errorf("reload did not rebuild the dispatch rule: %q", batches[0])
	}

	// What the other owner made is all still there.
	if c := k.chain("policy-input"); c == nil || len(c.rules) != 1 {
		t.Errorf("foreign chain after reload = %+v, want it with its rule", c)
	}
	if c := k.chain(baseChain); c == nil || !slices.ContainsFunc(c.rules, func(r fakeRule) bool { return r.handle == foreignHandle }) {
		t.Errorf("foreign rule in chain bans gone after reload")
	}
	for _, s := range []string{"policy-allow-v4", "allow-v4"} {
		if k.sets[s] == nil {
			t.Errorf("foreign set %s gone after reload", s)
		}
	}

	// Teardown removes the ban layer but not the table, which holds
	// another owner's objects; chain bans stays for the foreign rule in it.
	if err := b.Teardown(ctx); err != nil {
		t.Fatal(err)
	}
	for _, l := range slices.Concat(k.take()...) {
		if strings.Contains(l, "policy") || strings.Contains(l, "allow-v4") || l == "delete table rampart" || strings.HasPrefix(l, "flush") {
			t.Errorf("Teardown touched another owner's object: %q", l)
		}
	}
	var left []string
	for _, c := range k.chains {
		left = append(left, fmt.Sprintf("chain %s (%d rules)", c.name, len(c.rules)))
	}
	for _, s := range sortedKeys(k.sets) {
		left = append(left, "set "+s)
	}
	want := []string{"chain policy-input (1 rules)", "chain bans (1 rules)", "set allow-v4", "set policy-allow-v4"}
	if diff := cmp.Diff(want, left); diff != "" {
		t.Errorf("after Teardown (-want +got):\n%s", diff)
	}
}

func TestTeardownDeletesTableOnlyWhenAllOurs(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		seed      func(*fakeKernel)
		wantTable bool
	}{
		{"ours alone", func(*fakeKernel) {}, false},
		{"a stateful object of another owner", func(k *fakeKernel) { k.objects = 1 }, true},
		{"a foreign set", func(k *fakeKernel) { k.addForeignSet("policy-allow-v4") }, true},
		{"a foreign rule in chain bans", func(k *fakeKernel) { k.addRule(baseChain, "", &expr.Verdict{Kind: expr.VerdictAccept}) }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := newFakeKernel(t)
			b := k.backend(Options{})
			if err := b.Setup(ctx, []firewall.JailSpec{sshd}); err != nil {
				t.Fatal(err)
			}
			tc.seed(k)
			k.take()
			if err := b.Teardown(ctx); err != nil {
				t.Fatal(err)
			}
			got := k.take()
			if len(got) != 1 {
				t.Fatalf("Teardown sent %d batches, want 1", len(got))
			}
			deletesTable := slices.Equal(got[0], []string{"delete table rampart"})
			if deletesTable == tc.wantTable {
				t.Errorf("Teardown batch = %q; want table kept: %v", got[0], tc.wantTable)
			}
			if tc.wantTable {
				for _, s := range sortedKeys(k.sets) {
					if OwnsName(s) {
						t.Errorf("set %s left after Teardown", s)
					}
				}
			}
			// A second Teardown finds nothing of its own to remove.
			if err := b.Teardown(ctx); err != nil {
				t.Fatalf("second Teardown: %v", err)
			}
		})
	}
}

func TestApplyMessages(t *testing.T) {
	ctx := context.Background()
	k := newFakeKernel(t)
	b := k.backend(Options{})
	if err := b.Setup(ctx, []firewall.JailSpec{sshd}); err != nil {
		t.Fatal(err)
	}
	p := netip.MustParsePrefix
	c := firewall.Change{
		Remove: []firewall.Ban{{Jail: "sshd", Prefix: p("192.0.2.9/32")}, {Jail: "sshd", Prefix: p("2001:db8:9::/48")}},
		Add: []firewall.Ban{
			{Jail: "sshd", Prefix: p("192.0.2.1/32"), Timeout: time.Hour},
			{Jail: "sshd", Prefix: p("::ffff:192.0.2.2/128"), Timeout: time.Microsecond}, // mapped; below the kernel's ms
			{Jail: "sshd", Prefix: p("2001:db8::1/128")},
			{Jail: "sshd", Prefix: p("198.51.100.77/24"), Timeout: 10 * time.Minute},
			{Jail: "sshd", Prefix: p("255.255.255.0/24")}, // no end element
			{Jail: "sshd", Prefix: p("2001:db8:1::/64"), Timeout: 24 * time.Hour},
			{Jail: "nosuch", Prefix: p("192.0.2.3/32")},
		},
	}
	k.take()
	err := b.Apply(ctx, c)
	var be *firewall.BatchError
	if !errors.As(err, &be) || len(be.Failed) != 1 || !errors.Is(be.Failed[0].Err, firewall.ErrUnknownJail) {
		t.Fatalf("Apply = %v, want a BatchError naming only the unknown jail", err)
	}
	want := [][]string{{
		"delete elements ban-sshd-v4: 192.0.2.9",
		"delete elements ban-sshd-v6net: 2001:db8:9::, 2001:db8:a:: end",
		"add elements ban-sshd-v4: 192.0.2.1 timeout 1h0m0s, 192.0.2.2 timeout 1ms",
		"add elements ban-sshd-v4net: 198.51.100.0 timeout 10m0s, 198.51.101.0 end, 255.255.255.0",
		"add elements ban-sshd-v6: 2001:db8::1",
		"add elements ban-sshd-v6net: 2001:db8:1:: timeout 24h0m0s, 2001:db8:1:1:: end",
	}}
	if diff := cmp.Diff(want, k.take()); diff != "" {
		t.Errorf("Apply batches (-want +got):\n%s", diff)
	}

	got, err := b.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantList := []string{
		"sshd 192.0.2.1/32 1h0m0s", "sshd 192.0.2.2/32 1ms", "sshd 2001:db8::1/128 permanent",
		"sshd 198.51.100.0/24 10m0s", "sshd 255.255.255.0/24 permanent", "sshd 2001:db8:1::/64 24h0m0s",
	}
	if diff := cmp.Diff(sortedStrings(wantList), banStrings(got)); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
}

// TestListOnlyBanSets lists a table holding another owner's set with
// elements, and a missing table.
func TestListOnlyBanSets(t *testing.T) {
	ctx := context.Background()
	k := newFakeKernel(t)
	b := k.backend(Options{})
	if got, err := b.List(ctx); err != nil || len(got) != 0 {
		t.Fatalf("List of no table = %v, %v; want nothing", got, err)
	}
	if err := b.Setup(ctx, []firewall.JailSpec{sshd}); err != nil {
		t.Fatal(err)
	}
	k.addForeignSet("policy-allow-v4")
	k.sets["policy-allow-v4"].elems[netip.MustParseAddr("198.51.100.5")] = fakeElem{}
	if err := b.Apply(ctx, firewall.Change{Add: []firewall.Ban{{Jail: "sshd", Prefix: netip.MustParsePrefix("203.0.113.5/32")}}}); err != nil {
		t.Fatal(err)
	}
	got, err := b.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"sshd 203.0.113.5/32 permanent"}, banStrings(got)); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
}

// TestApplyBisects makes the fake kernel refuse one element and checks the
// batches: 10 bans in batches of 4, the refused batch split in halves
// until the element is alone; every other element lands.
func TestApplyBisects(t *testing.T) {
	ctx := context.Background()
	k := newFakeKernel(t)
	b := k.backend(Options{BatchSize: 4})
	if err := b.Setup(ctx, []firewall.JailSpec{sshd}); err != nil {
		t.Fatal(err)
	}
	k.refuse = func(d string) syscall.Errno {
		if strings.HasPrefix(d, "add elements") && strings.Contains(d, "203.0.113.5 ") {
			return unix.EEXIST
		}
		return 0
	}
	var add []firewall.Ban
	for i := range 10 {
		add = append(add, firewall.Ban{Jail: "sshd", Prefix: firewall.Host(netip.AddrFrom4([4]byte{203, 0, 113, byte(i)})), Timeout: time.Hour})
	}
	k.take()
	err := b.Apply(ctx, firewall.Change{Add: add})
	var be *firewall.BatchError
	if !errors.As(err, &be) || len(be.Failed) != 1 || be.Failed[0].Ban != add[5] || !errors.Is(be.Failed[0].Err, unix.EEXIST) {
		t.Fatalf("Apply = %v; want a BatchError naming only %v with EEXIST", err, add[5])
	}
	var got []string
	for _, batch := range k.take() {
		got = append(got, strings.Join(batch, " | "))
	}
	e := func(from, to int) string {
		var s []string
		for i := from; i < to; i++ {
			s = append(s, fmt.Sprintf("203.0.113.%d timeout 1h0m0s", i))
		}
		return "add elements ban-sshd-v4: " + strings.Join(s, ", ")
	}
	want := []string{
		e(0, 4),
		"REFUSED | " + e(4, 8), "REFUSED | " + e(4, 6), e(4, 5), "REFUSED | " + e(5, 6), e(6, 8),
		e(8, 10),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("batches (-want +got):\n%s", diff)
	}
	if n := len(k.sets["ban-sshd-v4"].elems); n != 9 {
		t.Errorf("set holds %d elements, want 9", n)
	}
}

// TestLegacyRemovalBatch seeds the layout rampart wrote before the ban
// layer had names of its own, beside another owner's chain that only looks
// similar, and checks that Setup removes exactly the former.
func TestLegacyRemovalBatch(t *testing.T) {
	k := newFakeKernel(t)
	lookup := func(set string) []expr.Any {
		return []expr.Any{
			&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
			&expr.Lookup{SourceRegister: 1, SetName: set},
			&expr.Verdict{Kind: expr.VerdictDrop},
		}
	}
	k.addForeignChain(legacyBase, nftables.ChainHookPrerouting, -300, "", &expr.Verdict{Kind: expr.VerdictJump, Chain: "jail-sshd"})
	k.addForeignChain(legacyReject, nil, 0, "", &expr.Reject{Type: unix.NFT_REJECT_ICMPX_UNREACH})
	k.addForeignChain("jail-sshd", nil, 0, "", lookup("sshd-v4")...)
	k.addRule("jail-sshd", "", lookup("sshd-v6")...)
	k.addForeignSet("sshd-v4")
	k.addForeignSet("sshd-v6")
	// Another owner's chain with a legacy-looking name but a comment, and
	// its set.
	k.addForeignChain("jail-custom", nil, 0, "mine", lookup("custom-v4")...)
	k.addForeignSet("custom-v4")

	b := k.backend(Options{})
	if err := b.Setup(context.Background(), []firewall.JailSpec{sshd}); err != nil {
		t.Fatal(err)
	}
	var dels []string
	for _, l := range slices.Concat(k.take()...) {
		if strings.HasPrefix(l, "delete") {
			dels = append(dels, handleRE.ReplaceAllString(l, "handle N"))
		}
	}
	want := []string{
		"delete rule prerouting handle N",
		"delete rule jail-sshd handle N", "delete rule jail-sshd handle N",
		"delete rule reject handle N",
		"delete chain prerouting", "delete chain jail-sshd", "delete chain reject",
		"delete set sshd-v4", "delete set sshd-v6",
	}
	if diff := cmp.Diff(want, dels); diff != "" {
		t.Errorf("legacy removal (-want +got):\n%s", diff)
	}
	if k.chain("jail-custom") == nil || k.sets["custom-v4"] == nil {
		t.Errorf("Setup removed another owner's jail-custom chain or its set")
	}
}

// TestLegacyNeedsJailChains: a chain "prerouting" and a chain "reject" of
// another owner, without legacy jail chains, are not the legacy layout.
func TestLegacyNeedsJailChains(t *testing.T) {
	k := newFakeKernel(t)
	k.addForeignChain(legacyBase, nftables.ChainHookPrerouting, -300, "", &expr.Verdict{Kind: expr.VerdictAccept})
	k.addForeignChain(legacyReject, nil, 0, "", &expr.Reject{Type: unix.NFT_REJECT_ICMPX_UNREACH})
	b := k.backend(Options{})
	if err := b.Setup(context.Background(), []firewall.JailSpec{sshd}); err != nil {
		t.Fatal(err)
	}
	for _, l := range slices.Concat(k.take()...) {
		if strings.HasPrefix(l, "delete") || strings.HasPrefix(l, "flush") {
			t.Errorf("Setup on a table of another owner's chains sent %q", l)
		}
	}
}

func TestOwnsName(t *testing.T) {
	for _, tc := range []struct {
		name string
		want bool
	}{
		{"bans", true}, {"bans-reject", true}, {"ban-sshd", true}, {"ban-sshd-v4net", true},
		{"ban-", false}, {"ban-bad name", false}, {"bans2", false}, {"banned", false},
		{"policy-input", false}, {"prerouting", false}, {"jail-sshd", false}, {"sshd-v4", false},
	} {
		if got := OwnsName(tc.name); got != tc.want {
			t.Errorf("OwnsName(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
}

var handleRE = regexp.MustCompile(`handle \d+`)

func banStrings(bans []firewall.Ban) []string {
	out := make([]string, len(bans))
	for i, b := range bans {
		out[i] = b.String()
	}
	return sortedStrings(out)
}

func sortedStrings(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// TestApplyStopsOnPermission: a refusal that dooms every element (EPERM) is
// not bisected; the batch and the rest of the change fail at once.
func TestApplyStopsOnPermission(t *testing.T) {
	ctx := context.Background()
	k := newFakeKernel(t)
	b := k.backend(Options{BatchSize: 4})
	if err := b.Setup(ctx, []firewall.JailSpec{sshd}); err != nil {
		t.Fatal(err)
	}
	k.refuse = func(string) syscall.Errno { return unix.EPERM }
	var add []firewall.Ban
	for i := range 10 {
		add = append(add, firewall.Ban{Jail: "sshd", Prefix: firewall.Host(netip.AddrFrom4([4]byte{203, 0, 113, byte(i)}))})
	}
	k.take()
	err := b.Apply(ctx, firewall.Change{Add: add})
	var be *firewall.BatchError
	if !errors.As(err, &be) || len(be.Failed) != 10 || !errors.Is(be.Failed[9].Err, unix.EPERM) {
		t.Fatalf("Apply = %v; want all 10 failed with EPERM", err)
	}
	if n := len(k.take()); n != 1 {
		t.Errorf("Apply sent %d batches after EPERM, want 1", n)
	}

	// EPERM in the middle of a bisection: the elements of the halves not
	// yet sent fail too, and nothing goes unreported.
	refused := false
	k.refuse = func(d string) syscall.Errno {
		switch {
		case refused:
			return unix.EPERM
		case strings.Contains(d+",", " 203.0.113.5,"):
			refused = true
			return unix.EEXIST
		}
		return 0
	}
	err = b.Apply(ctx, firewall.Change{Add: add})
	var got []string
	if errors.As(err, &be) {
		for _, f := range be.Failed {
			got = append(got, f.Ban.Prefix.String())
		}
	}
	want := []string{"203.0.113.4/32", "203.0.113.5/32", "203.0.113.6/32", "203.0.113.7/32", "203.0.113.8/32", "203.0.113.9/32"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("failed elements after EPERM mid-bisection (-want +got):\n%s", diff)
	}
}

// A flood mixing IPv4 and IPv6 in arrival order is sent as one message per
// set, not one per change of family.
func TestApplyGroupsBySet(t *testing.T) {
	ctx := context.Background()
	k := newFakeKernel(t)
	b := k.backend(Options{})
	if err := b.Setup(ctx, []firewall.JailSpec{sshd}); err != nil {
		t.Fatal(err)
	}
	var c firewall.Change
	for i := range 100 {
		a := netip.AddrFrom4([4]byte{198, 18, 0, byte(i)})
		if i%2 == 1 {
			a = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(i)})
		}
		c.Add = append(c.Add, firewall.Ban{Jail: "sshd", Prefix: netip.PrefixFrom(a, a.BitLen()), Timeout: time.Hour})
	}
	k.take()
	if err := b.Apply(ctx, c); err != nil {
		t.Fatal(err)
	}
	got := k.take()
	if len(got) != 1 || len(got[0]) != 2 {
		t.Fatalf("100 alternating IPv4/IPv6 bans went out as %v, want one batch of two messages", got)
	}
}
