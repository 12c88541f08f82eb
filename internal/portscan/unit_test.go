package portscan

import (
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/nflog"
	"github.com/rampart-ids/rampart/internal/policy/portspec"
)

func TestRulesNormalAndFingerprint(t *testing.T) {
	a := Rules{Group: 4760, Rate: 200,
		Ignore: []netip.Prefix{netip.MustParsePrefix("192.0.2.7/24"), netip.MustParsePrefix("::ffff:198.51.100.1/128"), netip.MustParsePrefix("192.0.2.0/24")},
		Open:   []portspec.Spec{{Proto: "udp", From: 53, To: 53}, {Proto: "tcp", From: 22, To: 22}, {Proto: "tcp", From: 22, To: 22}}}
	b := Rules{Group: 4760, Rate: 200,
		Ignore: []netip.Prefix{netip.MustParsePrefix("198.51.100.1/32"), netip.MustParsePrefix("192.0.2.0/24")},
		Open:   []portspec.Spec{{Proto: "tcp", From: 22, To: 22}, {Proto: "udp", From: 53, To: 53}}}
	if a.Fingerprint() != b.Fingerprint() {
		t.Errorf("the same rules in another order differ:\n%s\n%s", a, b)
	}
	if want := "group 4760 rate 200/s per source 0/s open [22/tcp 53/udp] ignore [192.0.2.0/24 198.51.100.1/32]"; a.String() != want {
		t.Errorf("String = %q, want %q", a.String(), want)
	}
	for _, c := range []Rules{
		{Group: 4761, Rate: 200, Ignore: b.Ignore, Open: b.Open},
		{Group: 4760, Rate: 201, Ignore: b.Ignore, Open: b.Open},
		{Group: 4760, Rate: 200, PerSource: 24, Ignore: b.Ignore, Open: b.Open},
		{Group: 4760, Rate: 200, Ignore: b.Ignore[:1], Open: b.Open},
		{Group: 4760, Rate: 200, Ignore: b.Ignore, Open: b.Open[:1]},
	} {
		if c.Fingerprint() == b.Fingerprint() {
			t.Errorf("%s and %s share a fingerprint", c, b)
		}
	}
}

func TestPerSourceFor(t *testing.T) {
	for _, c := range []struct{ ports, rate, want int }{
		{12, 200, 24}, {2, 200, 20}, {100, 200, 40}, {12, 10, 2}, {500, 100000, 1000},
	} {
		if got := PerSourceFor(c.ports, c.rate); got != c.want {
			t.Errorf("PerSourceFor(%d, %d) = %d, want %d", c.ports, c.rate, got, c.want)
		}
	}
}

