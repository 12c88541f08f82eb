package audit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

func firewallChecks() []Check {
	return append([]Check{
		{
			ID: "firewall.input-chain", Area: AreaFirewall, Severity: High,
			Title:       "A filter base chain is attached to the input hook",
			Reads:       "the live nftables ruleset of this network namespace (`nft -j list ruleset`, root), plus the INPUT chains of iptables-legacy (`iptables-legacy -S INPUT`) when /proc/net/ip_tables_names shows a legacy filter table in use",
			Why:         "Without a chain on the input hook no packet addressed to the host is filtered: every listening service is exposed, whatever tools are installed.",
			Remediation: "apt-get install nftables && systemctl enable --now nftables   # /etc/nftables.conf ships an inet filter table; add a drop policy (see firewall.default-drop)",
			Run:         checkInputChain,
		},
		{
			ID: "firewall.default-drop", Area: AreaFirewall, Severity: High,
			Title:       "Inbound IPv4 is dropped unless a rule accepts it",
			Reads:       "the live ruleset: input base chains of family ip or inet, their policy and last rule",
			Why:         "A default-deny input policy is what makes every forgotten or new service unreachable until it is allowed on purpose.",
			Remediation: "nft 'add table inet filter; add chain inet filter input { type filter hook input priority 0; policy drop; }; add rule inet filter input iif lo accept; add rule inet filter input ct state established,related accept; add rule inet filter input tcp dport 22 accept'   # then save it: nft list ruleset > /etc/nftables.conf",
			Run:         func(ctx context.Context, e *Env) Result { return checkDefaultDrop(ctx, e, 4) },
		},
		{
			ID: "firewall.ipv6", Area: AreaFirewall, Severity: High,
			Title:       "Inbound IPv6 is dropped unless a rule accepts it",
			Reads:       "the live ruleset: input base chains of family ip6 or inet; /proc/sys/net/ipv6/conf/all/disable_ipv6",
			Why:         "An IPv4-only firewall leaves every service reachable over IPv6, which most hosts have enabled.",
			Remediation: "Use an inet-family table so one chain filters IPv4 and IPv6: nft 'add table inet filter; add chain inet filter input { type filter hook input priority 0; policy drop; }'",
			Run:         func(ctx context.Context, e *Env) Result { return checkDefaultDrop(ctx, e, 6) },
		},
		{
			ID: "firewall.loopback", Area: AreaFirewall, Severity: Low,
			Title:       "Loopback traffic is accepted before the drop",
			Reads:       "the live ruleset: an `iif lo accept` rule in the dropping input chains",
			Why:         "A default-drop chain without a loopback exemption breaks local services, which tempts admins to switch the firewall off.",
			Remediation: "nft add rule inet filter input iif lo accept   # place it first: nft insert rule …",
			Run:         checkLoopback,
		},
		{
			ID: "firewall.logging", Area: AreaFirewall, Severity: Low,
			Title:       "Dropped inbound packets are logged",
			Reads:       "the live ruleset: a `log` statement in a table with a dropping input chain",
			Why:         "Logged drops show scans and blocked attempts; without them the firewall is silent.",
			Remediation: "nft add rule inet filter input limit rate 5/minute log prefix \\\"nft drop: \\\"   # as the last rule of the input chain",
			Run:         checkFirewallLogging,
		},
		{
			ID: "firewall.listening-intended", Area: AreaFirewall, Severity: Medium,
			Title:       "Every socket reachable from the network is declared as intended",
			Reads:       "/proc/net/tcp, tcp6, udp, udp6 (listening, non-loopback) against intended_ports in the audit config",
			Why:         "A service nobody meant to expose is the classic way in; listing what should listen makes the rest stand out.",
			Remediation: "Stop or rebind the unexpected service (ss -lntup shows the process), or add its port to intended_ports in /etc/rampart/audit.toml",
			Run:         checkListeningIntended,
		},
		{
			ID: "firewall.single-manager", Area: AreaFirewall, Severity: Medium,
			Title:       "Only one firewall manager is enabled",
			Reads:       "/etc/ufw/ufw.conf (ENABLED), enabled units nftables.service, netfilter-persistent.service, firewalld.service, ufw.service",
			Why:         "Two managers overwrite each other's rules at boot or reload; the ruleset in force then depends on start order.",
			Remediation: "Keep one: e.g. systemctl disable --now ufw   or   apt-get purge iptables-persistent",
			Run:         checkSingleManager,
		},
		{
			ID: "firewall.boot", Area: AreaFirewall, Severity: High,
			Title:       "A default-deny ruleset is restored at boot",
			Reads:       "the enabled firewall manager and its saved rules: /etc/nftables.conf, /etc/default/ufw, /etc/iptables/rules.v4",
			Why:         "Rules loaded by hand vanish at the next reboot; the host then boots wide open.",
			Remediation: "nft list ruleset > /etc/nftables.conf && systemctl enable nftables",
			Run:         checkFirewallBoot,
		},
		{
			ID: "firewall.ip-forward", Area: AreaFirewall, Severity: Medium,
			Title:       "IP forwarding is off unless this host is a router",
			Reads:       "/proc/sys/net/ipv4/ip_forward (live) or net.ipv4.ip_forward in /etc/sysctl.conf and /etc/sysctl.d (--root); router in the audit config",
			Why:         "A host that forwards packets can be used to reach networks behind it.",
			Remediation: "echo 'net.ipv4.ip_forward = 0' > /etc/sysctl.d/60-rampart.conf && sysctl --system   # or set router = true in /etc/rampart/audit.toml",
			Run:         checkIPForward,
		},
		{
			ID: "firewall.ufw-ipv6", Area: AreaFirewall, Severity: Low,
			Title:       "ufw also manages IPv6",
			Reads:       "/etc/ufw/ufw.conf and /etc/default/ufw (IPV6)",
			Why:         "With IPV6=no ufw leaves ip6 traffic unfiltered.",
			Remediation: "sed -i 's/^IPV6=.*/IPV6=yes/' /etc/default/ufw && ufw reload",
			Run:         checkUfwIPv6,
		},
	}, baselineChecks()...)
}

