// Package iptables is rampart's backend for hosts without nftables: bans
// live in ipset hash:net sets (one per jail and family, with per-element
// timeouts, so the kernel lifts bans on time even if rampart is down) and
// iptables/ip6tables rules in a chain "rampart-bans" match them.
//
// The backend owns that chain, its jumps and the ipsets named SetPrefix
// followed by a jail and a family, nothing else: other rules of INPUT,
// FORWARD and DOCKER-USER and other chains and sets (the baseline policy's,
// the administrator's) are never flushed or deleted.
//
// It runs the iptables, ip6tables, iptables-restore and ipset commands;
// changes go to `ipset restore` in batches. On Debian 12 `iptables` is the
// nf_tables-based iptables-nft; the legacy variant works the same.
//
// The chain is jumped to from INPUT, FORWARD and, when Docker created it,
// DOCKER-USER. Unlike the nft backend it runs after DNAT, so a port-scoped
// jail on a container's published port must list the container's port too;
// see docs/FIREWALL.md.
package iptables

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"

	"github.com/rampart-ids/rampart/internal/firewall"
)

var _ firewall.Backend = (*Backend)(nil)

// ChainName is the iptables chain holding the ban layer's rules, in the
// filter table of both iptables and ip6tables.
const ChainName = "rampart-bans"

// SetPrefix starts the name of every ipset the ban layer owns.
const SetPrefix = "rampart-ban-"

// MaxElem is the capacity of each set; ipset's default (65536) would make
// bans silently fail under a large attack.
const MaxElem = 1 << 20

// DefaultBatchSize is how many set changes go to one `ipset restore`.
const DefaultBatchSize = 20000

// parents are the chains that jump to ChainName; DOCKER-USER only when it
// exists.
func parents() []string { return []string{"INPUT", "FORWARD", "DOCKER-USER"} }

// Options configure a Backend; the zero value is ready for use.
type Options struct {
	// Wrap is prepended to every command, e.g. {"ip", "netns", "exec",
	// "ns1"} to manage another network namespace (tests use it).
	Wrap []string
	// BatchSize bounds the changes per `ipset restore`; 0 means
	// DefaultBatchSize.
	BatchSize int
}

// Backend manages the ban layer's chain and sets.
type Backend struct {
	opts Options

	mu    sync.Mutex
	jails map[string]firewall.JailSpec
}

// New returns a backend; it touches nothing until Setup.
func New(opts Options) *Backend {
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultBatchSize
	}
	return &Backend{opts: opts, jails: map[string]firewall.JailSpec{}}
}

// Supported reports whether the commands this backend runs are installed
// and ipset answers.
func Supported(ctx context.Context, opts Options) error {
	for _, tool := range []string{"iptables", "ip6tables", "iptables-restore", "ip6tables-restore", "ipset"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("iptables: %s not found: %w", tool, err)
		}
	}
	_, err := New(opts).run(ctx, "", "ipset", "list", "-n")
	if err != nil {
		return fmt.Errorf("iptables: %w", err)
	}
	return nil
}

// family is IPv4 or IPv6 with the names that differ between them.
type family struct {
	v6       bool
	iptables string // the command
	inet     string // ipset family
	icmp     string // --reject-with for non-TCP
}

func families() []family {
	return []family{
		{false, "iptables", "inet", "icmp-admin-prohibited"},
		{true, "ip6tables", "inet6", "icmp6-adm-prohibited"},
	}
}

