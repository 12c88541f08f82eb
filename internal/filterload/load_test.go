package filterload

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// With a Fail2ban directory, its filter.d wins over a built-in of the same
// name, and a NAME.local alone is a filter; without one, the built-in.
func TestDefinitionLookupOrder(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) {
		t.Helper()
		p := filepath.Join(dir, "filter.d", name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("sshd.conf", "[Definition]\nfailregex = ^mine from <HOST>$\n")
	write("myapp.local", "[Definition]\nfailregex = ^myapp: bad login from <HOST>$\n")

	tests := []struct {
		spec, dir string
		kind      Kind
		regex     string // a failregex that must be there
	}{
		{"sshd", dir, Fail2ban, "^mine from <HOST>$"},
		{"sshd", "", Builtin, ""},
		{"myapp", dir, Fail2ban, "^myapp: bad login from <HOST>$"},
		{"recidive", dir, Builtin, ""},
	}
	for _, tt := range tests {
		def, kind, err := Definition(tt.spec, tt.dir)
		if err != nil {
			t.Errorf("Definition(%q, %q): %v", tt.spec, tt.dir, err)
			continue
		}
		if kind != tt.kind {
			t.Errorf("Definition(%q, %q) kind = %s, want %s", tt.spec, tt.dir, kind, tt.kind)
		}
		var exprs []string
		for _, p := range def.FailRegex {
			exprs = append(exprs, p.Expr)
		}
		if tt.regex != "" && !strings.Contains(strings.Join(exprs, "\n"), tt.regex) {
			t.Errorf("Definition(%q, %q) failregex = %q, want %q among them", tt.spec, tt.dir, exprs, tt.regex)
		}
	}
	if _, _, err := Definition("myapp", ""); err == nil || !strings.Contains(err.Error(), `unknown filter "myapp"`) {
		t.Errorf("Definition(myapp) without a Fail2ban directory: %v, want unknown filter", err)
	}
}
