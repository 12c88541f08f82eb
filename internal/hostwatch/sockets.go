package hostwatch

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// socketsCollector: listening TCP sockets and bound UDP sockets outside the
// ephemeral port range, from /proc/net/{tcp,tcp6,udp,udp6}. The key is the
// protocol, address and port; the value the user and process that hold it,
// so another program on a known port is a change. An item "user U listens"
// per listening user makes a user that never listened before a change.
func socketsCollector() Collector {
	return Collector{
		Name: "sockets",
		Doc:  "listening sockets (TCP LISTEN, bound UDP outside the ephemeral range): address, port, process, user",
		Collect: func(_ context.Context, env Env) ([]Item, error) {
			netDir := env.ProcNet
			if netDir == "" {
				netDir = env.path("/proc/net")
			}
			proc := env.Proc
			if proc == "" {
				proc = env.path("/proc")
			}
			lo, hi := ephemeralRange(env)
			users := userNames(env)
			var socks []socket
			read := 0
			for _, proto := range []string{"tcp", "tcp6", "udp", "udp6"} {
				data, err := os.ReadFile(filepath.Join(netDir, proto))
				if err != nil {
					continue
				}
				read++
				for _, s := range parseProcNet(proto, data) {
					if strings.HasPrefix(proto, "udp") && s.port >= lo && s.port <= hi {
						continue
					}
					socks = append(socks, s)
				}
			}
			if read == 0 {
				return nil, fmt.Errorf("sockets: no %s/{tcp,tcp6,udp,udp6} to read", netDir)
			}
			owners := socketOwners(proc, socks)
			var out []Item
			listeners := map[string]bool{}
			for _, s := range socks {
				user := users[s.uid]
				if user == "" {
					user = strconv.Itoa(s.uid)
				}
				who := owners[s.inode]
				if who == "" {
					who = "unknown"
				}
				out = append(out, Item{Key: fmt.Sprintf("%s %s", strings.TrimSuffix(s.proto, "6"), netip.AddrPortFrom(s.addr, s.port)),
					Value: fmt.Sprintf("user %s process %s", user, who)})
				listeners[user] = true
			}
			// One item per user who listens: a user (a service account)
			// listening for the first time is a change of its own.
			for u := range listeners {
				out = append(out, Item{Key: "user " + u + " listens"})
			}
			return out, nil
		},
		Severity: func(c Change) string {
			switch {
			case c.Kind == Removed:
				return "info"
			case strings.HasPrefix(c.Key, "user ") && c.Key != "user root listens":
				return "critical" // a bind shell, or a service doing what it never did
			}
			return "high"
		},
	}
}

type socket struct {
	proto string
	addr  netip.Addr
	port  uint16
	uid   int
	inode string
}

// parseProcNet reads the listening (TCP state 0A) or unconnected bound
// (UDP state 07, no remote address) sockets of one /proc/net table.
func parseProcNet(proto string, data []byte) []socket {
	var out []socket
	for i, l := range strings.Split(string(data), "\n") {
		f := strings.Fields(l)
		if i == 0 || len(f) < 10 {
			continue
		}
		st := f[3]
		if strings.HasPrefix(proto, "tcp") && st != "0A" {
			continue
		}
		if strings.HasPrefix(proto, "udp") && (st != "07" || !zeroPort(f[2])) {
			continue
		}
		addr, port, ok := parseHexAddr(f[1])
		if !ok {
			continue
		}
		uid, _ := strconv.Atoi(f[7])
		out = append(out, socket{proto: proto, addr: addr, port: port, uid: uid, inode: f[9]})
	}
	return out
}

func zeroPort(remote string) bool { return strings.HasSuffix(remote, ":0000") }

// parseHexAddr reads "0100007F:0016": the address in the kernel's byte
// order, 32 bits at a time, and the port in hex.
func parseHexAddr(s string) (netip.Addr, uint16, bool) {
	a, p, ok := strings.Cut(s, ":")
	if !ok {
		return netip.Addr{}, 0, false
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.Addr{}, 0, false
	}
	raw, err := hex.DecodeString(a)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.Addr{}, 0, false
	}
	for i := 0; i < len(raw); i += 4 {
		binary.BigEndian.PutUint32(raw[i:], binary.LittleEndian.Uint32(raw[i:]))
	}
	addr, _ := netip.AddrFromSlice(raw)
	return addr.Unmap(), uint16(port), true
}

// ephemeralRange is net.ipv4.ip_local_port_range (32768-60999 by default).
func ephemeralRange(env Env) (uint16, uint16) {
	b, err := os.ReadFile(env.path("/proc/sys/net/ipv4/ip_local_port_range"))
	if f := strings.Fields(string(b)); err == nil && len(f) == 2 {
		lo, e1 := strconv.ParseUint(f[0], 10, 16)
		hi, e2 := strconv.ParseUint(f[1], 10, 16)
		if e1 == nil && e2 == nil {
			return uint16(lo), uint16(hi)
		}
	}
	return 32768, 60999
}

// socketOwners maps socket inodes to "COMM (EXE)" by reading every
// process's fd links under proc.
func socketOwners(proc string, socks []socket) map[string]string {
	want := map[string]bool{}
	for _, s := range socks {
		want["socket:["+s.inode+"]"] = true
	}
	out := map[string]string{}
	if len(want) == 0 {
		return out
	}
	pids, _ := os.ReadDir(proc)
	for _, p := range pids {
		if _, err := strconv.Atoi(p.Name()); err != nil {
			continue
		}
		dir := filepath.Join(proc, p.Name())
		fds, err := os.ReadDir(filepath.Join(dir, "fd"))
		if err != nil {
			continue
		}
		for _, fd := range fds {
			l, err := os.Readlink(filepath.Join(dir, "fd", fd.Name()))
			if err != nil || !want[l] {
				continue
			}
			comm, _ := os.ReadFile(filepath.Join(dir, "comm"))
			exe, _ := os.Readlink(filepath.Join(dir, "exe"))
			inode := strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")
			out[inode] = fmt.Sprintf("%s (%s)", strings.TrimSpace(string(comm)), exe)
		}
	}
	return out
}

// userNames maps uids to names from the root's /etc/passwd.
func userNames(env Env) map[int]string {
	out := map[int]string{}
	recs, _ := colonFile(env, "/etc/passwd", 3)
	for _, f := range recs {
		if uid, err := strconv.Atoi(f[2]); err == nil {
			if _, ok := out[uid]; !ok {
				out[uid] = f[0]
			}
		}
	}
	return out
}
