package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// ruleset is the part of the live nftables ruleset the firewall checks need.
type ruleset struct {
	Tables int
	Chains []*nftChain
}

type nftChain struct {
	Family, Table, Name string
	Type, Hook, Policy  string // empty for regular (non-base) chains
	Rules               []nftRule
}

type nftRule struct {
	Verdict string // accept, drop, reject, jump, goto, return, queue or ""
	Matches int    // how many match expressions guard the verdict
	Log     bool
	IifLo   bool
	DPorts  []portRange
}

type portRange struct {
	Proto  string
	Lo, Hi int
}

func (c *nftChain) String() string { return c.Family + " " + c.Table + " " + c.Name }

// dropsByDefault reports whether the chain ends in drop: its policy, or an
// unconditional final drop/reject rule.
func (c *nftChain) dropsByDefault() bool {
	if c.Policy == "drop" {
		return true
	}
	if n := len(c.Rules); n > 0 {
		r := c.Rules[n-1]
		return r.Matches == 0 && (r.Verdict == "drop" || r.Verdict == "reject")
	}
	return false
}

// inputChains returns the filter base chains on the input hook that see the
// IP version v (4 or 6).
func (rs *ruleset) inputChains(v int) []*nftChain {
	var out []*nftChain
	for _, c := range rs.Chains {
		if c.Hook != "input" || (c.Type != "" && c.Type != "filter") {
			continue
		}
		switch {
		case c.Family == "inet",
			v == 4 && c.Family == "ip",
			v == 6 && c.Family == "ip6":
			out = append(out, c)
		}
	}
	return out
}

// rules counts all rules.
func (rs *ruleset) rules() int {
	n := 0
	for _, c := range rs.Chains {
		n += len(c.Rules)
	}
	return n
}

// liveRuleset reads the live nftables ruleset of the audit's network namespace
// with `nft -j list ruleset` (shared per run).
func (e *Env) liveRuleset(ctx context.Context) (*ruleset, error) {
	if !e.live() {
		return nil, errNotLive
	}
	return load(ctx, e, "ruleset", func(ctx context.Context) (*ruleset, error) {
		out, err := e.run(ctx, "nft", "-j", "list", "ruleset")
		if err != nil {
			if errors.Is(err, exec.ErrNotFound) {
				return nil, fmt.Errorf("nft not installed: cannot read the live ruleset (apt-get install nftables)")
			}
			if strings.Contains(err.Error(), "Operation not permitted") || strings.Contains(err.Error(), "Permission denied") {
				return nil, fmt.Errorf("nft list ruleset: %w", errNeedRoot)
			}
			return nil, fmt.Errorf("nft list ruleset: %w", err)
		}
		rs, err := parseNftJSON(out)
		if err != nil {
			return nil, err
		}
		e.addLegacy(ctx, rs)
		return rs, nil
	})
}

// addLegacy adds the INPUT chains of iptables-legacy, which nft cannot see.
// It only asks when the kernel already has a legacy filter table in use
// (/proc/net/ip_tables_names), so the audit never loads a module.
func (e *Env) addLegacy(ctx context.Context, rs *ruleset) {
	for _, v := range []struct{ names, cmd, family string }{
		{"net/ip_tables_names", "iptables-legacy", "ip"},
		{"net/ip6_tables_names", "ip6tables-legacy", "ip6"},
	} {
		b, err := e.procFile(v.names)
		if err != nil || !strings.Contains(string(b), "filter") {
			continue
		}
		out, err := e.run(ctx, v.cmd, "-S", "INPUT")
		if err != nil {
			continue
		}
		if c := parseIptablesS(string(out), v.family); c != nil {
			rs.Tables++
			rs.Chains = append(rs.Chains, c)
		}
	}
}

