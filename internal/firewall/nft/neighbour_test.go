package nft

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/rampart-ids/rampart/internal/firewall"
	"github.com/rampart-ids/rampart/internal/firewall/firewalltest"
	"github.com/rampart-ids/rampart/internal/netns"
)

// neighbourScript is what another owner adds with the nft tool: in table
// inet rampart a base chain at input with a rule, a set with an element, a
// set whose name has the pre-split layout's form, a named counter, and a
// rule in the ban layer's own base chain; and a table of its own.
const neighbourScript = `table inet rampart {
	set policy-allow-v4 { type ipv4_addr; elements = { 192.0.2.200 } }
	set allow-v4 { type ipv4_addr; }
	counter policy-hits { }
	chain policy-input {
		type filter hook input priority filter; policy accept;
		tcp dport 9 counter accept comment "policy"
	}
	chain bans {
		type filter hook prerouting priority raw; policy accept;
		ip saddr 198.51.100.9 counter comment "policy-in-bans"
	}
}
table inet other {
	chain input {
		type filter hook input priority filter; policy accept;
		tcp dport 7 accept
	}
}
`

// neighbourObjects are the nft list commands whose output must not change.
var neighbourObjects = [][]string{
	{"set", "inet", TableName, "policy-allow-v4"},
	{"set", "inet", TableName, "allow-v4"},
	{"counter", "inet", TableName, "policy-hits"},
	{"chain", "inet", TableName, "policy-input"},
	{"table", "inet", "other"},
}

// nftNeighbour adds neighbourScript in ns and checks it is intact.
func nftNeighbour(ns *netns.NS) firewalltest.Neighbour {
	want := map[string]string{}
	list := func(t *testing.T, obj []string) string {
		t.Helper()
		out, err := ns.Exec(context.Background(), append([]string{"nft", "list"}, obj...)...)
		if err != nil {
			t.Errorf("another owner's %s is gone: %v", strings.Join(obj, " "), err)
		}
		return out
	}
	return firewalltest.Neighbour{
		Add: func(t *testing.T) {
			ns.MustExec(t, "nft", neighbourScript)
			for _, obj := range neighbourObjects {
				want[strings.Join(obj, " ")] = list(t, obj)
			}
		},
		Check: func(t *testing.T) {
			t.Helper()
			for _, obj := range neighbourObjects {
				if got := list(t, obj); got != want[strings.Join(obj, " ")] {
					t.Errorf("nft list %s changed:\n%s\nwant:\n%s", strings.Join(obj, " "), got, want[strings.Join(obj, " ")])
				}
			}
			if bans := list(t, []string{"chain", "inet", TableName, baseChain}); !strings.Contains(bans, `ip saddr 198.51.100.9 counter packets 0 bytes 0 comment "policy-in-bans"`) {
				t.Errorf("another owner's rule in chain bans is gone:\n%s", bans)
			}
		},
	}
}

func TestConformanceNeighbour(t *testing.T) {
	firewalltest.RunNeighbour(t, func(t *testing.T) (firewall.Backend, firewalltest.Neighbour) {
		b, ns := newInNS(t, "nftnb")
		return b, nftNeighbour(ns)
	})
}

// TestTeardownTable checks when Teardown deletes the table: when the ban
// layer's objects are all it holds, and not while another owner's named
// counter (listed by no chain or set) is in it.
func TestTeardownTable(t *testing.T) {
	ctx := context.Background()
	b, ns := newInNS(t, "nfttd")
	tables := func() string { return ns.MustExec(t, "nft", "list", "tables") }
	if err := b.Setup(ctx, firewalltest.Jails()); err != nil {
		t.Fatal(err)
	}
	ns.MustExec(t, "nft", "add", "counter", "inet", TableName, "policy-hits")
	if err := b.Teardown(ctx); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tables(), "table inet "+TableName) {
		t.Fatalf("Teardown deleted the table holding another owner's counter")
	}
	if out := ns.MustExec(t, "nft", "list", "table", "inet", TableName); strings.Contains(out, "ban") || !strings.Contains(out, "counter policy-hits") {
		t.Errorf("after Teardown the table holds:\n%s\nwant only the counter", out)
	}
	ns.MustExec(t, "nft", "delete", "counter", "inet", TableName, "policy-hits")
	if err := b.Setup(ctx, firewalltest.Jails()); err != nil {
		t.Fatal(err)
	}
	if err := b.Teardown(ctx); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(tables(), "table inet "+TableName) {
		t.Errorf("Teardown kept a table holding only the ban layer's objects:\n%s", tables())
	}
}

