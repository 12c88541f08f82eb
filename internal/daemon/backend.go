package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"syscall"
	"time"

	"github.com/rampart-ids/rampart/internal/firewall"
	"github.com/rampart-ids/rampart/internal/firewall/dryrun"
	"github.com/rampart-ids/rampart/internal/firewall/iptables"
	"github.com/rampart-ids/rampart/internal/firewall/nft"
)

// newBackend picks the firewall backend.
func newBackend(name string, log *slog.Logger) (firewall.Backend, error) {
	switch name {
	case "nftables":
		return nft.New(nft.Options{}), nil
	case "iptables":
		return iptables.New(iptables.Options{}), nil
	case "dryrun":
		return dryrun.New(os.Stderr, time.Now), nil
	case "", "auto":
		nerr := nft.Supported(nft.Options{})
		if nerr == nil || !isUnsupported(nerr) {
			return nft.New(nft.Options{}), nil
		}
		if err := iptables.Supported(context.Background(), iptables.Options{}); err != nil {
			return nil, fmt.Errorf("no firewall backend: %v; and %v (install nftables, or iptables and ipset)", nerr, err)
		}
		log.Warn("nftables is not available; using iptables and ipset", "err", nerr)
		return iptables.New(iptables.Options{}), nil
	}
	return nil, fmt.Errorf("unknown firewall backend %q (use nftables, iptables, dryrun or auto)", name)
}

func isUnsupported(err error) bool {
	return errors.Is(err, syscall.EPROTONOSUPPORT) || errors.Is(err, syscall.EAFNOSUPPORT)
}

// firewallSpecs maps jails to the firewall's view, plus the manual jail
// (which also holds bans of jails no longer configured).
func firewallSpecs(jails map[string]*runJail) []firewall.JailSpec {
	specs := []firewall.JailSpec{{Name: ManualJail, Action: firewall.Drop}}
	for _, rj := range jails {
		s := firewall.JailSpec{Name: rj.cfg.Name, Action: firewall.Drop}
		if rj.cfg.Reject {
			s.Action = firewall.Reject
		}
		if !rj.cfg.AllPorts {
			for _, p := range rj.cfg.Ports {
				s.Ports = append(s.Ports, firewall.PortRange{First: p.First, Last: p.Last})
			}
			s.Protocols = rj.cfg.Protocols
		}
		specs = append(specs, s)
	}
	return specs
}
