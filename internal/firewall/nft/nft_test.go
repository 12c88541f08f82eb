package nft

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/rampart-ids/rampart/internal/firewall"
	"github.com/rampart-ids/rampart/internal/firewall/firewalltest"
	"github.com/rampart-ids/rampart/internal/netns"
)

// newInNS returns a backend managing a fresh namespace of its own.
func newInNS(t testing.TB, name string) (*Backend, *netns.NS) {
	netns.SkipUnlessRoot(t)
	ns := netns.New(t, name)
	return New(Options{NetNS: ns.Fd()}), ns
}

func TestConformance(t *testing.T) {
	firewalltest.Run(t, func(t *testing.T) firewall.Backend {
		b, _ := newInNS(t, "nft")
		return b
	})
}

// TestConformanceSmallBatches runs the suite with tiny batches so that the
// chunking and bisection paths carry most of the work.
func TestConformanceSmallBatches(t *testing.T) {
	firewalltest.Run(t, func(t *testing.T) firewall.Backend {
		netns.SkipUnlessRoot(t)
		ns := netns.New(t, "nftsmall")
		return New(Options{NetNS: ns.Fd(), BatchSize: 50})
	})
}

func TestSupported(t *testing.T) {
	_, ns := newInNS(t, "nftsupp")
	if err := Supported(Options{NetNS: ns.Fd()}); err != nil {
		t.Errorf("Supported = %v, want nil as root", err)
	}
}

// TestRuleset checks the table as the nft tool sees it: the hook, the sets'
// flags and the rules, so that an administrator's `nft list ruleset` shows
// what docs/FIREWALL.md describes.
func TestRuleset(t *testing.T) {
	b, ns := newInNS(t, "nftrules")
	if err := b.Setup(context.Background(), firewalltest.Jails()); err != nil {
		t.Fatal(err)
	}
	out := ns.MustExec(t, "nft", "list", "table", "inet", TableName)
	for _, want := range []string{
		"type filter hook prerouting priority raw; policy accept;",
		"chain bans {\n\t\ttype filter hook prerouting priority raw; policy accept;",
		"set ban-sshd-v4 {\n\t\ttype ipv4_addr\n\t\tflags timeout\n",
		"set ban-sshd-v6net {\n\t\ttype ipv6_addr\n\t\tflags interval,timeout\n",
		`comment "rampart-bans"`,
		`tcp dport 22 jump ban-sshd comment "rampart-bans"`,
		`udp dport 8000-8080 jump ban-web comment "rampart-bans"`,
		`jump ban-recidive comment "rampart-bans"`,
		`ip saddr @ban-sshd-v4 counter packets 0 bytes 0 drop comment "rampart-bans"`,
		`ip6 saddr @ban-web-v6net counter packets 0 bytes 0 goto bans-reject comment "rampart-bans"`,
		`meta l4proto tcp reject with tcp reset comment "rampart-bans"`,
		`reject with icmpx admin-prohibited comment "rampart-bans"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("nft list table lacks %q; got:\n%s", want, out)
		}
	}
	// The JSON form parses (tests of other packages may rely on it).
	js := ns.MustExec(t, "nft", "-j", "list", "ruleset")
	var v map[string]any
	if err := json.Unmarshal([]byte(js), &v); err != nil {
		t.Errorf("nft -j list ruleset: %v", err)
	}
}

// TestSetupManyJails sets up 150 jails of two ports each (1,500 rules, 600
// sets in one transaction), then reloads them: the kernel's answers to so
// many messages overflowed the default socket buffer (ENOBUFS from about 20
// jails on).
func TestSetupManyJails(t *testing.T) {
	b, _ := newInNS(t, "nftmany")
	ctx := context.Background()
	var jails []firewall.JailSpec
	for i := range 150 {
		jails = append(jails, firewall.JailSpec{Name: fmt.Sprintf("jail-number-%d", i),
			Ports: []firewall.PortRange{firewall.Port(uint16(1000 + i)), {First: 5000, Last: 5100}}})
	}
	for i := range 2 {
		if err := b.Setup(ctx, jails); err != nil {
			t.Fatalf("Setup #%d of %d jails: %v", i+1, len(jails), err)
		}
	}
	ban := firewall.Ban{Jail: jails[149].Name, Prefix: netip.MustParsePrefix("192.0.2.1/32")}
	if err := b.Apply(ctx, firewall.Change{Add: []firewall.Ban{ban}}); err != nil {
		t.Fatal(err)
	}
	if got, err := b.List(ctx); err != nil || len(got) != 1 || got[0] != ban {
		t.Errorf("List = %v, %v; want [%v]", got, err, ban)
	}
	if err := b.Teardown(ctx); err != nil {
		t.Fatal(err)
	}
}
