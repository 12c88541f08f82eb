package audit

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// rampart's baseline policy in the live ruleset (internal/policy): chain
// policy-input of table inet rampart.
const (
	rampartTable         = "rampart"
	rampartBaselineChain = "policy-input"
)

func baselineChecks() []Check {
	return []Check{{
		ID: "firewall.rampart-baseline", Area: AreaFirewall, Severity: Medium,
		Title:       "rampart's baseline (or another firewall) drops inbound traffic by default, and says what it lets in",
		Reads:       "the live ruleset: chain inet rampart policy-input (rampart's [baseline]) and the other input base chains with a drop policy",
		Why:         "The baseline is the layer that keeps every service nobody allowed unreachable; two default-drop firewalls in front of each other make a port open in one still closed, which confuses admins.",
		Remediation: "Set [baseline] enabled = true with allow = [\"22/tcp\", …] in /etc/rampart/rampart.toml, then: rampart firewall plan && rampart firewall apply --confirm 60s && rampart firewall confirm",
		Run:         checkRampartBaseline,
	}}
}

// rampartBaseline returns rampart's baseline chain, if the ruleset has it.
func (rs *ruleset) rampartBaseline() *nftChain {
	for _, c := range rs.Chains {
		if c.Family == "inet" && c.Table == rampartTable && c.Name == rampartBaselineChain && c.Hook == "input" {
			return c
		}
	}
	return nil
}

// openPorts lists the ports a chain's accept rules name ("22/tcp",
// "9100/tcp (some sources)").
func (c *nftChain) openPorts() []string {
	var out []string
	for _, r := range c.Rules {
		if r.Verdict != "accept" {
			continue
		}
		for _, p := range r.DPorts {
			s := fmt.Sprintf("%d/%s", p.Lo, p.Proto)
			if p.Hi != p.Lo {
				s = fmt.Sprintf("%d-%d/%s", p.Lo, p.Hi, p.Proto)
			}
			if r.Matches > 2 {
				s += " (some sources)"
			}
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}

func checkRampartBaseline(ctx context.Context, e *Env) Result {
	rs, r := rulesetResult(ctx, e)
	if r != nil {
		return *r
	}
	var others []string
	for _, c := range rs.droppingChains() {
		if !(c.Family == "inet" && c.Table == rampartTable) {
			others = append(others, c.String())
		}
	}
	b := rs.rampartBaseline()
	switch {
	case b != nil && b.Policy == "drop":
		ports := b.openPorts()
		if len(ports) == 0 {
			ports = []string{"no port"}
		}
		msg := fmt.Sprintf("rampart's baseline drops inbound by default (%d rules) and lets in %s", len(b.Rules), strings.Join(ports, ", "))
		if len(others) > 0 {
			return warn("%s; also dropping by default: %s — a packet must pass both", msg, strings.Join(others, ", ")).
				fix("Keep one default-deny layer: allow the same ports in %s, or disable it and let rampart's baseline decide", strings.Join(others, ", "))
		}
		return pass("%s", msg)
	case len(others) > 0:
		return pass("rampart's baseline is not enforced; inbound is dropped by default by %s", strings.Join(others, ", "))
	case b != nil:
		return fail("chain inet rampart policy-input exists but its policy is %s: nothing is dropped by default", b.Policy)
	}
	return fail("no default-deny input chain: neither rampart's baseline nor another firewall drops inbound traffic")
}

// rampartBaselineAtBoot reports whether rampart.service is enabled and its
// configuration (main file or a drop-in) enables [baseline], which the
// daemon applies at start: rampart is then the boot-time firewall.
func (e *Env) rampartBaselineAtBoot() (string, bool) {
	if e.unitState("rampart.service") != "enabled" {
		return "", false
	}
	files := []string{"/etc/rampart/rampart.toml"}
	more, _ := e.Glob("/etc/rampart/rampart.d/*.toml")
	for _, f := range append(files, more...) {
		b, err := e.ReadFile(f)
		if err != nil {
			continue
		}
		in := false
		for l := range strings.Lines(string(b)) {
			l = strings.TrimSpace(l)
			if strings.HasPrefix(l, "[") {
				in = l == "[baseline]"
				continue
			}
			k, v, ok := strings.Cut(l, "=")
			if in && ok && strings.TrimSpace(k) == "enabled" && strings.HasPrefix(strings.TrimSpace(v), "true") {
				return f, true
			}
		}
	}
	return "", false
}
