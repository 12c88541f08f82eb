// Package nflog reads packets the kernel logs to an NFLOG group (nftables
// `log group N`) and parses their IPv4/IPv6 and TCP/UDP headers: the
// source, the destination port and the TCP flags are what rampart's kernel
// layer needs. Packets are untrusted input: Parse checks every length.
package nflog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
)

// TCP flags as in the TCP header.
const (
	FIN = 0x01
	SYN = 0x02
	RST = 0x04
	PSH = 0x08
	ACK = 0x10
	URG = 0x20
)

// IP protocol numbers.
const (
	ProtoTCP = 6
	ProtoUDP = 17
)

// Packet is what rampart reads from a logged packet.
type Packet struct {
	Src, Dst netip.Addr
	// Proto is the transport protocol (ProtoTCP, ProtoUDP, or another
	// number, whose ports are then zero).
	Proto            uint8
	SrcPort, DstPort uint16
	// Flags are the TCP flags (0 for UDP).
	Flags uint8
}

// ErrShort is a packet too short for the headers it claims.
var ErrShort = errors.New("nflog: packet truncated")

// Parse reads the network and transport headers of b, which starts at the
// IP header (NFLOG's payload for the inet, ip and ip6 families).
func Parse(b []byte) (Packet, error) {
	var p Packet
	if len(b) < 1 {
		return p, ErrShort
	}
	var l4 []byte
	switch b[0] >> 4 {
	case 4:
		if len(b) < 20 {
			return p, ErrShort
		}
		ihl := int(b[0]&0x0f) * 4
		if ihl < 20 || len(b) < ihl {
			return p, fmt.Errorf("nflog: bad IPv4 header length %d", ihl)
		}
		p.Src = netip.AddrFrom4([4]byte(b[12:16]))
		p.Dst = netip.AddrFrom4([4]byte(b[16:20]))
		p.Proto = b[9]
		if off := binary.BigEndian.Uint16(b[6:8]) & 0x1fff; off != 0 {
			return p, nil // a later fragment: no transport header
		}
		l4 = b[ihl:]
	case 6:
		if len(b) < 40 {
			return p, ErrShort
		}
		p.Src = netip.AddrFrom16([16]byte(b[8:24]))
		p.Dst = netip.AddrFrom16([16]byte(b[24:40]))
		next, rest := b[6], b[40:]
		// Skip the extension headers rampart may meet before TCP/UDP.
		for range 8 {
			switch next {
			case 0, 43, 60: // hop-by-hop, routing, destination options
				if len(rest) < 8 {
					return p, ErrShort
				}
				n := (int(rest[1]) + 1) * 8
				if len(rest) < n {
					return p, ErrShort
				}
				next, rest = rest[0], rest[n:]
				continue
			case 44: // fragment
				if len(rest) < 8 {
					return p, ErrShort
				}
				if binary.BigEndian.Uint16(rest[2:4])&0xfff8 != 0 {
					p.Proto = rest[0]
					return p, nil // a later fragment
				}
				next, rest = rest[0], rest[8:]
				continue
			}
			break
		}
		p.Proto, l4 = next, rest
	default:
		return p, fmt.Errorf("nflog: not an IP packet (version %d)", b[0]>>4)
	}
	switch p.Proto {
	case ProtoTCP:
		if len(l4) < 14 {
			return p, ErrShort
		}
		p.Flags = l4[13] & 0x3f
	case ProtoUDP:
		if len(l4) < 8 {
			return p, ErrShort
		}
	default:
		return p, nil
	}
	p.SrcPort = binary.BigEndian.Uint16(l4[0:2])
	p.DstPort = binary.BigEndian.Uint16(l4[2:4])
	return p, nil
}

// ProtoName returns "tcp", "udp" or the number.
func (p Packet) ProtoName() string {
	switch p.Proto {
	case ProtoTCP:
		return "tcp"
	case ProtoUDP:
		return "udp"
	}
	return fmt.Sprint(p.Proto)
}

// Kind names a TCP packet's flags as port scanners use them: "SYN",
// "FIN", "NULL", "XMAS", or the flags; "" for UDP.
func (p Packet) Kind() string {
	if p.Proto != ProtoTCP {
		return ""
	}
	switch p.Flags {
	case SYN:
		return "SYN"
	case FIN:
		return "FIN"
	case 0:
		return "NULL"
	case FIN | PSH | URG:
		return "XMAS"
	}
	return fmt.Sprintf("flags 0x%02x", p.Flags)
}