// rulesetResult loads the ruleset or turns the failure into a result.
func rulesetResult(ctx context.Context, e *Env) (*ruleset, *Result) {
	if !e.live() {
		r := offline()
		return nil, &r
	}
	rs, err := e.liveRuleset(ctx)
	if err != nil {
		var r Result
		if errors.Is(err, errNeedRoot) {
			r = skip("%v", err)
		} else {
			r = errorf("%v", err)
		}
		return nil, &r
	}
	return rs, nil
}

func checkInputChain(ctx context.Context, e *Env) Result {
	rs, r := rulesetResult(ctx, e)
	if r != nil {
		return *r
	}
	var names []string
	for _, c := range rs.Chains {
		if c.Hook == "input" && (c.Type == "" || c.Type == "filter") {
			names = append(names, fmt.Sprintf("%s (policy %s, %d rules)", c, c.Policy, len(c.Rules)))
		}
	}
	if len(names) == 0 {
		return fail("no base chain on the input hook (ruleset: %d tables, %d chains, %d rules)", rs.Tables, len(rs.Chains), rs.rules())
	}
	return pass("input chains: %s", strings.Join(names, "; "))
}

// ipv6Disabled reports whether the kernel has IPv6 switched off.
func (e *Env) ipv6Disabled() bool {
	if b, err := e.procFile("sys/net/ipv6/conf/all/disable_ipv6"); err == nil {
		return strings.TrimSpace(string(b)) == "1"
	}
	_, err := e.procFile("net/if_inet6")
	return err != nil
}

func checkDefaultDrop(ctx context.Context, e *Env, v int) Result {
	rs, r := rulesetResult(ctx, e)
	if r != nil {
		return *r
	}
	if v == 6 && e.ipv6Disabled() {
		return pass("IPv6 is disabled in the kernel")
	}
	chains := rs.inputChains(v)
	var seen []string
	for _, c := range chains {
		if c.dropsByDefault() {
			how := "policy drop"
			if c.Policy != "drop" {
				how = "final rule " + c.Rules[len(c.Rules)-1].Verdict
			}
			return pass("%s drops by default (%s, %d rules)", c, how, len(c.Rules))
		}
		seen = append(seen, fmt.Sprintf("%s: policy %s, %d rules, no final drop", c, c.Policy, len(c.Rules)))
	}
	if len(seen) == 0 {
		return fail("no input base chain sees IPv%d traffic (ruleset: %d tables, %d rules): everything is accepted", v, rs.Tables, rs.rules())
	}
	return fail("IPv%d input accepts by default: %s", v, strings.Join(seen, "; "))
}

// droppingChains are the input chains (either IP version) that drop by default.
func (rs *ruleset) droppingChains() []*nftChain {
	var out []*nftChain
	for _, c := range rs.Chains {
		if c.Hook == "input" && (c.Type == "" || c.Type == "filter") && c.dropsByDefault() {
			out = append(out, c)
		}
	}
	return out
}

