package control

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestUnitFile checks dist/rampart.service against what the daemon
// promises: Type=notify (Notify), the runtime and state directories of the
// default paths, and CAP_NET_ADMIN; and lets systemd-analyze verify it.
func TestUnitFile(t *testing.T) {
	unit, err := os.ReadFile(filepath.Join("..", "..", "dist", "rampart.service"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Type=notify\n", "StateDirectory=rampart\n", "RuntimeDirectory=rampart\n",
		"CapabilityBoundingSet=CAP_NET_ADMIN ", "Restart=on-failure\n", "ExecStart=/usr/sbin/rampart run\n",
	} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("dist/rampart.service lacks %q", want)
		}
	}
	tool, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed; the unit's syntax is not verified")
	}
	// verify wants the executables to exist; the man pages come with the package.
	path := filepath.Join(t.TempDir(), "rampart.service")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(string(unit), "/usr/sbin/rampart", "/bin/true")), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(tool, "verify", "--man=no", path).CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
