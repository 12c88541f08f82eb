package policy

import (
	"fmt"
	"io"
	"slices"
)

// Plan is the difference between the kernel's baseline and a wanted one.
type Plan struct {
	// Kernel and Want are "none" (no baseline) or "drop".
	Kernel  string   `json:"kernel"`
	Want    string   `json:"want"`
	Add     []string `json:"add"`
	Remove  []string `json:"remove"`
	Keep    int      `json:"unchanged"`
	Foreign int      `json:"foreign_rules"`
	// Neighbours are other firewalls and forwarding tools (coexist.go).
	Neighbours []string `json:"neighbours"`
	// Pending is the deadline of an unconfirmed change, if any.
	Pending string `json:"pending,omitempty"`
}

func state(enabled bool) string {
	if enabled {
		return "drop"
	}
	return "none"
}

// Diff compares what the kernel has with p.
func Diff(cur *Active, p *Policy) Plan {
	pl := Plan{Kernel: state(cur.Present && cur.Drop), Want: state(p.Enabled), Add: []string{}, Remove: []string{}, Foreign: cur.Foreign, Neighbours: []string{}}
	have := cur.Policy().Strings()
	want := p.Strings()
	for _, s := range have {
		if i := slices.Index(want, s); i >= 0 {
			want = slices.Delete(want, i, i+1)
			pl.Keep++
		} else {
			pl.Remove = append(pl.Remove, s)
		}
	}
	pl.Add = append(pl.Add, want...)
	if !p.Enabled {
		pl.Add, pl.Keep = []string{}, 0
		pl.Remove = have
	}
	return pl
}

// Empty reports whether applying changes nothing.
func (pl Plan) Empty() bool {
	return pl.Kernel == pl.Want && len(pl.Add) == 0 && len(pl.Remove) == 0
}

// WriteText writes the plan for people.
func (pl Plan) WriteText(w io.Writer) {
	fmt.Fprintf(w, "chain inet %s %s: default %s -> %s\n", TableName, ChainName, policyWord(pl.Kernel), policyWord(pl.Want))
	for _, s := range pl.Remove {
		fmt.Fprintf(w, "- %s\n", s)
	}
	for _, s := range pl.Add {
		fmt.Fprintf(w, "+ %s\n", s)
	}
	switch {
	case pl.Empty():
		fmt.Fprintf(w, "no change (%d rules)\n", pl.Keep)
	default:
		fmt.Fprintf(w, "%d to add, %d to remove, %d unchanged\n", len(pl.Add), len(pl.Remove), pl.Keep)
	}
	if pl.Foreign > 0 {
		fmt.Fprintf(w, "note: %d rule(s) in %s were not made by rampart; they stay\n", pl.Foreign, ChainName)
	}
	if pl.Pending != "" {
		fmt.Fprintf(w, "note: an unconfirmed change rolls back at %s unless 'rampart firewall confirm' runs\n", pl.Pending)
	}
	for _, n := range pl.Neighbours {
		fmt.Fprintf(w, "warning: %s\n", n)
	}
}

func policyWord(s string) string {
	if s == "drop" {
		return "drop (baseline enforced)"
	}
	return "accept (no baseline)"
}
