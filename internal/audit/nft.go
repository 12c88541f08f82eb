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

// Ruleset reads the live nftables ruleset of the audit's network namespace
// with `nft -j list ruleset` (shared per run).
func (e *Env) Ruleset(ctx context.Context) (*ruleset, error) {
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
		return parseNftJSON(out)
	})
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
