package policy

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Host is where the guard looks; the zero value reads this machine's /proc
// and runs sshd -T. Tests point Proc at a fixture.
type Host struct {
	Proc string // "/proc" unless set
	// SSHDConfigPorts, when set, replaces `sshd -T` (tests).
	SSHDConfigPorts func(ctx context.Context) ([]uint16, error)
	// Environ, when set, replaces this process's environment (tests).
	Environ []string
}

func (h Host) proc() string {
	if h.Proc == "" {
		return "/proc"
	}
	return h.Proc
}

// Violation is one way a baseline would lock the administrator out.
type Violation struct {
	What string `json:"what"` // "sshd port" or "ssh session"
	Port uint16 `json:"port"`
	Addr string `json:"addr,omitempty"`
	Msg  string `json:"message"`
}

// Guard returns the lock-out violations of p: a port sshd listens on that p
// closes (sessionOnly false), and the SSH session of this process (or an
// ancestor: sudo drops SSH_CONNECTION) whose client p would not let in
// again. The daemon checks ports only (it has no session).
func (h Host) Guard(ctx context.Context, p *Policy, ports, session bool) []Violation {
	if p == nil || !p.Enabled {
		return nil
	}
	var out []Violation
	if ports {
		sp, src := h.SSHDPorts(ctx)
		for _, port := range sp {
			if !slices.ContainsFunc(p.OpenPorts(), func(o PortProto) bool { return o.Contains("tcp", port) }) {
				out = append(out, Violation{What: "sshd port", Port: port, Msg: fmt.Sprintf(
					"sshd listens on port %d/tcp (%s) and the baseline closes it: add \"%d/tcp\" to [baseline] allow (or allow_from your admin network), or use --force", port, src, port)})
			}
		}
	}
	if session {
		if c, ok := h.SSHSession(); ok && !p.Accepts(c.Addr(), "tcp", c.Port()) {
			out = append(out, Violation{What: "ssh session", Port: c.Port(), Addr: c.Addr().String(), Msg: fmt.Sprintf(
				"this command runs over SSH from %s to port %d/tcp and the baseline would not let %s connect again: add \"%d/tcp\" to [baseline] allow or %s to allow_from.\"%d/tcp\", or use --force",
				c.Addr(), c.Port(), c.Addr(), c.Port(), c.Addr(), c.Port())})
		}
	}
	return out
}

// SSHDPorts returns the TCP ports sshd processes listen on in this network
// namespace (their sockets in /proc/net/tcp{,6}), which is what the running
// sshd really serves; when no sshd socket is found, the ports `sshd -T`
// reports from its configuration. The second value says which source.
func (h Host) SSHDPorts(ctx context.Context) ([]uint16, string) {
	if ports := h.listeningSSHD(); len(ports) > 0 {
		return ports, "a listening socket of sshd"
	}
	get := h.SSHDConfigPorts
	if get == nil {
		get = sshdT
	}
	ports, err := get(ctx)
	if err != nil || len(ports) == 0 {
		return nil, ""
	}
	return ports, "sshd -T"
}

// sshdT runs `sshd -T` and returns its port lines.
func sshdT(ctx context.Context) ([]uint16, error) {
	path, err := exec.LookPath("sshd")
	if err != nil {
		if _, e := os.Stat("/usr/sbin/sshd"); e != nil {
			return nil, err
		}
		path = "/usr/sbin/sshd"
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "-T").Output()
	if err != nil {
		return nil, err
	}
	var ports []uint16
	for l := range strings.Lines(string(out)) {
		if f := strings.Fields(l); len(f) == 2 && f[0] == "port" {
			if n, err := strconv.ParseUint(f[1], 10, 16); err == nil && !slices.Contains(ports, uint16(n)) {
				ports = append(ports, uint16(n))
			}
		}
	}
	return ports, nil
}

