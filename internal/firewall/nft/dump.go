package nft

import (
	"encoding/binary"
	"errors"
	"fmt"
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

// dumpElements lists a set's elements with a large receive buffer. It
// returns what GetSetElements would, for the attributes rampart uses.
func (b *Backend) dumpElements(s *nftables.Set) ([]nftables.SetElement, error) {
	conn, err := netlink.Dial(unix.NETLINK_NETFILTER, &netlink.Config{NetNS: b.opts.NetNS})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	attrs, err := netlink.MarshalAttributes([]netlink.Attribute{
		{Type: unix.NFTA_SET_ELEM_LIST_TABLE, Data: []byte(s.Table.Name + "\x00")},
		{Type: unix.NFTA_SET_ELEM_LIST_SET, Data: []byte(s.Name + "\x00")},
	})
	if err != nil {
		return nil, err
	}
	req := netlink.Message{
		Header: netlink.Header{
			Type:  netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8 | unix.NFT_MSG_GETSETELEM),
			Flags: netlink.Request | netlink.Dump,
		},
		Data: append([]byte{byte(s.Table.Family), unix.NFNETLINK_V0, 0, 0}, attrs...),
	}
	if _, err := conn.Send(req); err != nil {
		return nil, err
	}
	rc, err := conn.SyscallConn()
	if err != nil {
		return nil, err
	}
	buf := make([]byte, dumpBuffer)
	var elems []nftables.SetElement
	for {
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
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			switch m.Header.Type {
			case unix.NLMSG_DONE:
				return elems, nil
			case unix.NLMSG_ERROR:
				if len(m.Data) >= 4 {
					if errno := -int32(binary.NativeEndian.Uint32(m.Data)); errno != 0 {
						return nil, syscall.Errno(errno)
					}
				}
				return elems, nil
			}
			if len(m.Data) < 4 {
				return nil, errors.New("short set element message")
			}
			elems, err = appendDecoded(elems, m.Data[4:])
			if err != nil {
				return nil, fmt.Errorf("decode set elements: %w", err)
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