func checkLoopback(ctx context.Context, e *Env) Result {
	rs, r := rulesetResult(ctx, e)
	if r != nil {
		return *r
	}
	drop := rs.droppingChains()
	if len(drop) == 0 {
		return skip("no input chain drops by default, so loopback is not blocked (see firewall.default-drop)")
	}
	var missing []string
	for _, c := range drop {
		ok := false
		for _, rule := range c.Rules {
			if rule.IifLo && rule.Verdict == "accept" {
				ok = true
				break
			}
		}
		if !ok && !jumpsAcceptLo(rs, c) {
			missing = append(missing, c.String())
		}
	}
	if len(missing) > 0 {
		return fail("no `iif lo accept` in %s", strings.Join(missing, ", "))
	}
	return pass("loopback accepted in %d dropping input chain(s)", len(drop))
}

// jumpsAcceptLo looks one jump deep for the loopback exemption (ufw and
// iptables-nft keep it in a chain of their own).
func jumpsAcceptLo(rs *ruleset, c *nftChain) bool {
	for _, other := range rs.Chains {
		if other.Family != c.Family || other.Table != c.Table || other.Hook != "" {
			continue
		}
		for _, rule := range other.Rules {
			if rule.IifLo && rule.Verdict == "accept" {
				return true
			}
		}
	}
	return false
}

func checkFirewallLogging(ctx context.Context, e *Env) Result {
	rs, r := rulesetResult(ctx, e)
	if r != nil {
		return *r
	}
	drop := rs.droppingChains()
	if len(drop) == 0 {
		return skip("no input chain drops by default, so there are no drops to log (see firewall.default-drop)")
	}
	for _, d := range drop {
		for _, c := range rs.Chains {
			if c.Family != d.Family || c.Table != d.Table {
				continue
			}
			for _, rule := range c.Rules {
				if rule.Log {
					return pass("%s has a log rule", c)
				}
			}
		}
	}
	return fail("no log statement in the tables of %d dropping input chain(s)", len(drop))
}

func checkListeningIntended(ctx context.Context, e *Env) Result {
	if !e.live() {
		return offline()
	}
	socks, err := e.Listening(ctx)
	if err != nil {
		return errorf("%v", err)
	}
	type key struct {
		port  int
		proto string
	}
	exposed := map[key][]string{}
	var order []key
	for _, s := range socks {
		if s.Loopback() {
			continue
		}
		k := key{s.Port, s.Proto}
		if _, ok := exposed[k]; !ok {
			order = append(order, k)
		}
		exposed[k] = append(exposed[k], s.Addr.String())
	}
	slices.SortFunc(order, func(a, b key) int {
		if a.proto != b.proto {
			return strings.Compare(a.proto, b.proto)
		}
		return a.port - b.port
	})
	var all []string
	for _, k := range order {
		all = append(all, fmt.Sprintf("%d/%s", k.port, k.proto))
	}
	if len(e.Config.IntendedPorts) == 0 {
		if len(all) == 0 {
			return pass("no socket listens beyond loopback")
		}
		return warn("intended ports not declared; reachable: %s", strings.Join(all, ", ")).
			fix("%s", e.Config.declareHint(fmt.Sprintf("intended_ports = [%s]", quoteList(all))))
	}
	intended := map[key]bool{}
	for _, p := range e.Config.IntendedPorts {
		n, proto, _ := parsePortSpec(p)
		intended[key{n, proto}] = true
	}
	var extra []string
	for i, k := range order {
		if !intended[k] {
			extra = append(extra, all[i])
		}
	}
	if len(extra) > 0 {
		return fail("listening but not intended: %s", strings.Join(extra, ", ")).
			fix("Stop or rebind the service behind %s (ss -lntup shows which), or add it to intended_ports in %s", strings.Join(extra, ", "), configName(e.Config))
	}
	if len(all) == 0 {
		return pass("no socket listens beyond loopback")
	}
	return pass("all reachable sockets intended: %s", strings.Join(all, ", "))
}

func configName(c Config) string {
	if c.Source != "" {
		return c.Source
	}
	return DefaultConfigPath
}

func quoteList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = fmt.Sprintf("%q", x)
	}
	return strings.Join(q, ", ")
}

// firewallManagers lists the enabled firewall managers.
func (e *Env) firewallManagers() ([]string, error) {
	var out []string
	ufw, err := e.readKV("/etc/ufw/ufw.conf", "=")
	if err != nil {
		return nil, err
	}
	if strings.EqualFold(ufw["ENABLED"], "yes") && e.unitState("ufw.service") != "masked" {
		out = append(out, "ufw")
	}
	for _, u := range []string{"nftables.service", "netfilter-persistent.service", "firewalld.service"} {
		if e.unitState(u) == "enabled" {
			out = append(out, strings.TrimSuffix(u, ".service"))
		}
	}
	return out, nil
}

func checkSingleManager(ctx context.Context, e *Env) Result {
	m, err := e.firewallManagers()
	if err != nil {
		return e.readErr(err)
	}
	switch len(m) {
	case 0:
		return pass("no firewall manager enabled (see firewall.boot)")
	case 1:
		return pass("one manager enabled: %s", m[0])
	}
	return fail("%d managers enabled: %s", len(m), strings.Join(m, ", ")).
		fix("Keep one and disable the others, e.g. systemctl disable --now %s", m[1])
}