// writeLegacy writes the table as rampart did before the ban layer had
// names of its own, over netlink as it did then: jail sshd (port 22, drop)
// with one banned address. (The nft tool of Debian 12 cannot parse the
// chain name "reject".)
func writeLegacy(t *testing.T, ns *netns.NS) {
	c, err := nftables.New(nftables.WithNetNSFd(ns.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	tbl := c.AddTable(&nftables.Table{Name: TableName, Family: nftables.TableFamilyINet})
	base := c.AddChain(&nftables.Chain{Name: legacyBase, Table: tbl, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityRaw})
	reject := c.AddChain(&nftables.Chain{Name: legacyReject, Table: tbl})
	for _, r := range rejectRules(tbl, reject) {
		r.UserData = nil
		c.AddRule(r)
	}
	jail := c.AddChain(&nftables.Chain{Name: legacyPrefix + "sshd", Table: tbl})
	for _, k := range setKinds("sshd") {
		s := k.set(tbl)
		s.Name, s.Comment = strings.TrimPrefix(s.Name, banPrefix), ""
		var elems []nftables.SetElement
		if !k.v6 && !k.net {
			elems = []nftables.SetElement{{Key: []byte{192, 0, 2, 77}, Timeout: time.Hour}}
		}
		if err := c.AddSet(s, elems); err != nil {
			t.Fatal(err)
		}
		r := matchRule(tbl, jail, s, k, firewall.Drop)
		r.UserData = nil
		c.AddRule(r)
	}
	for _, r := range dispatchRules(tbl, base, sshd) {
		r.UserData = nil
		r.Exprs[len(r.Exprs)-1] = &expr.Verdict{Kind: expr.VerdictJump, Chain: legacyPrefix + "sshd"}
		c.AddRule(r)
	}
	if err := c.Flush(); err != nil {
		t.Fatalf("write the legacy layout: %v", err)
	}
}

// TestSetupRemovesLegacy upgrades a table of the pre-split layout, beside
// another owner's chain: Setup replaces the old layout and leaves the
// other chain.
func TestSetupRemovesLegacy(t *testing.T) {
	b, ns := newInNS(t, "nftlegacy")
	writeLegacy(t, ns)
	if out := ns.MustExec(t, "nft", "list", "table", "inet", TableName); !strings.Contains(out, "jump jail-sshd") || !strings.Contains(out, "192.0.2.77") {
		t.Fatalf("legacy layout not written:\n%s", out)
	}
	ns.MustExec(t, "nft", `add chain inet rampart policy-input { type filter hook input priority filter; policy accept; }
add rule inet rampart policy-input tcp dport 9 accept`)
	if err := b.Setup(context.Background(), []firewall.JailSpec{sshd}); err != nil {
		t.Fatal(err)
	}
	out := ns.MustExec(t, "nft", "list", "table", "inet", TableName)
	for _, old := range []string{"chain prerouting", "chain reject", "jail-sshd", "set sshd-v4"} {
		if strings.Contains(out, old) {
			t.Errorf("after Setup the table still holds the old %q:\n%s", old, out)
		}
	}
	for _, want := range []string{"chain bans", "set ban-sshd-v4", "chain policy-input", "tcp dport 9 accept"} {
		if !strings.Contains(out, want) {
			t.Errorf("after Setup the table lacks %q:\n%s", want, out)
		}
	}
}

// TestTrafficWithNeighbour bans with another owner's accepting input chain
// and table beside the ban layer: its accept does not open what a ban
// drops, a reload with changed jails keeps the ban, and Teardown lifts it
// without taking the neighbour's objects.
func TestTrafficWithNeighbour(t *testing.T) {
	tp := newTopology(t)
	ctx := context.Background()
	port := listen(t, tp.server, "tcp", "[::]:0")
	n := nftNeighbour(tp.server)
	n.Add(t)
	tp.server.MustExec(t, "nft", "add", "rule", "inet", TableName, "policy-input", "tcp", "dport", itoa(port), "accept")
	jails := []firewall.JailSpec{{Name: "sshd", Ports: []firewall.PortRange{firewall.Port(port)}, Protocols: []string{"tcp"}}}
	if err := tp.backend.Setup(ctx, jails); err != nil {
		t.Fatal(err)
	}
	if err := tp.backend.Apply(ctx, firewall.Change{Add: []firewall.Ban{{Jail: "sshd", Prefix: pfx("192.0.2.2/32"), Timeout: time.Hour}}}); err != nil {
		t.Fatal(err)
	}
	if err := dial(tp.attacker, "192.0.2.1", port); err == nil {
		t.Errorf("banned attacker connected past the neighbour's accept")
	}
	jails = append(jails, firewall.JailSpec{Name: "web", Ports: []firewall.PortRange{firewall.Port(80)}})
	if err := tp.backend.Setup(ctx, jails); err != nil {
		t.Fatal(err)
	}
	if err := dial(tp.attacker, "192.0.2.1", port); err == nil {
		t.Errorf("banned attacker connected after the reload")
	}
	if err := dial(tp.client, "198.51.100.1", port); err != nil {
		t.Errorf("client after the reload: %v", err)
	}
	if err := tp.backend.Teardown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := dial(tp.attacker, "192.0.2.1", port); err != nil {
		t.Errorf("attacker after Teardown: %v", err)
	}
	if out := tp.server.MustExec(t, "nft", "list", "chain", "inet", TableName, "policy-input"); !strings.Contains(out, "tcp dport "+itoa(port)+" accept") {
		t.Errorf("neighbour's rule gone after Teardown:\n%s", out)
	}
}

func itoa(p uint16) string { return strconv.Itoa(int(p)) }
