package iptables

import (
	"strings"
	"testing"

	"github.com/rampart-ids/rampart/internal/firewall"
	"github.com/rampart-ids/rampart/internal/firewall/firewalltest"
	"github.com/rampart-ids/rampart/internal/netns"
)

// iptNeighbour is another owner's objects: a chain of its own jumped to
// from INPUT, rules of its own in INPUT (both families) and an ipset whose
// name starts like rampart's, with an element.
func iptNeighbour(ns *netns.NS) firewalltest.Neighbour {
	var chain, set string
	return firewalltest.Neighbour{
		Add: func(t *testing.T) {
			for _, argv := range [][]string{
				{"iptables", "-w", "-N", "policy-in"},
				{"iptables", "-w", "-A", "policy-in", "-p", "tcp", "--dport", "9", "-j", "ACCEPT"},
				{"iptables", "-w", "-A", "INPUT", "-j", "policy-in"},
				{"iptables", "-w", "-A", "INPUT", "-s", "198.51.100.9", "-j", "ACCEPT"},
				{"ip6tables", "-w", "-A", "INPUT", "-s", "2001:db8::9", "-j", "ACCEPT"},
				{"ipset", "create", "rampart-allow-4", "hash:net"},
				{"ipset", "add", "rampart-allow-4", "192.0.2.200"},
			} {
				ns.MustExec(t, argv...)
			}
			chain = ns.MustExec(t, "iptables", "-w", "-S", "policy-in")
			set = ns.MustExec(t, "ipset", "save", "rampart-allow-4")
		},
		Check: func(t *testing.T) {
			t.Helper()
			if got := ns.MustExec(t, "iptables", "-w", "-S", "policy-in"); got != chain {
				t.Errorf("iptables -S policy-in = %q, want %q", got, chain)
			}
			if got := ns.MustExec(t, "ipset", "save", "rampart-allow-4"); got != set {
				t.Errorf("ipset save rampart-allow-4 = %q, want %q", got, set)
			}
			for _, c := range []struct{ cmd, rule string }{
				{"iptables", "-A INPUT -j policy-in\n"},
				{"iptables", "-A INPUT -s 198.51.100.9/32 -j ACCEPT\n"},
				{"ip6tables", "-A INPUT -s 2001:db8::9/128 -j ACCEPT\n"},
			} {
				if got := ns.MustExec(t, c.cmd, "-w", "-S", "INPUT"); !strings.Contains(got, c.rule) {
					t.Errorf("%s -S INPUT lost %q:\n%s", c.cmd, c.rule, got)
				}
			}
		},
	}
}

func TestConformanceNeighbour(t *testing.T) {
	firewalltest.RunNeighbour(t, func(t *testing.T) (firewall.Backend, firewalltest.Neighbour) {
		skipUnlessTools(t)
		ns := netns.New(t, "iptnb")
		return New(Options{Wrap: ns.Prefix()}), iptNeighbour(ns)
	})
}

