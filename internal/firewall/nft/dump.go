package nft

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"syscall"
	"time"

	"github.com/google/nftables"
	"github.com/mdlayher/netlink"
	"github.com/mdlayher/netlink/nltest"
	"golang.org/x/sys/unix"
)

// dumpBuffer is the receive buffer for set dumps. The kernel sizes each
// dump step after the reader's largest buffer (up to 32 KiB); the netlink
// library reads a page at a time, which makes a dump of 100,000 elements
// take over a thousand steps, each of which walks the set from its start.
const dumpBuffer = 64 << 10

// maxDumps bounds the dumps consistentElements makes of one set; between
// dumps it waits a little longer each time for the kernel to finish
// resizing the set's hash table.
const maxDumps = 8

// consistentElements dumps a set until two dumps in a row hold the same
// elements. A dump that takes several netlink steps re-walks the kernel's
// hash table at every step, skipping what it already sent; when the table
// is resized in between (the kernel grows it in the background after many
// insertions) elements are sent twice or not at all. A dump in one step is
// a single walk and is taken as is.
func (b *Backend) consistentElements(s *nftables.Set) ([]elem, error) {
	elems, steps, err := b.dumpElements(s)
	if err != nil || steps <= 1 {
		return elems, err
	}
	for i := range maxDumps - 1 {
		if i > 0 {
			time.Sleep(min(5*time.Millisecond<<i, 200*time.Millisecond))
		}
		again, _, err := b.dumpElements(s)
		if err != nil {
			return nil, err
		}
		if fingerprint(again) == fingerprint(elems) {
			return again, nil
		}
		elems = again
	}
	return nil, fmt.Errorf("set %s: %d dumps in a row disagree", s.Name, maxDumps)
}

// fingerprint summarises a dump's keys independently of their order:
// their number and the sum of their FNV-1a hashes.
func fingerprint(elems []elem) [2]uint64 {
	var sum uint64
	for _, e := range elems {
		h := uint64(14695981039346656037)
		k := e.addr.As16()
		for _, c := range k {
			h = (h ^ uint64(c)) * 1099511628211
		}
		if e.end {
			h = (h ^ 1) * 1099511628211
		}
		sum += h
	}
	return [2]uint64{uint64(len(elems)), sum}
}

// dumpElements lists a set's elements with a large receive buffer and
// returns them with the number of netlink reads the dump took. It decodes
// what GetSetElements would, for the attributes rampart uses.
func (b *Backend) dumpElements(s *nftables.Set) ([]elem, int, error) {
	attrs, err := netlink.MarshalAttributes([]netlink.Attribute{
		{Type: unix.NFTA_SET_ELEM_LIST_TABLE, Data: []byte(s.Table.Name + "\x00")},
		{Type: unix.NFTA_SET_ELEM_LIST_SET, Data: []byte(s.Name + "\x00")},
	})
	if err != nil {
		return nil, 0, err
	}
	req := netlink.Message{
		Header: netlink.Header{
			Type:  netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8 | unix.NFT_MSG_GETSETELEM),
			Flags: netlink.Request | netlink.Dump,
		},
		Data: append([]byte{byte(s.Table.Family), unix.NFNETLINK_V0, 0, 0}, attrs...),
	}
	read, done, err := b.dumpReader(req)
	if err != nil {
		return nil, 0, err
	}
	defer done()
	var elems []elem
	for steps := 1; ; steps++ {
		msgs, err := read()
		if err != nil {
			return nil, 0, err
		}
		for _, m := range msgs {
			switch m.Header.Type {
			case unix.NLMSG_DONE:
				return elems, steps, nil
			case unix.NLMSG_ERROR:
				if len(m.Data) >= 4 {
					if errno := -int32(binary.NativeEndian.Uint32(m.Data)); errno != 0 {
						return nil, 0, syscall.Errno(errno)
					}
				}
				return elems, steps, nil
			}
			if len(m.Data) < 4 {
				return nil, 0, errors.New("short set element message")
			}
			elems, err = appendDecoded(elems, m.Data[4:])
			if err != nil {
				return nil, 0, fmt.Errorf("decode set elements: %w", err)
			}
		}
	}
}

