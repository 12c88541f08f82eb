package iptables

import (
	"context"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rampart-ids/rampart/internal/firewall"
	"github.com/rampart-ids/rampart/internal/firewall/firewalltest"
	"github.com/rampart-ids/rampart/internal/netns"
)

func skipUnlessTools(t testing.TB) {
	netns.SkipUnlessRoot(t)
	for _, tool := range []string{"iptables", "ip6tables", "iptables-restore", "ip6tables-restore", "ipset"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("skipping: %s not installed (Debian packages iptables and ipset; run scripts/deps.sh)", tool)
		}
	}
}

func TestConformance(t *testing.T) {
	firewalltest.Run(t, func(t *testing.T) firewall.Backend {
		skipUnlessTools(t)
		ns := netns.New(t, "ipt")
		return New(Options{Wrap: ns.Prefix()})
	})
}

// TestConformanceSmallBatches forces several restores per Apply.
func TestConformanceSmallBatches(t *testing.T) {
	firewalltest.Run(t, func(t *testing.T) firewall.Backend {
		skipUnlessTools(t)
		ns := netns.New(t, "iptsmall")
		return New(Options{Wrap: ns.Prefix(), BatchSize: 1000})
	})
}

func TestSupported(t *testing.T) {
	skipUnlessTools(t)
	ns := netns.New(t, "iptsupp")
	if err := Supported(context.Background(), Options{Wrap: ns.Prefix()}); err != nil {
		t.Errorf("Supported = %v, want nil", err)
	}
}

// TestSetupInNamespace checks what an administrator sees: the sets with a
// large maxelem and the jumps into the chain, also from DOCKER-USER.
func TestSetupInNamespace(t *testing.T) {
	skipUnlessTools(t)
	ns := netns.New(t, "iptsetup")
	ns.MustExec(t, "iptables", "-w", "-N", "DOCKER-USER")
	b := New(Options{Wrap: ns.Prefix()})
	ctx := context.Background()
	for range 2 { // the second Setup must not duplicate anything
		if err := b.Setup(ctx, firewalltest.Jails()); err != nil {
			t.Fatal(err)
		}
	}
	sets := ns.MustExec(t, "ipset", "list", "-t", "rampart-ban-sshd-4")
	if !strings.Contains(sets, "maxelem 1048576") || !strings.Contains(sets, "timeout 0") {
		t.Errorf("ipset list rampart-ban-sshd-4 = %s; want timeout 0 and maxelem 1048576", sets)
	}
	rules := ns.MustExec(t, "iptables", "-w", "-S")
	for _, c := range []string{"INPUT", "FORWARD", "DOCKER-USER"} {
		if n := strings.Count(rules, "-A "+c+" -j rampart-bans\n"); n != 1 {
			t.Errorf("iptables -S: %d jumps from %s, want 1:\n%s", n, c, rules)
		}
	}
	if err := b.Teardown(ctx); err != nil {
		t.Fatal(err)
	}
	if rules := ns.MustExec(t, "iptables", "-w", "-S"); strings.Contains(rules, "rampart") {
		t.Errorf("after Teardown iptables -S still mentions rampart:\n%s", rules)
	}
	if sets := ns.MustExec(t, "ipset", "list", "-n"); strings.TrimSpace(sets) != "" {
		t.Errorf("after Teardown ipset list -n = %q", sets)
	}
}

