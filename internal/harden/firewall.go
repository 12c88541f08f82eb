package harden

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/rampart-ids/rampart/internal/config"
	"github.com/rampart-ids/rampart/internal/policy"
)

// FirewallDropIn is the configuration drop-in (beside the main file, in its
// rampart.d) that turns the baseline on with the listening services allowed.
const FirewallDropIn = "50-harden-firewall.toml"

// DefaultConfirm is the commit-confirmed window of the firewall area.
const DefaultConfirm = 120 * time.Second

// Firewall hands over to the baseline (rampart firewall apply): it proposes
// the services listening now as the allow list, writes them to a
// configuration drop-in, and applies the baseline commit-confirmed through
// the lock-out guard.
type Firewall struct {
	// Apply applies a policy (tests pass a namespace kernel); nil:
	// policy.Apply on this host.
	Apply func(ctx context.Context, p *policy.Policy, opt policy.Options) (*policy.Result, error)
}

// Name implements Area.
func (Firewall) Name() string { return "firewall" }

var firewallCheckIDs = []string{"firewall.input-chain", "firewall.default-drop", "firewall.ipv6"}

// Plan implements Area.
func (f Firewall) Plan(ctx context.Context, env *Env) (*Proposal, error) {
	if !env.Live {
		return nil, skipf("needs the live host: the allow list is the services listening now, and the baseline is a kernel ruleset")
	}
	cfgPath := env.Config
	if cfgPath == "" {
		cfgPath = config.DefaultPath
	}
	cfg, err := config.LoadWith(cfgPath, config.Options{MissingOK: env.Config == "", SkipFileChecks: true})
	if err != nil {
		return nil, fmt.Errorf("firewall: %v", err)
	}
	failing := env.Failing(ctx, firewallCheckIDs...)
	if len(failing) == 0 && cfg.Baseline.Enabled {
		return &Proposal{Area: "firewall"}, nil
	}
	socks, err := env.Audit().Listening(ctx)
	if err != nil {
		return nil, skipf("cannot list the listening services: %v", err)
	}
	var allow []string
	for _, s := range socks {
		if s.Loopback() {
			continue
		}
		ps := fmt.Sprintf("%d/%s", s.Port, s.Proto)
		if !slices.Contains(allow, ps) {
			allow = append(allow, ps)
		}
	}
	for _, a := range cfg.Baseline.Allow {
		if ps := a.String(); !slices.Contains(allow, ps) {
			allow = append(allow, ps)
		}
	}
	// sshd's ports and the port of the SSH session running this stay
	// open whatever listens: the lock-out guard would refuse otherwise.
	host := policy.Host{}
	sshd, _ := host.SSHDPorts(ctx)
	if c, ok := host.SSHSession(); ok && !slices.Contains(sshd, c.Port()) {
		sshd = append(sshd, c.Port())
	}
	// A port sshd moves to in the same run (harden ssh firewall --port N)
	// stays open too, or this apply would close it again.
	if p := env.Options.Port; p > 0 && !slices.Contains(sshd, uint16(p)) {
		sshd = append(sshd, uint16(p))
	}
	for _, port := range sshd {
		if ps := fmt.Sprintf("%d/tcp", port); !slices.Contains(allow, ps) {
			allow = append(allow, ps)
		}
	}
	sort.Slice(allow, func(i, j int) bool { return portLess(allow[i], allow[j]) })
	dropIn := filepath.Join(filepath.Dir(cfgPath), config.DropInDir, FirewallDropIn)
	quoted := make([]string, len(allow))
	for i, a := range allow {
		quoted[i] = fmt.Sprintf("%q", a)
	}
	data := "# Written by rampart harden (firewall): the services listening when it ran.\n" +
		"# Undo: rampart harden undo.\n[baseline]\nenabled = true\nallow = [" + strings.Join(quoted, ", ") + "]\n"
	p := &Proposal{Area: "firewall", Checks: failing}
	if old, err := os.ReadFile(dropIn); err == nil && string(old) == data {
		return p, nil
	}
	p.Files = append(p.Files, File{Path: dropIn, Data: []byte(data), Mode: 0o644})
	confirm := DefaultConfirm
	if env.Options.Confirm != "" {
		if confirm, err = time.ParseDuration(env.Options.Confirm); err != nil || confirm <= 0 {
			return nil, fmt.Errorf("--confirm %q: want a duration such as 120s", env.Options.Confirm)
		}
	}
	p.Actions = append(p.Actions,
		"allow list (listening now and not on loopback, sshd's ports, the [baseline] allow in force): "+strings.Join(allow, ", "),
		fmt.Sprintf("rampart firewall apply --confirm %s: rolls back unless 'rampart firewall confirm' runs in time", confirm))
	exe, _ := os.Executable()
	if exe == "" {
		exe = "rampart"
	}
	p.UndoReload = append(p.UndoReload, Command{Name: exe, Args: []string{"firewall", "apply", "--config", cfgPath}})
	apply := f.Apply
	if apply == nil {
		apply = policy.Apply
	}
	force := env.Options.Force
	p.Activate = func(ctx context.Context) error {
		c, err := config.LoadWith(cfgPath, config.Options{MissingOK: env.Config == "", SkipFileChecks: true})
		if err != nil {
			return err
		}
		pol := policy.Build(c.Baseline, policy.Env{UsesDHCP: policy.UsesDHCP("")})
		_, err = apply(ctx, pol, policy.Options{Confirm: confirm, Force: force, Session: true, StateDir: c.Daemon.StateDir})
		return err
	}
	return p, nil
}

func portLess(a, b string) bool {
	var pa, pb int
	var qa, qb string
	fmt.Sscanf(strings.Replace(a, "/", " ", 1), "%d %s", &pa, &qa)
	fmt.Sscanf(strings.Replace(b, "/", " ", 1), "%d %s", &pb, &qb)
	if pa != pb {
		return pa < pb
	}
	return qa < qb
}
