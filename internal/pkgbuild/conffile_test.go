package pkgbuild

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rampart-ids/rampart/internal/config"
)

// TestConffile loads the packaged /etc/rampart/rampart.toml: commented out,
// it changes nothing (the effective configuration is the built-in one), and
// uncommented it is the built-in configuration again, so every line an
// admin uncomments is valid as it stands.
func TestConffile(t *testing.T) {
	defaults, err := os.ReadFile(filepath.Join("..", "config", "default.toml"))
	if err != nil {
		t.Fatal(err)
	}
	conf := Conffile(defaults)
	opt := config.Options{MissingOK: true}
	got, err := config.LoadBytes("rampart.toml", conf, opt)
	if err != nil {
		t.Fatalf("packaged conffile does not load: %v\n%s", err, conf)
	}
	if diff := cmp.Diff(jsonOf(t, config.Default()), jsonOf(t, got)); diff != "" {
		t.Errorf("packaged conffile changes the configuration (-builtin +conffile):\n%s", diff)
	}
	var body []string
	for _, l := range strings.Split(string(conf), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			t.Errorf("line %q of the conffile is not commented out", l)
		}
		body = append(body, regexp.MustCompile(`^#(\[|[a-z_]+ = )`).ReplaceAllString(l, "$1"))
	}
	un, err := config.LoadBytes("uncommented.toml", []byte(strings.Join(body, "\n")), opt)
	if err != nil {
		t.Fatalf("uncommented conffile does not load: %v", err)
	}
	if diff := cmp.Diff(jsonOf(t, config.Default()), jsonOf(t, un)); diff != "" {
		t.Errorf("uncommented conffile differs from the built-in configuration:\n%s", diff)
	}
	if !strings.Contains(string(conf), "#[jails.sshd]") {
		t.Errorf("conffile lacks the sshd jail:\n%s", conf)
	}
}

// jsonOf is the configuration as `rampart config show --json` prints it.
func jsonOf(t *testing.T, c *config.Config) string {
	t.Helper()
	b, err := c.JSON()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
