package control

import (
	"fmt"
	"net"
	"os"
)

// Notify sends state (e.g. "READY=1", "RELOADING=1", "STOPPING=1",
// "STATUS=...") to systemd through $NOTIFY_SOCKET, as sd_notify(3) does.
// dist/rampart.service is Type=notify: the daemon calls Notify("READY=1")
// once the firewall is reconciled and the socket listens. Without
// $NOTIFY_SOCKET (not under systemd) it does nothing and returns nil.
func Notify(state string) error {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return nil
	}
	if path[0] == '@' {
		path = "\x00" + path[1:] // abstract namespace
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("systemd notify: %w", err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(state)); err != nil {
		return fmt.Errorf("systemd notify: %w", err)
	}
	return nil
}