func TestListeningPorts(t *testing.T) {
	proc := t.TempDir()
	if err := os.Mkdir(filepath.Join(proc, "net"), 0o755); err != nil {
		t.Fatal(err)
	}
	head := "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
	files := map[string]string{
		// 0.0.0.0:22 listening, 127.0.0.1:631 listening (loopback: closed
		// from outside), 192.0.2.1:40000 established.
		"tcp": head +
			"   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1001 1 0 100 0 0 10 0\n" +
			"   1: 0100007F:0277 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1002 1 0 100 0 0 10 0\n" +
			"   2: 0100000A:9C40 0200000A:0016 01 00000000:00000000 00:00000000 00000000     0        0 1003 1 0 100 0 0 10 0\n",
		// [::]:8080 listening.
		"tcp6": head + "   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1004 1 0 100 0 0 10 0\n",
		// 0.0.0.0:53 unconnected, a connected socket on 41000.
		"udp": head +
			"   0: 00000000:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1005 2 0 0\n" +
			"   1: 0100000A:A028 0200000A:0035 01 00000000:00000000 00:00000000 00000000     0        0 1006 2 0 0\n",
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(proc, "net", name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got := ListeningPorts(proc)
	want := []portspec.Spec{{Proto: "tcp", From: 22, To: 22}, {Proto: "tcp", From: 8080, To: 8080}, {Proto: "udp", From: 53, To: 53}}
	if !slices.Equal(got, want) {
		t.Errorf("ListeningPorts = %v, want %v", got, want)
	}
	if got := OpenPorts(nil, proc); !slices.Equal(got, want) {
		t.Errorf("OpenPorts without a baseline = %v, want %v", got, want)
	}
	if got := ListeningPorts(filepath.Join(proc, "missing")); len(got) != 0 {
		t.Errorf("ListeningPorts of a missing /proc = %v", got)
	}
}

func TestFinding(t *testing.T) {
	now := time.Date(2026, 12, 4, 2, 0, 0, 0, time.UTC)
	s := &Source{Group: 4760, Now: func() time.Time { return now }}
	src, dst := netip.MustParseAddr("::ffff:192.0.2.9"), netip.MustParseAddr("192.0.2.1")
	f, ok := s.Finding(nflog.Message{Prefix: LogPrefix, Time: now.Add(-time.Second),
		Packet: nflog.Packet{Src: src, Dst: dst, Proto: nflog.ProtoTCP, SrcPort: 40000, DstPort: 8080, Flags: nflog.FIN | nflog.PSH | nflog.URG}})
	if !ok || f.Addr != netip.MustParseAddr("192.0.2.9") || f.Key != "tcp/8080" || f.Rule != Rule ||
		f.Evidence != "XMAS 192.0.2.9:40000 -> 192.0.2.1:8080/tcp" || !f.Time.Equal(now.Add(-time.Second)) || !f.Read.Equal(now) || f.Source != "nflog group 4760" {
		t.Errorf("Finding = %+v, %v", f, ok)
	}
	// A kernel time in the future, or far in the past, is replaced by now.
	f, _ = s.Finding(nflog.Message{Prefix: LogPrefix, Time: now.Add(time.Hour),
		Packet: nflog.Packet{Src: src, Dst: dst, Proto: nflog.ProtoUDP, SrcPort: 1, DstPort: 53}})
	if !f.Time.Equal(now) || f.Key != "udp/53" || f.Evidence != "UDP 192.0.2.9:1 -> 192.0.2.1:53/udp" {
		t.Errorf("UDP finding = %+v", f)
	}
	for _, m := range []nflog.Message{
		{Prefix: "rampart-limit api", Packet: nflog.Packet{Src: src, Dst: dst, Proto: nflog.ProtoTCP, DstPort: 80}},
		{Prefix: LogPrefix, Packet: nflog.Packet{Src: src, Dst: dst, Proto: 1}},
		{Prefix: LogPrefix, Packet: nflog.Packet{Src: src, Dst: dst, Proto: nflog.ProtoTCP}}, // a later fragment: no port
	} {
		if f, ok := s.Finding(m); ok {
			t.Errorf("Finding(%+v) = %+v, want none", m, f)
		}
	}
}

var keyRE = regexp.MustCompile(`^(tcp|udp)/[1-9][0-9]{0,4}$`)

// FuzzFinding: any packet the kernel could log either gives no finding or
// a finding with an address and a well-formed key.
func FuzzFinding(f *testing.F) {
	syn := make([]byte, 40)
	syn[0], syn[9] = 0x45, nflog.ProtoTCP
	copy(syn[12:], []byte{192, 0, 2, 9})
	copy(syn[16:], []byte{192, 0, 2, 1})
	syn[22], syn[23], syn[33] = 0x1f, 0x90, nflog.SYN
	f.Add(syn, LogPrefix)
	f.Add(syn[:24], "x")
	f.Add(make([]byte, 48), LogPrefix)
	s := &Source{Group: 4760}
	f.Fuzz(func(t *testing.T, b []byte, prefix string) {
		p, err := nflog.Parse(b)
		if err != nil {
			return
		}
		fd, ok := s.Finding(nflog.Message{Prefix: prefix, Packet: p})
		if !ok {
			return
		}
		if prefix != LogPrefix || !fd.Addr.IsValid() || fd.Addr.Is4In6() || !keyRE.MatchString(fd.Key) || fd.Time.IsZero() || fd.Evidence == "" {
			t.Fatalf("Finding(%x, %q) = %+v", b, prefix, fd)
		}
	})
}
