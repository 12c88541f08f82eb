package daemon

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/rampart-ids/rampart/internal/config"
	"github.com/rampart-ids/rampart/internal/decide"
	"github.com/rampart-ids/rampart/internal/finding"
	"github.com/rampart-ids/rampart/internal/firewall/nft"
	"github.com/rampart-ids/rampart/internal/jail"
	"github.com/rampart-ids/rampart/internal/origin"
	"github.com/rampart-ids/rampart/internal/portscan"
)

// PortscanJail is the jail of [portscan]: it counts the distinct closed
// ports a source tries, and its bans have the origin "kernel portscan".
const PortscanJail = "portscan"

// portscanCheckEvery is how often the chain is compared with what it
// should hold: the open ports (listening sockets come and go, the baseline
// changes on reload), the ignore lists, and a chain removed from outside.
const portscanCheckEvery = time.Second

// portscanJail builds [portscan]'s jail (nil when it is off): a counter of
// `ports` distinct keys within `within`, fed by the NFLOG group, banning
// on every port like the manual jail. The kernel chain is the "portscan
// chain" component's.
func (d *Daemon) portscanJail(cfg *config.Config, offs *jail.Offenders) (*runJail, error) {
	ps := cfg.Portscan
	if !ps.Enabled {
		return nil, nil
	}
	if j, ok := cfg.Jail(PortscanJail); ok && j.Enabled {
		return nil, fmt.Errorf("jail %q: the name is [portscan]'s while it is enabled; rename the jail", PortscanJail)
	}
	jc := config.Jail{
		Name: PortscanJail, Enabled: true, Filter: PortscanJail, AllPorts: true,
		MaxRetry: ps.Ports, FindTime: ps.Within, BanTime: ps.BanTime, Increment: ps.Increment,
		IgnoreIP: ps.AllIgnored(), IgnoreSelf: ps.IgnoreSelf, UseDNS: "no",
		IPv4Prefix: 32, IPv6Prefix: 128, MaxTracked: ps.MaxTracked,
	}
	ig, err := jail.NewIgnore(jail.IgnoreConfig{Entries: ignoreEntries(jc), Self: jc.IgnoreSelf, SelfAddrs: ownAddrs})
	if err != nil {
		return nil, fmt.Errorf("[portscan] ignore: %w", err)
	}
	j, err := jail.New(jailConfig(jc, ig, offs))
	if err != nil {
		return nil, fmt.Errorf("[portscan]: %w", err)
	}
	src := &portscan.Source{Group: ps.NflogGroup, OnError: func(err error) {
		d.log.Error("port scans: the NFLOG group cannot be read (another program may hold it); retrying", "group", ps.NflogGroup, "err", err, "retry", portscan.RetryEvery)
	}}
	return &runJail{cfg: jc, counter: j, ignore: ig, offs: offs, sources: []finding.Source{src},
		distinct: &decide.Distinct{Window: ps.Within}, origin: origin.Origin{Kind: origin.Kernel, Name: PortscanJail}}, nil
}

// portscanComponents keeps the kernel chain in line with [portscan], when
// the firewall is nftables (the chain lives in its table).
func (d *Daemon) portscanComponents() []component {
	if _, ok := d.fw.(*nft.Backend); !ok {
		if d.config().Portscan.Enabled {
			d.log.Error("[portscan] needs the nftables firewall backend; port scans are NOT detected", "backend", d.config().Daemon.Firewall)
		}
		return nil
	}
	return []component{{"portscan chain", func(ctx context.Context) error {
		pc := &portscanChain{d: d}
		pc.tick()
		t := time.NewTicker(portscanCheckEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
				pc.tick()
			}
		}
	}}}
}

// portscanChain is the chain's upkeep: it applies the rules [portscan],
// the baseline and the listening sockets give, removes the chain when
// port scans are turned off, and restores it when it goes missing.
type portscanChain struct {
	d      *Daemon
	k      portscan.Kernel
	last   *portscan.Rules // what it applied last; nil: nothing
	failed string          // the last error said, not repeated every second
}

func (pc *portscanChain) tick() {
	cfg := pc.d.config()
	ps := cfg.Portscan
	st, err := pc.k.Read()
	if err != nil {
		pc.fail("reading the port-scan chain", err)
		return
	}
	if !ps.Enabled {
		if st.Chain || st.Sets {
			if err := pc.k.Remove(); err != nil {
				pc.fail("removing the port-scan chain", err)
				return
			}
			pc.d.log.Info("port-scan chain removed ([portscan] is off)")
		}
		pc.last = nil
		return
	}
	want := portscan.Rules{Group: ps.NflogGroup, Rate: ps.LogRate, PerSource: portscan.PerSourceFor(ps.Ports, ps.LogRate), Ignore: ps.AllIgnored(),
		Open: portscan.OpenPorts(pc.d.Baseline(), "")}.Normal()
	if st.Holds(want) {
		pc.failed = ""
		return
	}
	if err := pc.k.Apply(want); err != nil {
		pc.fail("applying the port-scan chain", err)
		return
	}
	pc.failed = ""
	open := make([]string, 0, len(want.Open))
	for _, p := range want.Open {
		open = append(open, p.String())
	}
	switch {
	case pc.last == nil:
		pc.d.log.Info("port-scan chain in force", "open", open, "ignored", len(want.Ignore), "group", want.Group, "log_rate", want.Rate)
	case pc.last.Fingerprint() == want.Fingerprint():
		pc.d.log.Warn("port-scan chain was removed or changed from outside; restored")
	case !slices.Equal(pc.last.Open, want.Open):
		pc.d.log.Info("port-scan chain: the open ports changed", "open", open)
	default:
		pc.d.log.Info("port-scan chain updated", "open", open, "ignored", len(want.Ignore), "group", want.Group, "log_rate", want.Rate)
	}
	pc.last = &want
}

func (pc *portscanChain) fail(what string, err error) {
	if s := err.Error(); s != pc.failed {
		pc.d.log.Error(what, "err", err)
		pc.failed = s
	}
}
