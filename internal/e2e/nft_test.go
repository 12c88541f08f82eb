package e2e

import (
	"fmt"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/rampart-ids/rampart/internal/netns"
)

// kernelSet lists the elements of rampart's set in ns.
func kernelSet(ns *netns.NS, set string) (map[netip.Prefix]bool, error) {
	return ns.NftSet("rampart", set)
}

// sshdLine is an auth.log line in Debian 12's rsyslog format (RFC 3339)
// for a failed password login of root from a.
func sshdLine(now time.Time, a netip.Addr, port int) string {
	return fmt.Sprintf("%s vm sshd[%d]: Failed password for root from %s port %d ssh2\n",
		now.Format("2006-01-02T15:04:05.000000-07:00"), 1000+port%30000, a, port)
}

// appendFile appends data to path, creating it.
func appendFile(path, data string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return err
	}
	_, err = f.WriteString(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// failures returns n failure lines for a.
func failures(a netip.Addr, n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(sshdLine(time.Now(), a, 40000+i))
	}
	return b.String()
}
