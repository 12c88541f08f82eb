package iptables

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// legacyChain is the chain rampart used before the ban layer had names of
// its own. Its rules matched ipsets named "rampart-JAIL-4" and
// "rampart-JAIL-6".
const legacyChain = "rampart"

// removeLegacy removes the old layout, once, on an upgraded host: the
// chain "rampart" with its jumps and the sets its rules match. It does so
// only when every rule of that chain is one old rampart wrote (a set match
// on a "rampart-" set and a DROP or REJECT, no comment); a chain of that
// name holding anything else is another owner's and stays. The daemon
// re-adds the stored bans to the new sets right after Setup.
func (b *Backend) removeLegacy(ctx context.Context) error {
	var sets []string
	for _, f := range families() {
		out, err := b.run(ctx, "", f.iptables, "-w", "-S", legacyChain)
		if err != nil {
			continue // no such chain
		}
		names, ok := legacySets(out)
		if !ok {
			continue
		}
		b.removeChain(ctx, f, legacyChain)
		sets = append(sets, names...)
	}
	slices.Sort(sets)
	for _, s := range slices.Compact(sets) {
		if _, err := b.run(ctx, "", "ipset", "destroy", s); err != nil {
			return fmt.Errorf("iptables: remove set %s of the old layout: %w", s, err)
		}
	}
	return nil
}

// legacySets returns the sets matched by the rules of `iptables -S
// rampart`, or false when a rule is not one old rampart wrote.
func legacySets(save string) ([]string, bool) {
	var sets []string
	for _, line := range strings.Split(strings.TrimSpace(save), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] == "-N" || f[0] == "-P" {
			continue
		}
		if f[0] != "-A" || f[1] != legacyChain || slices.Contains(f, "comment") {
			return nil, false
		}
		i := slices.Index(f, "--match-set")
		if i < 0 || i+1 >= len(f) || !strings.HasPrefix(f[i+1], "rampart-") || strings.HasPrefix(f[i+1], SetPrefix) {
			return nil, false
		}
		if j := slices.Index(f, "-j"); j < 0 || j+1 >= len(f) || f[j+1] != "DROP" && f[j+1] != "REJECT" {
			return nil, false
		}
		sets = append(sets, f[i+1])
	}
	return sets, true
}
