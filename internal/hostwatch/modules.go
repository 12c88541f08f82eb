package hostwatch

import (
	"context"
	"os"
	"strings"
)

// modulesCollector: loaded kernel modules (/proc/modules). A module loaded
// since the baseline is high: rootkits arrive as modules.
func modulesCollector() Collector {
	return Collector{
		Name: "kernel-modules",
		Doc:  "loaded kernel modules (/proc/modules)",
		Collect: func(_ context.Context, env Env) ([]Item, error) {
			data, err := os.ReadFile(env.path("/proc/modules"))
			if err != nil {
				if os.IsNotExist(err) {
					return nil, nil // no loadable modules (a kernel without them, a fixture without it)
				}
				return nil, err
			}
			var out []Item
			for _, l := range strings.Split(string(data), "\n") {
				f := strings.Fields(l)
				if len(f) == 0 {
					continue
				}
				v := ""
				if len(f) >= 7 {
					v = "taint " + strings.Trim(f[6], "()")
				}
				out = append(out, Item{Key: f[0], Value: v})
			}
			return out, nil
		},
		Severity: func(c Change) string {
			if c.Kind == Removed {
				return "info"
			}
			return "high"
		},
	}
}