func checkFirewallBoot(ctx context.Context, e *Env) Result {
	m, err := e.firewallManagers()
	if err != nil {
		return e.readErr(err)
	}
	if len(m) == 0 {
		if where, ok := e.rampartBaselineAtBoot(); ok {
			return pass("rampart.service enabled with [baseline] enabled = true in %s: the daemon applies its baseline at start", where)
		}
		return fail("no firewall manager is enabled: the ruleset is empty after a reboot")
	}
	var notes []string
	for _, name := range m {
		ok, note, err := e.savedRulesDrop(name)
		if err != nil {
			return e.readErr(err)
		}
		if ok {
			return pass("%s enabled; %s", name, note)
		}
		notes = append(notes, name+": "+note)
	}
	return fail("enabled but not default-deny: %s", strings.Join(notes, "; "))
}

// savedRulesDrop looks in a manager's saved rules for a default-deny input.
func (e *Env) savedRulesDrop(manager string) (bool, string, error) {
	switch manager {
	case "ufw":
		kv, err := e.readKV("/etc/default/ufw", "=")
		if err != nil {
			return false, "", err
		}
		p := kv["DEFAULT_INPUT_POLICY"]
		if p == "DROP" || p == "REJECT" {
			return true, "/etc/default/ufw DEFAULT_INPUT_POLICY=" + p, nil
		}
		return false, fmt.Sprintf("/etc/default/ufw DEFAULT_INPUT_POLICY=%q", p), nil
	case "nftables":
		b, err := e.ReadFile("/etc/nftables.conf")
		if err != nil {
			if notExist(err) {
				return false, "/etc/nftables.conf missing", nil
			}
			return false, "", err
		}
		s := string(b)
		if strings.Contains(s, "hook input") && (strings.Contains(s, "policy drop") || strings.Contains(s, "policy reject")) {
			return true, "/etc/nftables.conf has an input chain with policy drop", nil
		}
		return false, "/etc/nftables.conf has no input chain with policy drop", nil
	case "netfilter-persistent":
		b, err := e.ReadFile("/etc/iptables/rules.v4")
		if err != nil {
			if notExist(err) {
				return false, "/etc/iptables/rules.v4 missing", nil
			}
			return false, "", err
		}
		if strings.Contains(string(b), ":INPUT DROP") {
			return true, "/etc/iptables/rules.v4 has :INPUT DROP", nil
		}
		return false, "/etc/iptables/rules.v4 has no :INPUT DROP", nil
	case "firewalld":
		return true, "firewalld rejects unlisted services in its default zone", nil
	}
	return false, "unknown manager", nil
}

func checkIPForward(ctx context.Context, e *Env) Result {
	if e.Config.Router {
		return pass("router = true is declared in %s", configName(e.Config))
	}
	if e.live() {
		b, err := e.procFile("sys/net/ipv4/ip_forward")
		if err != nil {
			return errorf("%v", err)
		}
		if v := strings.TrimSpace(string(b)); v != "0" {
			return fail("net.ipv4.ip_forward = %s (live)", v)
		}
		return pass("net.ipv4.ip_forward = 0 (live)")
	}
	files := []string{"/etc/sysctl.conf"}
	more, _ := e.Glob("/etc/sysctl.d/*.conf")
	files = append(files, more...)
	val, where := "", ""
	for _, f := range files {
		kv, err := e.readKV(f, "=")
		if err != nil {
			return e.readErr(err)
		}
		for _, k := range []string{"net.ipv4.ip_forward", "net/ipv4/ip_forward"} {
			if v, ok := kv[k]; ok {
				val, where = v, f
			}
		}
	}
	if val != "" && val != "0" {
		return fail("net.ipv4.ip_forward = %s in %s", val, where)
	}
	if val == "" {
		return pass("net.ipv4.ip_forward not set in sysctl files (kernel default 0)")
	}
	return pass("net.ipv4.ip_forward = 0 in %s", where)
}

func checkUfwIPv6(ctx context.Context, e *Env) Result {
	m, err := e.firewallManagers()
	if err != nil {
		return e.readErr(err)
	}
	if !slices.Contains(m, "ufw") {
		return skip("ufw is not enabled")
	}
	kv, err := e.readKV("/etc/default/ufw", "=")
	if err != nil {
		return e.readErr(err)
	}
	if strings.EqualFold(kv["IPV6"], "yes") {
		return pass("/etc/default/ufw IPV6=yes")
	}
	return fail("/etc/default/ufw IPV6=%q", kv["IPV6"])
}