// TestTrafficBlocked bans a peer namespace and checks a real TCP connect.
func TestTrafficBlocked(t *testing.T) {
	skipUnlessTools(t)
	srv, atk := netns.New(t, "iptsrv"), netns.New(t, "iptatk")
	p := netip.MustParsePrefix
	netns.Link(t, srv, atk, []netip.Prefix{p("192.0.2.1/24"), p("2001:db8::1/64")}, []netip.Prefix{p("192.0.2.2/24"), p("2001:db8::2/64")})
	var ln net.Listener
	if err := srv.Do(func() (err error) { ln, err = net.Listen("tcp", "[::]:0"); return err }); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	dial := func(host string) error {
		return atk.Do(func() error {
			c, err := net.DialTimeout("tcp", net.JoinHostPort(host, strconv.Itoa(int(port))), 400*time.Millisecond)
			if err == nil {
				c.Close()
			}
			return err
		})
	}
	b := New(Options{Wrap: srv.Prefix()})
	ctx := context.Background()
	jails := []firewall.JailSpec{{Name: "sshd", Ports: []firewall.PortRange{{First: port, Last: port}}, Protocols: []string{"tcp"}, Action: firewall.Reject}}
	if err := b.Setup(ctx, jails); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ host, ban string }{{"192.0.2.1", "192.0.2.2/32"}, {"2001:db8::1", "2001:db8::/64"}} {
		ban := firewall.Ban{Jail: "sshd", Prefix: p(tc.ban), Timeout: time.Hour}
		if err := b.Apply(ctx, firewall.Change{Add: []firewall.Ban{ban}}); err != nil {
			t.Fatal(err)
		}
		if err := dial(tc.host); err == nil {
			t.Errorf("banned %s connected to %s", tc.ban, tc.host)
		}
		if err := b.Apply(ctx, firewall.Change{Remove: []firewall.Ban{ban}}); err != nil {
			t.Fatal(err)
		}
		if err := dial(tc.host); err != nil {
			t.Errorf("after unban of %s: %v", tc.ban, err)
		}
	}
}

