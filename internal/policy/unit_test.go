package policy

import (
	"bytes"
	"context"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/config"
)

var update = flag.Bool("update", os.Getenv("UPDATE_GOLDEN") == "1", "rewrite golden files")

// TestRulesRoundTrip: every rule Build writes parses back from its text.
func TestRulesRoundTrip(t *testing.T) {
	b := testBaseline(t, "22/tcp", "60000-61000/udp")
	b.DHCP = "yes"
	b.AllowFrom = []config.AllowFrom{{Port: mustPort(t, "9100/tcp"), Sources: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8::/32")}}}
	for _, r := range Build(b, Env{}).Rules {
		got, err := ParseRule(r.String())
		if err != nil || got != r {
			t.Errorf("ParseRule(%q) = %+v, %v; want %+v", r.String(), got, err, r)
		}
	}
}

// TestPlanGolden renders the plan from a kernel holding an older baseline
// to the configured one.
func TestPlanGolden(t *testing.T) {
	old := Build(testBaseline(t, "22/tcp", "8080/tcp"), Env{})
	b := testBaseline(t, "22/tcp", "443/tcp", "51820/udp")
	b.ICMP = false
	b.AllowFrom = []config.AllowFrom{{Port: mustPort(t, "9100/tcp"), Sources: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}}}
	cur := &Active{Present: true, Drop: true, Rules: old.Rules, Foreign: 1}
	pl := Diff(cur, Build(b, Env{}))
	pl.Neighbours = []string{"table inet filter chain input (hook input) drops by default: it decides what gets in as well as rampart's baseline; rampart leaves it alone"}
	var out bytes.Buffer
	pl.WriteText(&out)
	pl = Diff(&Active{}, Build(b, Env{}))
	pl.WriteText(&out)
	pl = Diff(cur, &Policy{})
	pl.WriteText(&out)
	golden := filepath.Join("testdata", "plan.golden")
	if *update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != string(want) {
		t.Errorf("plan text differs from %s (UPDATE_GOLDEN=1 rewrites it):\n%s", golden, out.String())
	}
}

func TestAcceptsAndOpenPorts(t *testing.T) {
	b := testBaseline(t, "22/tcp", "1000-2000/udp")
	b.AllowFrom = []config.AllowFrom{{Port: mustPort(t, "9100/tcp"), Sources: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}}}
	p := Build(b, Env{})
	for _, c := range []struct {
		src   string
		proto string
		port  uint16
		want  bool
	}{
		{"198.51.100.1", "tcp", 22, true}, {"198.51.100.1", "udp", 22, false}, {"198.51.100.1", "udp", 1500, true},
		{"192.0.2.9", "tcp", 9100, true}, {"::ffff:192.0.2.9", "tcp", 9100, true}, {"198.51.100.1", "tcp", 9100, false},
	} {
		if got := p.Accepts(netip.MustParseAddr(c.src), c.proto, c.port); got != c.want {
			t.Errorf("Accepts(%s, %s, %d) = %v", c.src, c.proto, c.port, got)
		}
	}
	if got := len(p.OpenPorts()); got != 3 {
		t.Errorf("OpenPorts = %v", p.OpenPorts())
	}
	if (&Policy{}).OpenPorts() != nil {
		t.Error("a disabled baseline has open ports listed")
	}
}

// TestGuardFixture: sshd's listening socket found through a fake /proc.
func TestGuardFixture(t *testing.T) {
	proc := t.TempDir()
	mk := func(path, data string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(proc, path)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(proc, path), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mk("self/net/tcp", "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"+
		"   0: 00000000:0898 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0\n"+
		"   2: 0100007F:0899 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4444 1 0000000000000000 100 0 0 10 0\n"+
		"   1: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4343 1 0000000000000000 100 0 0 10 0\n")
	mk("100/comm", "sshd\n")
	mk("200/comm", "socat\n")
	if err := os.MkdirAll(filepath.Join(proc, "100", "fd"), 0o755); err != nil {
		t.Fatal(err)
	}
	_ = os.Symlink("socket:[4242]", filepath.Join(proc, "100", "fd", "3"))
	_ = os.Symlink("socket:[4444]", filepath.Join(proc, "100", "fd", "4")) // 127.0.0.1:2201, ignored
	_ = os.MkdirAll(filepath.Join(proc, "200", "fd"), 0o755)
	_ = os.Symlink("socket:[4343]", filepath.Join(proc, "200", "fd", "3"))
	h := Host{Proc: proc, Environ: []string{"SSH_CONNECTION=203.0.113.5 40000 192.0.2.1 2200"},
		SSHDConfigPorts: func(context.Context) ([]uint16, error) { return []uint16{22}, nil }}
	ports, src := h.SSHDPorts(context.Background())
	if len(ports) != 1 || ports[0] != 2200 || !strings.Contains(src, "listening") {
		t.Fatalf("SSHDPorts = %v (%s), want [2200] from the socket", ports, src)
	}
	v := h.Guard(context.Background(), Build(testBaseline(t, "8080/tcp"), Env{}), true, true)
	if len(v) != 2 || !strings.Contains(v[0].Msg, "2200/tcp") || !strings.Contains(v[1].Msg, "203.0.113.5") {
		t.Fatalf("Guard = %+v", v)
	}
	if v := h.Guard(context.Background(), Build(testBaseline(t, "2200/tcp"), Env{}), true, true); len(v) != 0 {
		t.Fatalf("Guard with 2200 open = %+v", v)
	}
}

func TestPendingRoundTrip(t *testing.T) {
	dir := t.TempDir()
	p := &Pending{ID: "abc", Deadline: time.Now().Add(time.Minute).UTC().Truncate(time.Second), Previous: *Build(testBaseline(t, "22/tcp"), Env{}), Applied: Policy{}}
	if err := writePending(dir, p); err != nil {
		t.Fatal(err)
	}
	got, err := ReadPending(dir)
	if err != nil || got.ID != "abc" || !got.Deadline.Equal(p.Deadline) || len(got.Previous.Rules) != len(p.Previous.Rules) {
		t.Fatalf("ReadPending = %+v, %v", got, err)
	}
}
