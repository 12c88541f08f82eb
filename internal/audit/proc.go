package audit

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Process is one entry of /proc.
type Process struct {
	PID  int
	PPID int
	Comm string   // the kernel's short name (/proc/PID/comm)
	Args []string // argv, possibly rewritten by setproctitle
	UID  int      // real uid
}

// procFile reads a file under e.Proc, capped.
func (e *Env) procFile(rel string) ([]byte, error) {
	if e.Proc == "" {
		return nil, errNotLive
	}
	f, err := os.Open(filepath.Join(e.Proc, rel))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxFileSize))
}

// Processes lists the processes visible in e.Proc (shared per run).
func (e *Env) Processes(ctx context.Context) ([]Process, error) {
	if e.Proc == "" {
		return nil, errNotLive
	}
	return load(ctx, e, "processes", func(ctx context.Context) ([]Process, error) {
		ents, err := os.ReadDir(e.Proc)
		if err != nil {
			return nil, err
		}
		var ps []Process
		for _, d := range ents {
			pid, err := strconv.Atoi(d.Name())
			if err != nil {
				continue
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			p := Process{PID: pid, UID: -1}
			if b, err := e.procFile(d.Name() + "/comm"); err == nil {
				p.Comm = strings.TrimSpace(string(b))
			} else {
				continue // gone
			}
			if b, err := e.procFile(d.Name() + "/cmdline"); err == nil {
				for _, a := range strings.Split(strings.TrimRight(string(b), "\x00"), "\x00") {
					if a != "" {
						p.Args = append(p.Args, a)
					}
				}
			}
			if b, err := e.procFile(d.Name() + "/status"); err == nil {
				for _, l := range strings.Split(string(b), "\n") {
					f := strings.Fields(l)
					if len(f) >= 2 && f[0] == "PPid:" {
						p.PPID, _ = strconv.Atoi(f[1])
					}
					if len(f) >= 2 && f[0] == "Uid:" {
						p.UID, _ = strconv.Atoi(f[1])
					}
				}
			}
			ps = append(ps, p)
		}
		sort.Slice(ps, func(i, j int) bool { return ps[i].PID < ps[j].PID })
		return ps, nil
	})
}

// running returns the processes whose comm is one of names.
func (e *Env) running(ctx context.Context, names ...string) ([]Process, error) {
	ps, err := e.Processes(ctx)
	if err != nil {
		return nil, err
	}
	var out []Process
	for _, p := range ps {
		for _, n := range names {
			// comm is truncated to 15 bytes by the kernel.
			if p.Comm == n || (len(n) > 15 && p.Comm == n[:15]) {
				out = append(out, p)
			}
		}
	}
	return out, nil
}

// Socket is a listening TCP socket or a bound UDP socket from /proc/net.
type Socket struct {
	Proto string // tcp or udp
	Addr  netip.Addr
	Port  int
	UID   int
	Inode string
}

// String renders "tcp 0.0.0.0:22".
func (s Socket) String() string {
	return fmt.Sprintf("%s %s", s.Proto, netip.AddrPortFrom(s.Addr, uint16(s.Port)))
}

// Loopback reports whether only this host can reach the socket.
func (s Socket) Loopback() bool { return s.Addr.IsLoopback() }

// Listening lists listening sockets of the network namespace the audit runs
// in (shared per run). UDP sockets count when bound and unconnected.
func (e *Env) Listening(ctx context.Context) ([]Socket, error) {
	if e.Proc == "" {
		return nil, errNotLive
	}
	return load(ctx, e, "listening", func(ctx context.Context) ([]Socket, error) {
		var out []Socket
		for _, f := range []struct{ file, proto, state string }{
			{"net/tcp", "tcp", "0A"}, {"net/tcp6", "tcp", "0A"},
			{"net/udp", "udp", "07"}, {"net/udp6", "udp", "07"},
		} {
			b, err := e.procFile(f.file)
			if err != nil {
				if os.IsNotExist(err) {
					continue // no IPv6
				}
				return nil, err
			}
			socks, err := parseProcNet(string(b), f.proto, f.state)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f.file, err)
			}
			out = append(out, socks...)
		}
		return out, nil
	})
}

// parseProcNet reads /proc/net/{tcp,udp}[6] and keeps rows in state.
func parseProcNet(s, proto, state string) ([]Socket, error) {
	var out []Socket
	for i, l := range strings.Split(s, "\n") {
		f := strings.Fields(l)
		if i == 0 || len(f) < 10 {
			continue
		}
		if f[3] != state {
			continue
		}
		hostport := strings.SplitN(f[1], ":", 2)
		if len(hostport) != 2 {
			return nil, fmt.Errorf("line %d: bad local address %q", i+1, f[1])
		}
		addr, err := procAddr(hostport[0])
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		port, err := strconv.ParseUint(hostport[1], 16, 16)
		if err != nil {
			return nil, fmt.Errorf("line %d: bad port %q", i+1, hostport[1])
		}
		uid, _ := strconv.Atoi(f[7])
		out = append(out, Socket{Proto: proto, Addr: addr, Port: int(port), UID: uid, Inode: f[9]})
	}
	return out, nil
}

// procAddr decodes the kernel's hex address: 32-bit words in host (little
// endian) order.
func procAddr(h string) (netip.Addr, error) {
	b, err := hex.DecodeString(h)
	if err != nil || (len(b) != 4 && len(b) != 16) {
		return netip.Addr{}, fmt.Errorf("bad address %q", h)
	}
	for i := 0; i < len(b); i += 4 {
		b[i], b[i+1], b[i+2], b[i+3] = b[i+3], b[i+2], b[i+1], b[i]
	}
	a, _ := netip.AddrFromSlice(b)
	return a.Unmap(), nil
}

// socketOwners maps socket inodes to the processes holding them. Without
// root only the caller's own processes can be read, so the map may be partial.
func (e *Env) socketOwners(ctx context.Context) (map[string]Process, error) {
	ps, err := e.Processes(ctx)
	if err != nil {
		return nil, err
	}
	return load(ctx, e, "socket-owners", func(ctx context.Context) (map[string]Process, error) {
		out := map[string]Process{}
		for _, p := range ps {
			dir := filepath.Join(e.Proc, strconv.Itoa(p.PID), "fd")
			ents, err := os.ReadDir(dir)
			if err != nil {
				continue
			}
			for _, d := range ents {
				t, err := os.Readlink(filepath.Join(dir, d.Name()))
				if err != nil || !strings.HasPrefix(t, "socket:[") {
					continue
				}
				out[strings.TrimSuffix(strings.TrimPrefix(t, "socket:["), "]")] = p
			}
		}
		return out, nil
	})
}