// dumpReader sends a dump request and returns a function reading one
// netlink step of the answer at a time, and one closing the socket. The
// socket is read with a buffer of dumpBuffer bytes.
func (b *Backend) dumpReader(req netlink.Message) (read func() ([]syscall.NetlinkMessage, error), done func(), err error) {
	if b.dial != nil {
		return testDumpReader(b.dial, req)
	}
	conn, err := netlink.Dial(unix.NETLINK_NETFILTER, &netlink.Config{NetNS: b.opts.NetNS})
	if err != nil {
		return nil, nil, err
	}
	if _, err := conn.Send(req); err != nil {
		conn.Close()
		return nil, nil, err
	}
	rc, err := conn.SyscallConn()
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	buf := make([]byte, dumpBuffer)
	read = func() ([]syscall.NetlinkMessage, error) {
		var n int
		var rerr error
		err := rc.Read(func(fd uintptr) bool {
			n, _, rerr = unix.Recvfrom(int(fd), buf, 0)
			return rerr != unix.EAGAIN
		})
		if err != nil {
			return nil, err
		}
		if rerr != nil {
			return nil, rerr
		}
		return syscall.ParseNetlinkMessage(buf[:n])
	}
	return read, func() { conn.Close() }, nil
}

// testDumpReader answers a dump from a test's fake kernel in one step.
func testDumpReader(dial nltest.Func, req netlink.Message) (func() ([]syscall.NetlinkMessage, error), func(), error) {
	msgs, err := dial([]netlink.Message{req})
	if err != nil {
		return nil, nil, err
	}
	var out []syscall.NetlinkMessage
	for _, m := range msgs {
		out = append(out, syscall.NetlinkMessage{
			Header: syscall.NlMsghdr{Type: uint16(m.Header.Type), Flags: uint16(m.Header.Flags)},
			Data:   m.Data,
		})
	}
	sent := false
	return func() ([]syscall.NetlinkMessage, error) {
		if sent {
			return nil, errors.New("fake kernel: dump read past its end")
		}
		sent = true
		return out, nil
	}, func() {}, nil
}

// elem is one set element as a dump reports it.
type elem struct {
	addr    netip.Addr
	end     bool          // interval end
	timeout time.Duration // 0 = none (permanent)
	expires time.Duration // remaining when the element has a timeout
}

// appendDecoded decodes a NEWSETELEM message's attributes (after the
// nfgenmsg header): key, flags, timeout and expiration of each element. It
// walks the attributes itself, without closures: the generic decoder
// allocated a kilobyte per element, which a 100,000-element listing felt.
func appendDecoded(elems []elem, data []byte) ([]elem, error) {
	for len(data) > 0 {
		typ, list, rest, err := nextAttr(data)
		if err != nil {
			return elems, err
		}
		data = rest
		if typ != unix.NFTA_SET_ELEM_LIST_ELEMENTS {
			continue
		}
		for len(list) > 0 {
			typ, attrs, rest, err := nextAttr(list)
			if err != nil {
				return elems, err
			}
			list = rest
			if typ != unix.NFTA_LIST_ELEM {
				continue
			}
			e, err := decodeElem(attrs)
			if err != nil {
				return elems, err
			}
			if e.addr.IsValid() {
				elems = append(elems, e)
			}
		}
	}
	return elems, nil
}

// decodeElem decodes the attributes of one NFTA_LIST_ELEM.
func decodeElem(b []byte) (elem, error) {
	var e elem
	for len(b) > 0 {
		typ, v, rest, err := nextAttr(b)
		if err != nil {
			return e, err
		}
		b = rest
		switch typ {
		case unix.NFTA_SET_ELEM_KEY:
			for len(v) > 0 {
				t, key, r, err := nextAttr(v)
				if err != nil {
					return e, err
				}
				v = r
				if t == unix.NFTA_DATA_VALUE {
					e.addr, _ = netip.AddrFromSlice(key)
				}
			}
		case unix.NFTA_SET_ELEM_FLAGS:
			if len(v) == 4 {
				e.end = binary.BigEndian.Uint32(v)&unix.NFT_SET_ELEM_INTERVAL_END != 0
			}
		case unix.NFTA_SET_ELEM_TIMEOUT:
			if len(v) == 8 {
				e.timeout = time.Duration(binary.BigEndian.Uint64(v)) * time.Millisecond
			}
		case unix.NFTA_SET_ELEM_EXPIRATION:
			if len(v) == 8 {
				e.expires = time.Duration(binary.BigEndian.Uint64(v)) * time.Millisecond
			}
		}
	}
	return e, nil
}

// nextAttr splits the first netlink attribute off b: its type with the flag
// bits (nested, byte order) cleared, its payload, and what follows it.
func nextAttr(b []byte) (typ uint16, data, rest []byte, err error) {
	if len(b) < 4 {
		return 0, nil, nil, errors.New("truncated attribute header")
	}
	n := int(binary.NativeEndian.Uint16(b))
	typ = binary.NativeEndian.Uint16(b[2:]) &^ (unix.NLA_F_NESTED | unix.NLA_F_NET_BYTEORDER)
	if n < 4 || n > len(b) {
		return 0, nil, nil, fmt.Errorf("attribute length %d out of range", n)
	}
	data = b[4:n]
	if n = (n + 3) &^ 3; n < len(b) {
		rest = b[n:]
	}
	return typ, data, rest, nil
}