// parseIptablesS reads `iptables -S INPUT` into a chain.
func parseIptablesS(s, family string) *nftChain {
	var c *nftChain
	for _, l := range strings.Split(s, "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) == 3 && f[0] == "-P" && f[1] == "INPUT":
			c = &nftChain{Family: family, Table: "filter (iptables-legacy)", Name: "INPUT", Type: "filter", Hook: "input", Policy: strings.ToLower(f[2])}
		case len(f) >= 2 && f[0] == "-A" && f[1] == "INPUT" && c != nil:
			var r nftRule
			for i := 2; i < len(f); i++ {
				switch f[i] {
				case "-j":
					if i+1 < len(f) {
						switch t := f[i+1]; t {
						case "ACCEPT", "DROP", "REJECT", "RETURN":
							r.Verdict = strings.ToLower(t)
						case "LOG", "NFLOG":
							r.Log = true
						default:
							r.Verdict = "jump"
						}
					}
					i++
				case "-i":
					if i+1 < len(f) && f[i+1] == "lo" {
						r.IifLo = true
					}
					r.Matches++
					i++
				default:
					if strings.HasPrefix(f[i], "-") || strings.HasPrefix(f[i], "!") {
						r.Matches++
					}
				}
			}
			c.Rules = append(c.Rules, r)
		}
	}
	return c
}

// errNeedRoot marks reads the kernel refuses to unprivileged users.
var errNeedRoot = errors.New("needs root")

// parseNftJSON reads `nft -j list ruleset` output.
func parseNftJSON(b []byte) (*ruleset, error) {
	var doc struct {
		Nftables []map[string]json.RawMessage `json:"nftables"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("nft json: %w", err)
	}
	rs := &ruleset{}
	chains := map[string]*nftChain{}
	key := func(f, t, c string) string { return f + "\x00" + t + "\x00" + c }
	for _, obj := range doc.Nftables {
		if _, ok := obj["table"]; ok {
			rs.Tables++
		}
		if raw, ok := obj["chain"]; ok {
			var c struct {
				Family, Table, Name, Type, Hook, Policy string
			}
			if err := json.Unmarshal(raw, &c); err != nil {
				return nil, fmt.Errorf("nft json chain: %w", err)
			}
			ch := &nftChain{Family: c.Family, Table: c.Table, Name: c.Name, Type: c.Type, Hook: c.Hook, Policy: c.Policy}
			chains[key(c.Family, c.Table, c.Name)] = ch
			rs.Chains = append(rs.Chains, ch)
		}
		if raw, ok := obj["rule"]; ok {
			var r struct {
				Family, Table, Chain string
				Expr                 []map[string]json.RawMessage
			}
			if err := json.Unmarshal(raw, &r); err != nil {
				return nil, fmt.Errorf("nft json rule: %w", err)
			}
			ch := chains[key(r.Family, r.Table, r.Chain)]
			if ch == nil {
				continue
			}
			ch.Rules = append(ch.Rules, parseNftRule(r.Expr))
		}
	}
	return rs, nil
}

func parseNftRule(exprs []map[string]json.RawMessage) nftRule {
	var r nftRule
	for _, e := range exprs {
		for k, v := range e {
			switch k {
			case "accept", "drop", "reject", "jump", "goto", "return", "queue":
				r.Verdict = k
			case "log":
				r.Log = true
			case "match":
				r.Matches++
				var m struct {
					Left, Right json.RawMessage
				}
				if json.Unmarshal(v, &m) != nil {
					continue
				}
				var left struct {
					Meta    *struct{ Key string }
					Payload *struct{ Protocol, Field string }
				}
				_ = json.Unmarshal(m.Left, &left)
				if left.Meta != nil && (left.Meta.Key == "iif" || left.Meta.Key == "iifname") && strings.Contains(string(m.Right), `"lo"`) {
					r.IifLo = true
				}
				if left.Payload != nil && left.Payload.Field == "dport" {
					r.DPorts = append(r.DPorts, portsOf(left.Payload.Protocol, m.Right)...)
				}
			case "xt":
				// iptables-nft compatibility expressions: count as a match.
				r.Matches++
			}
		}
	}
	return r
}

// portsOf decodes a dport match's right side: a number, a range or a set.
func portsOf(proto string, raw json.RawMessage) []portRange {
	var n int
	if json.Unmarshal(raw, &n) == nil {
		return []portRange{{proto, n, n}}
	}
	var rg struct{ Range []int }
	if json.Unmarshal(raw, &rg) == nil && len(rg.Range) == 2 {
		return []portRange{{proto, rg.Range[0], rg.Range[1]}}
	}
	var set struct{ Set []json.RawMessage }
	if json.Unmarshal(raw, &set) == nil {
		var out []portRange
		for _, el := range set.Set {
			out = append(out, portsOf(proto, el)...)
		}
		return out
	}
	return nil
}
