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
		{"origin", nil},
		{"finding", nil},
		// The event bus imports nothing internal: every layer may publish.
		{"event", nil},
		{"resolve", nil},
		{"store", []string{"origin", "event"}},
		{"firewall", nil},
		{"logsource", nil},
		// Detection knows neither decisions, the store nor the firewall.
		{"eve", nil},
		{"accesslog", nil},
		{"webattack", []string{"accesslog"}},
		{"detect", []string{"filter", "filter/date", "logsource", "finding", "eve", "accesslog", "webattack"}},
		// The jails' stage knows the store's ban type, not the firewall.
		{"decide", []string{"finding", "jail", "origin", "store", "event"}},
		{"ban", []string{"firewall", "store", "origin", "event"}},
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
	// cmd/rampart may import cli; only daemon wires the pipeline's stages
	// (detect, decide, ban) together.
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
			for _, stage := range []string{"detect", "decide", "ban"} {
				if imp == mod+stage && f[0] != mod+"daemon" {
					t.Errorf("%s imports internal/%s: only internal/daemon wires the pipeline", f[0], stage)
				}
			}
		}
	}
}