func TestRulesScriptGolden(t *testing.T) {
	jails := append(firewalltest.Jails(), firewall.JailSpec{
		Name: "many-ports", Protocols: []string{"udp"}, Action: firewall.Reject,
		Ports: []firewall.PortRange{firewall.Port(1), firewall.Port(2), firewall.Port(3), firewall.Port(4),
			firewall.Port(5), firewall.Port(6), firewall.Port(7), {First: 10, Last: 20}},
	})
	var got strings.Builder
	for _, f := range families() {
		got.WriteString(rulesScript(f, jails))
	}
	golden := filepath.Join("testdata", "rules.golden")
	if os.Getenv("UPDATE_GOLDEN") == "1" {
		if err := os.WriteFile(golden, []byte(got.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (UPDATE_GOLDEN=1 creates it)", err)
	}
	if diff := cmp.Diff(string(want), got.String()); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}
}

func TestSetName(t *testing.T) {
	for _, tc := range []struct {
		jail string
		v6   bool
		want string
	}{
		{"sshd", false, "rampart-ban-sshd-4"},
		{"sshd", true, "rampart-ban-sshd-6"},
		{"apache-noscript", true, "rampart-ban-apache-noscript-6"},
		{"apache-shellshock", false, "rampart-ban-apache-shellshock-4"},
		{"apache-fakegooglebot", false, "rampart-ban-apache-fak~"},
	} {
		got := SetName(tc.jail, tc.v6)
		if len(got) > 31 || !strings.HasPrefix(got, tc.want) {
			t.Errorf("SetName(%q, %v) = %q, want prefix %q and at most 31 bytes", tc.jail, tc.v6, got, tc.want)
		}
	}
	if SetName("apache-fakegooglebot-a", false) == SetName("apache-fakegooglebot-b", false) {
		t.Errorf("long jail names differing at the end share a set name")
	}
	b := New(Options{})
	b.jails["apache-fakegooglebot-long"] = firewall.JailSpec{Name: "apache-fakegooglebot-long"}
	if j, ok := b.jailOf(SetName("apache-fakegooglebot-long", true)); !ok || j != "apache-fakegooglebot-long" {
		t.Errorf("jailOf(long name) = %q, %v", j, ok)
	}
}

func TestTimeoutSeconds(t *testing.T) {
	for _, tc := range []struct {
		in   time.Duration
		want int64
	}{
		{0, 0}, {time.Millisecond, 1}, {time.Second, 1}, {1500 * time.Millisecond, 2},
		{time.Hour, 3600}, {MaxTimeout, 2147483}, {MaxTimeout + time.Second, 0}, {-time.Second, 0},
	} {
		if got := timeoutSeconds(tc.in); got != tc.want {
			t.Errorf("timeoutSeconds(%v) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestParseSave(t *testing.T) {
	text := `create rampart-sshd-4 hash:net family inet hashsize 1024 maxelem 1048576 timeout 0 bucketsize 12 initval 0x1
add rampart-sshd-4 192.0.2.1 timeout 3599
add rampart-sshd-4 198.51.100.0/24 timeout 0
add rampart-sshd-6 2001:db8::/64 timeout 12 packets 3
add rampart-sshd-6 2001:db8::5
`
	got, err := ParseSave(text)
	if err != nil {
		t.Fatal(err)
	}
	p := netip.MustParsePrefix
	want := []Entry{
		{"rampart-sshd-4", p("192.0.2.1/32"), 3599 * time.Second},
		{"rampart-sshd-4", p("198.51.100.0/24"), 0},
		{"rampart-sshd-6", p("2001:db8::/64"), 12 * time.Second},
		{"rampart-sshd-6", p("2001:db8::5/128"), 0},
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("ParseSave (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"add x", "add x 300.1.1.1", "add x 192.0.2.1 timeout -1", "add x fe80::1%eth0"} {
		if _, err := ParseSave(bad); err == nil {
			t.Errorf("ParseSave(%q) = nil error, want error", bad)
		}
	}
}

func FuzzParseSave(f *testing.F) {
	f.Add("add rampart-sshd-4 192.0.2.1 timeout 3599\n")
	f.Add("create x hash:net\nadd x 2001:db8::/64 timeout 0\n")
	f.Add("add x ::ffff:1.2.3.4/120 timeout 99999999999\n")
	f.Fuzz(func(t *testing.T, text string) {
		entries, err := ParseSave(text)
		if err != nil {
			return
		}
		for _, e := range entries {
			if !e.Prefix.IsValid() || e.Timeout < 0 || e.Prefix != e.Prefix.Masked() {
				t.Fatalf("ParseSave(%q) gave %+v", text, e)
			}
		}
	})
}

// TestRestoreRetriesAroundBadLines replaces ipset with a stub that refuses
// two elements the way ipset reports it, and checks that exactly those two
// are named while the others are sent again.
func TestRestoreRetriesAroundBadLines(t *testing.T) {
	log := filepath.Join(t.TempDir(), "restores")
	stub := `if [ "$1" = ipset ] && [ "$3" = restore ]; then
  n=0; echo run >> "$0"
  while read -r l; do
    n=$((n+1))
    case "$l" in *203.0.113.66*|*2001:db8::66*) echo "ipset v7.17: Error in line $n: Element cannot be added to the set: it's already added" >&2; exit 1;; esac
  done
fi`
	b := New(Options{Wrap: []string{"sh", "-c", stub, log}})
	b.jails["sshd"] = firewall.JailSpec{Name: "sshd"}
	var add []firewall.Ban
	for i := range 100 {
		add = append(add, firewall.Ban{Jail: "sshd", Prefix: firewall.Host(netip.AddrFrom4([4]byte{203, 0, 113, byte(i)})), Timeout: time.Hour})
	}
	add = append(add, firewall.Ban{Jail: "sshd", Prefix: netip.MustParsePrefix("2001:db8::66/128")})
	err := b.Apply(context.Background(), firewall.Change{Add: add})
	be, ok := err.(*firewall.BatchError)
	if !ok {
		t.Fatalf("Apply = %v, want *firewall.BatchError", err)
	}
	var got []string
	for _, f := range be.Failed {
		got = append(got, f.Ban.Prefix.String()+": "+f.Err.Error())
	}
	want := []string{
		"203.0.113.66/32: Element cannot be added to the set: it's already added",
		"2001:db8::66/128: Element cannot be added to the set: it's already added",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("failed elements (-want +got):\n%s", diff)
	}
	runs, _ := os.ReadFile(log)
	if n := strings.Count(string(runs), "run"); n != 3 {
		t.Errorf("ipset restore ran %d times, want 3 (two refusals, then the rest)", n)
	}
}
