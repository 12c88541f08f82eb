package nft

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"syscall"
	"time"

	"github.com/google/nftables"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// dumpBuffer is the receive buffer for set dumps. The kernel sizes each
// dump step after the reader's largest buffer (up to 32 KiB); the netlink
// library reads a page at a time, which makes a dump of 100,000 elements
// take over a thousand steps, each of which walks the set from its start.
const dumpBuffer = 64 << 10

// maxDumps bounds the dumps consistentElements makes of one set.
const maxDumps = 5

// consistentElements dumps a set until two dumps in a row hold the same
// elements. A dump that takes several netlink steps re-walks the kernel's
// hash table at every step, skipping what it already sent; when the table
// is resized in between (the kernel grows it in the background after many
// insertions) elements are sent twice or not at all. A dump in one step is
// a single walk and is taken as is.
func (b *Backend) consistentElements(s *nftables.Set) ([]nftables.SetElement, error) {
	elems, steps, err := b.dumpElements(s)
	if err != nil || steps <= 1 {
		return elems, err
	}
	for range maxDumps - 1 {
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
// their number and the sum of their hashes.
func fingerprint(elems []nftables.SetElement) [2]uint64 {
	var sum uint64
	for _, e := range elems {
		h := fnv.New64a()
		h.Write(e.Key)
		if e.IntervalEnd {
			h.Write([]byte{1})
		}
		sum += h.Sum64()
	}
	return [2]uint64{uint64(len(elems)), sum}
}

// dumpElements lists a set's elements with a large receive buffer and
// returns them with the number of netlink reads the dump took. It decodes
// what GetSetElements would, for the attributes rampart uses.
func (b *Backend) dumpElements(s *nftables.Set) ([]nftables.SetElement, int, error) {
	conn, err := netlink.Dial(unix.NETLINK_NETFILTER, &netlink.Config{NetNS: b.opts.NetNS})
	if err != nil {
		return nil, 0, err
	}
	defer conn.Close()
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
	if _, err := conn.Send(req); err != nil {
		return nil, 0, err
	}
	rc, err := conn.SyscallConn()
	if err != nil {
		return nil, 0, err
	}
	buf := make([]byte, dumpBuffer)
	var elems []nftables.SetElement
	for steps := 1; ; steps++ {
		var n int
		var rerr error
		err := rc.Read(func(fd uintptr) bool {
			n, _, rerr = unix.Recvfrom(int(fd), buf, 0)
			return rerr != unix.EAGAIN
		})
		if err != nil {
			return nil, 0, err
		}
		if rerr != nil {
			return nil, 0, rerr
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
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

// appendDecoded decodes a NEWSETELEM message's attributes: key, flags,
// timeout and expiration of each element.
func appendDecoded(elems []nftables.SetElement, data []byte) ([]nftables.SetElement, error) {
	ad, err := netlink.NewAttributeDecoder(data)
	if err != nil {
		return nil, err
	}
	ad.ByteOrder = binary.BigEndian
	for ad.Next() {
		if ad.Type() != unix.NFTA_SET_ELEM_LIST_ELEMENTS {
			continue
		}
		ad.Nested(func(list *netlink.AttributeDecoder) error {
			for list.Next() {
				if list.Type() != unix.NFTA_LIST_ELEM {
					continue
				}
				var e nftables.SetElement
				list.Nested(func(el *netlink.AttributeDecoder) error {
					for el.Next() {
						switch el.Type() {
						case unix.NFTA_SET_ELEM_KEY:
							el.Nested(func(k *netlink.AttributeDecoder) error {
								for k.Next() {
									if k.Type() == unix.NFTA_DATA_VALUE {
										e.Key = k.Bytes()
									}
								}
								return nil
							})
						case unix.NFTA_SET_ELEM_FLAGS:
							e.IntervalEnd = el.Uint32()&unix.NFT_SET_ELEM_INTERVAL_END != 0
						case unix.NFTA_SET_ELEM_TIMEOUT:
							e.Timeout = time.Duration(el.Uint64()) * time.Millisecond
						case unix.NFTA_SET_ELEM_EXPIRATION:
							e.Expires = time.Duration(el.Uint64()) * time.Millisecond
						}
					}
					return nil
				})
				elems = append(elems, e)
			}
			return nil
		})
	}
	return elems, ad.Err()
}