// Setup creates the jails' sets, replaces the chain's rules in one
// iptables-restore per family, makes sure the chain is jumped to, and
// destroys the sets of jails no longer listed. Sets of kept jails keep their
// bans.
func (b *Backend) Setup(ctx context.Context, jails []firewall.JailSpec) error {
	if err := firewall.ValidateJails(jails); err != nil {
		return fmt.Errorf("iptables: %w", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.removeLegacy(ctx); err != nil {
		return err
	}
	existing, err := b.setNames(ctx)
	if err != nil {
		return err
	}
	want := map[string]bool{}
	for _, j := range jails {
		for _, f := range families() {
			name := SetName(j.Name, f.v6)
			want[name] = true
			create := []string{"ipset", "create", name, "hash:net", "family", f.inet, "timeout", "0", "maxelem", fmt.Sprint(MaxElem), "-exist"}
			if _, err := b.run(ctx, "", create...); err != nil {
				// Same name, other parameters (an older rampart): recreate
				// it, which needs the rules referring to it gone.
				b.flushChains(ctx)
				if _, err := b.run(ctx, "", "ipset", "destroy", name); err != nil {
					return fmt.Errorf("iptables: jail %q: %w", j.Name, err)
				}
				if _, err := b.run(ctx, "", create...); err != nil {
					return fmt.Errorf("iptables: jail %q: %w", j.Name, err)
				}
			}
		}
	}
	for _, f := range families() {
		if _, err := b.run(ctx, rulesScript(f, jails), f.iptables+"-restore", "-w", "--noflush"); err != nil {
			return fmt.Errorf("iptables: setup chain %s: %w", ChainName, err)
		}
		if err := b.ensureJumps(ctx, f); err != nil {
			return err
		}
	}
	for _, name := range existing {
		if !want[name] {
			if _, err := b.run(ctx, "", "ipset", "destroy", name); err != nil {
				return fmt.Errorf("iptables: destroy stale set: %w", err)
			}
		}
	}
	b.jails = make(map[string]firewall.JailSpec, len(jails))
	for _, j := range jails {
		b.jails[j.Name] = j
	}
	return nil
}

// rulesScript is the iptables-restore input that declares (and so empties)
// the chain and fills it with the jails' rules.
func rulesScript(f family, jails []firewall.JailSpec) string {
	var s strings.Builder
	fmt.Fprintf(&s, "*filter\n:%s - [0:0]\n", ChainName)
	for _, j := range jails {
		match := fmt.Sprintf("-m set --match-set %s src", SetName(j.Name, f.v6))
		target := func(tcp bool) string {
			switch {
			case j.Action == firewall.Drop:
				return "-j DROP"
			case tcp:
				return "-j REJECT --reject-with tcp-reset"
			}
			return "-j REJECT --reject-with " + f.icmp
		}
		if len(j.Ports) == 0 {
			if j.Action == firewall.Reject {
				fmt.Fprintf(&s, "-A %s -p tcp %s %s\n", ChainName, match, target(true))
			}
			fmt.Fprintf(&s, "-A %s %s %s\n", ChainName, match, target(false))
			continue
		}
		protos := j.Protocols
		if len(protos) == 0 {
			protos = firewall.DefaultProtocols()
		}
		for _, p := range protos {
			// multiport takes at most 15 ports, a range counting as two.
			for i := 0; i < len(j.Ports); i += 7 {
				group := j.Ports[i:min(i+7, len(j.Ports))]
				ports := make([]string, len(group))
				for k, r := range group {
					ports[k] = strings.Replace(r.String(), "-", ":", 1)
				}
				fmt.Fprintf(&s, "-A %s -p %s -m multiport --dports %s %s %s\n",
					ChainName, p, strings.Join(ports, ","), match, target(p == "tcp"))
			}
		}
	}
	s.WriteString("COMMIT\n")
	return s.String()
}

// ensureJumps inserts "-j rampart" at the top of INPUT, FORWARD and
// DOCKER-USER (when it exists) unless already there.
func (b *Backend) ensureJumps(ctx context.Context, f family) error {
	for _, c := range parents() {
		if c == "DOCKER-USER" {
			if _, err := b.run(ctx, "", f.iptables, "-w", "-S", c); err != nil {
				continue // no Docker
			}
		}
		if _, err := b.run(ctx, "", f.iptables, "-w", "-C", c, "-j", ChainName); err == nil {
			continue
		}
		if _, err := b.run(ctx, "", f.iptables, "-w", "-I", c, "1", "-j", ChainName); err != nil {
			return fmt.Errorf("iptables: jump from %s: %w", c, err)
		}
	}
	return nil
}

// flushChains empties the ban layer's own chain in both families, ignoring
// a missing chain.
func (b *Backend) flushChains(ctx context.Context) {
	for _, f := range families() {
		_, _ = b.run(ctx, "", f.iptables, "-w", "-F", ChainName)
	}
}

// Teardown removes the jumps, the chain and the ban layer's sets; other
// rules of the parent chains and other chains and sets stay.
func (b *Backend) Teardown(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.removeLegacy(ctx); err != nil {
		return err
	}
	for _, f := range families() {
		b.removeChain(ctx, f, ChainName)
	}
	names, err := b.setNames(ctx)
	if err != nil {
		return err
	}
	for _, n := range names {
		if _, err := b.run(ctx, "", "ipset", "destroy", n); err != nil {
			return fmt.Errorf("iptables: teardown: %w", err)
		}
	}
	b.jails = map[string]firewall.JailSpec{}
	return nil
}

// removeChain deletes the jumps to chain from the parent chains, then the
// chain, ignoring what is not there. Only the jumps go from the parents,
// found by their exact rule; the parents' other rules stay.
func (b *Backend) removeChain(ctx context.Context, f family, chain string) {
	for _, c := range parents() {
		for range 100 { // a jump may have been inserted more than once
			if _, err := b.run(ctx, "", f.iptables, "-w", "-D", c, "-j", chain); err != nil {
				break
			}
		}
	}
	_, _ = b.run(ctx, "", f.iptables, "-w", "-F", chain) // a chain of its own
	_, _ = b.run(ctx, "", f.iptables, "-w", "-X", chain)
}

// run executes argv (behind Options.Wrap) with stdin and returns its
// output; the error carries the command's stderr.
func (b *Backend) run(ctx context.Context, stdin string, argv ...string) (string, error) {
	args := append(append([]string(nil), b.opts.Wrap...), argv...)
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s: %w: %s", strings.Join(argv[:min(len(argv), 3)], " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}
