package audit

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// probeUser is the user name the live probe offers; it need not exist:
// OpenSSH lists the same methods for unknown users.
const probeUser = "rampart-audit-probe"

// sshProbe is what the live probe learnt from the server.
type sshProbe struct {
	Addr    string
	Methods []string // methods the server allows after "none"
}

// errProbeDone ends the handshake once the methods are known.
var errProbeDone = errors.New("probe done")

// sshProbeResult connects to the local sshd, offers the "none" method and records
// which methods the server allows (shared per run).
func (e *Env) sshProbeResult(ctx context.Context) (*sshProbe, error) {
	return load(ctx, e, "ssh-probe", func(ctx context.Context) (*sshProbe, error) {
		cfg, err := e.effectiveSSHD(ctx)
		if err != nil {
			return nil, err
		}
		// Without a listener process sshd may still be socket-activated
		// (ssh.socket): probe whatever listens on its port.
		addrs, err := e.probeTargets(ctx, cfg)
		if err != nil {
			return nil, err
		}
		var errs []string
		for _, a := range addrs {
			p, err := probeSSH(ctx, e, a)
			if err == nil {
				return p, nil
			}
			errs = append(errs, err.Error())
		}
		return nil, fmt.Errorf("live probe: %s", strings.Join(errs, "; "))
	})
}

// probeTargets turns the daemon's ports and listen addresses into local
// addresses to dial, keeping those a socket in this namespace listens on.
func (e *Env) probeTargets(ctx context.Context, cfg *sshdConfig) ([]string, error) {
	var cands []netip.AddrPort
	for _, la := range cfg.all("listenaddress") {
		ap, err := netip.ParseAddrPort(la)
		if err != nil {
			continue
		}
		a := ap.Addr()
		switch {
		case a == netip.IPv4Unspecified():
			a = netip.MustParseAddr("127.0.0.1")
		case a == netip.IPv6Unspecified():
			cands = append(cands, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), ap.Port()))
			a = netip.IPv6Loopback()
		}
		cands = append(cands, netip.AddrPortFrom(a, ap.Port()))
	}
	if len(cands) == 0 {
		ports := cfg.all("port")
		if len(ports) == 0 {
			ports = []string{"22"}
		}
		for _, p := range ports {
			n, err := strconv.Atoi(p)
			if err != nil {
				continue
			}
			cands = append(cands, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(n)),
				netip.AddrPortFrom(netip.IPv6Loopback(), uint16(n)))
		}
	}
	socks, err := e.Listening(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, c := range cands {
		for _, s := range socks {
			if s.Proto != "tcp" || s.Port != int(c.Port()) {
				continue
			}
			if s.Addr == c.Addr() || s.Addr.IsUnspecified() {
				if !slices.Contains(out, c.String()) {
					out = append(out, c.String())
				}
				break
			}
		}
	}
	if len(out) == 0 {
		if cfg.Daemon == nil {
			return nil, errors.New("sshd is not running and nothing listens on its port")
		}
		return nil, fmt.Errorf("sshd (pid %d) has no listening socket in this network namespace", cfg.Daemon.PID)
	}
	return out, nil
}

// probeSSH runs the handshake against addr and stops after "none".
func probeSSH(ctx context.Context, e *Env, addr string) (*sshProbe, error) {
	conn, err := e.dial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	} else {
		conn.SetDeadline(time.Now().Add(5 * time.Second))
	}
	p := &sshProbe{Addr: addr}
	got := false
	cfg := &ssh.ClientConfig{
		User:            probeUser,
		HostKeyCallback: ssh.InsecureIgnoreHostKey(),
		AuthCallback: func(ac *ssh.ClientAuthContext) (ssh.AuthMethod, error) {
			p.Methods = ac.AllowedMethods
			got = true
			return nil, errProbeDone
		},
		ClientVersion: "SSH-2.0-rampart-audit",
	}
	c, _, _, err := ssh.NewClientConn(conn, addr, cfg)
	if err == nil {
		// "none" was accepted: the server lets anyone in.
		c.Close()
		p.Methods = []string{"none"}
		return p, nil
	}
	if !got {
		return nil, fmt.Errorf("%s: %w", addr, err)
	}
	return p, nil
}

// weakMethods are the methods that let a guessed password in.
func (p *sshProbe) weakMethods() []string {
	var out []string
	for _, m := range p.Methods {
		if m == "password" || m == "keyboard-interactive" || m == "none" {
			out = append(out, m)
		}
	}
	return out
}
