// Package netlinkbuf sizes the netlink sockets that send nftables batches
// (the ban layer, the baseline policy, the blocklists): the kernel queues an
// acknowledgement for every message of a batch before rampart reads any, so
// a large batch overruns the default buffers (ENOBUFS).
package netlinkbuf

import (
	"fmt"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Bulk returns a socket option that asks for short acknowledgements (only
// the header of the message they answer) and raises the socket's receive and
// send buffers to size: forced past the system's maximum when the process
// has CAP_NET_ADMIN, else up to that maximum. The size reserves no memory.
func Bulk(size int) func(*netlink.Conn) error {
	return func(c *netlink.Conn) error {
		if err := c.SetOption(netlink.CapAcknowledge, true); err != nil {
			return fmt.Errorf("netlink cap_ack: %w", err)
		}
		rc, err := c.SyscallConn()
		if err != nil {
			return fmt.Errorf("netlink socket: %w", err)
		}
		var serr error
		err = rc.Control(func(fd uintptr) {
			for _, o := range [][2]int{{unix.SO_RCVBUFFORCE, unix.SO_RCVBUF}, {unix.SO_SNDBUFFORCE, unix.SO_SNDBUF}} {
				if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, o[0], size) != nil {
					if err := unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, o[1], size); err != nil && serr == nil {
						serr = err
					}
				}
			}
		})
		if err == nil {
			err = serr
		}
		if err != nil {
			return fmt.Errorf("netlink socket buffers: %w", err)
		}
		return nil
	}
}