// listeningSSHD maps the listening TCP sockets of this namespace to the
// processes holding them and keeps those of sshd.
func (h Host) listeningSSHD() []uint16 {
	listen := map[string]uint16{} // socket inode -> port
	for _, f := range []string{"net/tcp", "net/tcp6"} {
		data, err := os.ReadFile(filepath.Join(h.proc(), "self", f))
		if err != nil {
			continue
		}
		for inode, port := range ParseListeners(data) {
			listen[inode] = port
		}
	}
	if len(listen) == 0 {
		return nil
	}
	var ports []uint16
	dirs, _ := os.ReadDir(h.proc())
	for _, d := range dirs {
		if _, err := strconv.Atoi(d.Name()); err != nil {
			continue
		}
		pid := filepath.Join(h.proc(), d.Name())
		comm, _ := os.ReadFile(filepath.Join(pid, "comm"))
		if strings.TrimSpace(string(comm)) != "sshd" {
			continue
		}
		fds, _ := os.ReadDir(filepath.Join(pid, "fd"))
		for _, fd := range fds {
			link, err := os.Readlink(filepath.Join(pid, "fd", fd.Name()))
			if err != nil {
				continue
			}
			inode, ok := strings.CutPrefix(link, "socket:[")
			if !ok {
				continue
			}
			if port, ok := listen[strings.TrimSuffix(inode, "]")]; ok && !slices.Contains(ports, port) {
				ports = append(ports, port)
			}
		}
	}
	slices.Sort(ports)
	return ports
}

// ParseListeners reads /proc/net/tcp or tcp6 and returns the sockets in
// state LISTEN (0A) by inode, with their local port; listeners bound to
// loopback only are left out. Lines it cannot read are skipped.
func ParseListeners(data []byte) map[string]uint16 { return ParseSockets(data, "0A") }

// ParseSockets is ParseListeners for sockets in state (two hex digits as
// /proc/net prints them): "0A" for TCP listeners in /proc/net/tcp{,6},
// "07" for unconnected (serving) UDP sockets in /proc/net/udp{,6}.
func ParseSockets(data []byte, state string) map[string]uint16 {
	out := map[string]uint16{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 10 || f[3] != state {
			continue
		}
		hexAddr, hexPort, ok := strings.Cut(f[1], ":")
		if !ok || loopbackHex(hexAddr) {
			continue // a loopback-only listener cannot lock anyone out
		}
		port, err := strconv.ParseUint(hexPort, 16, 16)
		if err != nil || port == 0 {
			continue
		}
		if _, err := strconv.ParseUint(f[9], 10, 64); err != nil {
			continue
		}
		out[f[9]] = uint16(port)
	}
	return out
}

// loopbackHex reports whether a /proc/net/tcp{,6} address (32-bit words
// in host order, little-endian here) is 127.0.0.0/8 or ::1.
func loopbackHex(h string) bool {
	switch len(h) {
	case 8:
		return strings.EqualFold(h[6:], "7F")
	case 32:
		return h == "00000000000000000000000001000000"
	}
	return false
}

// SSHSession returns the client address and the server port of the SSH
// session this command runs in: SSH_CONNECTION of this process, else of its
// nearest ancestor that has it (sudo and su drop it from the environment).
func (h Host) SSHSession() (netip.AddrPort, bool) {
	if h.Environ != nil {
		return parseSSHConnection(envValue(h.Environ, "SSH_CONNECTION"))
	}
	if c, ok := parseSSHConnection(os.Getenv("SSH_CONNECTION")); ok {
		return c, true
	}
	pid := os.Getppid()
	for range 64 {
		if pid <= 1 {
			break
		}
		data, err := os.ReadFile(filepath.Join(h.proc(), strconv.Itoa(pid), "environ"))
		if err == nil {
			if c, ok := parseSSHConnection(envValue(strings.Split(string(data), "\x00"), "SSH_CONNECTION")); ok {
				return c, true
			}
		}
		pid = parentOf(h.proc(), pid)
	}
	return netip.AddrPort{}, false
}

func envValue(env []string, name string) string {
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, name+"="); ok {
			return v
		}
	}
	return ""
}

// parseSSHConnection reads "CLIENT_IP CLIENT_PORT SERVER_IP SERVER_PORT"
// and returns the client's address with the server's port.
func parseSSHConnection(s string) (netip.AddrPort, bool) {
	f := strings.Fields(s)
	if len(f) != 4 {
		return netip.AddrPort{}, false
	}
	a, err := netip.ParseAddr(f[0])
	if err != nil {
		return netip.AddrPort{}, false
	}
	port, err := strconv.ParseUint(f[3], 10, 16)
	if err != nil || port == 0 {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(a.Unmap().WithZone(""), uint16(port)), true
}

// parentOf returns the parent pid from /proc/PID/stat, or 0.
func parentOf(proc string, pid int) int {
	data, err := os.ReadFile(filepath.Join(proc, strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 2 {
		return 0
	}
	pp, _ := strconv.Atoi(f[1])
	return pp
}
