package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/rampart-ids/rampart/internal/"

// internalDeps lists the internal packages pkg depends on (transitively).
func internalDeps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", mod+pkg).Output()
	if err != nil {
		t.Skipf("go list unavailable: %v", err)
	}
	var deps []string
	for _, l := range strings.Fields(string(out)) {
		if strings.HasPrefix(l, mod) && l != mod+pkg {
			deps = append(deps, strings.TrimPrefix(l, mod))
		}
	}
	return deps
}

func TestDependencyDirection(t *testing.T) {
	rules := []struct {
		pkg     string
		allowed []string // internal packages it may depend on
	}{
		{"filter", []string{"filter/date"}},
		{"filter/date", nil},
		{"jail", nil},
		{"store", nil},
		{"firewall", nil},
		{"ban", []string{"firewall", "store"}},
		{"logsource", nil},
	}
	for _, r := range rules {
		for _, d := range internalDeps(t, r.pkg) {
			ok := false
			for _, a := range r.allowed {
				if d == a {
					ok = true
				}
			}
			if !ok {
				t.Errorf("internal/%s depends on internal/%s; allowed: %v", r.pkg, d, r.allowed)
			}
		}
	}
	// Nothing but cmd/rampart and cli may import daemon; nothing but
	// cmd/rampart may import cli.
	users, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "github.com/rampart-ids/rampart/...").Output()
	if err != nil {
		t.Skipf("go list unavailable: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(users)), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		for _, imp := range f[1:] {
			if imp == mod+"cli" && f[0] != "github.com/rampart-ids/rampart/cmd/rampart" {
				t.Errorf("%s imports internal/cli", f[0])
			}
			if imp == mod+"daemon" && f[0] != mod+"cli" {
				t.Errorf("%s imports internal/daemon", f[0])
			}
		}
	}
}