// TestSetupRemovesLegacy upgrades the layout rampart wrote before the ban
// layer had names of its own (chain "rampart", sets "rampart-JAIL-4/6"):
// Setup removes it, and leaves another owner's set and rules.
func TestSetupRemovesLegacy(t *testing.T) {
	skipUnlessTools(t)
	ns := netns.New(t, "iptlegacy")
	n := iptNeighbour(ns)
	n.Add(t)
	for _, argv := range [][]string{
		{"ipset", "create", "rampart-sshd-4", "hash:net", "family", "inet", "timeout", "0"},
		{"ipset", "create", "rampart-sshd-6", "hash:net", "family", "inet6", "timeout", "0"},
		{"ipset", "add", "rampart-sshd-4", "192.0.2.77"},
		{"iptables", "-w", "-N", "rampart"},
		{"iptables", "-w", "-A", "rampart", "-p", "tcp", "-m", "multiport", "--dports", "22", "-m", "set", "--match-set", "rampart-sshd-4", "src", "-j", "DROP"},
		{"iptables", "-w", "-I", "INPUT", "1", "-j", "rampart"},
		{"iptables", "-w", "-I", "FORWARD", "1", "-j", "rampart"},
		{"ip6tables", "-w", "-N", "rampart"},
		{"ip6tables", "-w", "-A", "rampart", "-p", "tcp", "-m", "multiport", "--dports", "22", "-m", "set", "--match-set", "rampart-sshd-6", "src", "-j", "REJECT", "--reject-with", "tcp-reset"},
		{"ip6tables", "-w", "-I", "INPUT", "1", "-j", "rampart"},
	} {
		ns.MustExec(t, argv...)
	}
	b := New(Options{Wrap: ns.Prefix()})
	if err := b.Setup(t.Context(), firewalltest.Jails()); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"iptables", "ip6tables"} {
		rules := ns.MustExec(t, cmd, "-w", "-S")
		if strings.Contains(rules, "-j rampart\n") || strings.Contains(rules, "-N rampart\n") {
			t.Errorf("%s -S still holds the old chain:\n%s", cmd, rules)
		}
		if !strings.Contains(rules, "-A INPUT -j rampart-bans\n") {
			t.Errorf("%s -S lacks the new jump:\n%s", cmd, rules)
		}
	}
	sets := ns.MustExec(t, "ipset", "list", "-n")
	if strings.Contains(sets, "rampart-sshd-4") || strings.Contains(sets, "rampart-sshd-6") {
		t.Errorf("old sets left: %s", sets)
	}
	n.Check(t)
}

// TestLegacyChainOfAnotherOwner: a chain "rampart" with a rule old rampart
// never wrote is not the old layout and stays.
func TestLegacyChainOfAnotherOwner(t *testing.T) {
	skipUnlessTools(t)
	ns := netns.New(t, "iptnotlegacy")
	ns.MustExec(t, "iptables", "-w", "-N", "rampart")
	ns.MustExec(t, "iptables", "-w", "-A", "rampart", "-p", "tcp", "--dport", "9", "-j", "ACCEPT")
	ns.MustExec(t, "iptables", "-w", "-A", "INPUT", "-j", "rampart")
	b := New(Options{Wrap: ns.Prefix()})
	if err := b.Setup(t.Context(), firewalltest.Jails()); err != nil {
		t.Fatal(err)
	}
	if err := b.Teardown(t.Context()); err != nil {
		t.Fatal(err)
	}
	rules := ns.MustExec(t, "iptables", "-w", "-S")
	for _, want := range []string{"-A rampart -p tcp -m tcp --dport 9 -j ACCEPT\n", "-A INPUT -j rampart\n"} {
		if !strings.Contains(rules, want) {
			t.Errorf("iptables -S lost another owner's %q:\n%s", want, rules)
		}
	}
}

func TestLegacySets(t *testing.T) {
	for _, tc := range []struct {
		name, save string
		want       []string
		ok         bool
	}{
		{"old rules", "-N rampart\n-A rampart -p tcp -m multiport --dports 22 -m set --match-set rampart-sshd-4 src -j DROP\n" +
			"-A rampart -m set --match-set rampart-web-4 src -j REJECT --reject-with icmp-admin-prohibited\n",
			[]string{"rampart-sshd-4", "rampart-web-4"}, true},
		{"empty chain", "-N rampart\n", nil, true},
		{"accept rule", "-N rampart\n-A rampart -p tcp -m tcp --dport 9 -j ACCEPT\n", nil, false},
		{"commented", "-N rampart\n-A rampart -m set --match-set rampart-x-4 src -m comment --comment mine -j DROP\n", nil, false},
		{"other set", "-N rampart\n-A rampart -m set --match-set allow src -j DROP\n", nil, false},
		{"new-layout set", "-N rampart\n-A rampart -m set --match-set rampart-ban-x-4 src -j DROP\n", nil, false},
	} {
		got, ok := legacySets(tc.save)
		if ok != tc.ok || strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%s: legacySets = %q, %v; want %q, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}
