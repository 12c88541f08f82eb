package portscan

import (
	"os"
	"path/filepath"
	"slices"

	"github.com/rampart-ids/rampart/internal/policy"
	"github.com/rampart-ids/rampart/internal/policy/portspec"
)

// OpenPorts returns the ports a packet may try without counting as a
// probe: the baseline's open ports when it is enforced (b non-nil and
// enabled), else the ports this network namespace serves (ListeningPorts).
func OpenPorts(b *policy.Policy, proc string) []portspec.Spec {
	if b != nil && b.Enabled {
		return b.OpenPorts()
	}
	return ListeningPorts(proc)
}

// ListeningPorts returns the TCP ports with a listening socket and the UDP
// ports with an unconnected socket, in the namespace of proc (a /proc; ""
// means this process's). Sockets bound to loopback only are left out: a
// packet from outside to such a port finds it closed. Unreadable files
// give nothing.
func ListeningPorts(proc string) []portspec.Spec {
	if proc == "" {
		proc = "/proc"
	}
	var out []portspec.Spec
	for _, f := range []struct{ file, proto, state string }{
		{"tcp", "tcp", "0A"}, {"tcp6", "tcp", "0A"}, {"udp", "udp", "07"}, {"udp6", "udp", "07"},
	} {
		data, err := os.ReadFile(filepath.Join(proc, "net", f.file))
		if err != nil {
			continue
		}
		for _, port := range policy.ParseSockets(data, f.state) {
			s := portspec.Spec{Proto: f.proto, From: port, To: port}
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return Rules{Open: out}.Normal().Open
}
