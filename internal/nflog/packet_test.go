package nflog

import (
	"encoding/hex"
	"net/netip"
	"testing"
)

// v4tcp is a SYN from 192.0.2.1:40000 to 198.51.100.2:22.
func v4tcp(flags byte) []byte {
	b := make([]byte, 40)
	b[0], b[9] = 0x45, ProtoTCP
	copy(b[12:], []byte{192, 0, 2, 1})
	copy(b[16:], []byte{198, 51, 100, 2})
	b[20], b[21], b[22], b[23] = 0x9c, 0x40, 0, 22
	b[33] = flags
	return b
}

func TestParseIPv4TCP(t *testing.T) {
	for flags, kind := range map[byte]string{SYN: "SYN", FIN: "FIN", 0: "NULL", FIN | PSH | URG: "XMAS"} {
		p, err := Parse(v4tcp(flags))
		if err != nil {
			t.Fatal(err)
		}
		if p.Src != netip.MustParseAddr("192.0.2.1") || p.Dst != netip.MustParseAddr("198.51.100.2") ||
			p.SrcPort != 40000 || p.DstPort != 22 || p.Kind() != kind || p.ProtoName() != "tcp" {
			t.Errorf("flags %#x: %+v kind %s", flags, p, p.Kind())
		}
	}
}

func TestParseIPv6UDPWithExtension(t *testing.T) {
	b := make([]byte, 40+8+8)
	b[0], b[6] = 0x60, 60 // destination options, then UDP
	b[8], b[9] = 0x20, 0x01
	b[10], b[11] = 0x0d, 0xb8
	b[23] = 1
	b[24], b[25], b[26], b[27] = 0x20, 0x01, 0x0d, 0xb8
	b[39] = 2
	b[40], b[41] = ProtoUDP, 0
	b[48+2], b[48+3] = 0x00, 53
	p, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if p.Src != netip.MustParseAddr("2001:db8::1") || p.Dst != netip.MustParseAddr("2001:db8::2") || p.Proto != ProtoUDP || p.DstPort != 53 || p.Kind() != "" {
		t.Errorf("%+v", p)
	}
}

func TestParseRefusesBadInput(t *testing.T) {
	for _, h := range []string{"", "45", "4f00", "70" + hex.EncodeToString(make([]byte, 40)), "60" + hex.EncodeToString(make([]byte, 20))} {
		b, _ := hex.DecodeString(h)
		if _, err := Parse(b); err == nil {
			t.Errorf("Parse(%s) gave no error", h)
		}
	}
	if _, err := Parse(v4tcp(SYN)[:30]); err == nil {
		t.Error("a truncated TCP header gave no error")
	}
}

func FuzzParse(f *testing.F) {
	f.Add(v4tcp(SYN))
	f.Add(v4tcp(0)[:24])
	f.Add(make([]byte, 60))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse(b)
		if err != nil {
			return
		}
		if !p.Src.IsValid() || !p.Dst.IsValid() {
			t.Fatalf("parsed without addresses: %+v", p)
		}
		if p.Proto != ProtoTCP && p.Proto != ProtoUDP && (p.SrcPort != 0 || p.DstPort != 0) {
			t.Fatalf("ports without TCP/UDP: %+v", p)
		}
	})
}
