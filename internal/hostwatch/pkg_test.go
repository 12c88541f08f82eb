package hostwatch

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSUIDFromAPackage: a SUID binary a real dpkg installs (from a .deb
// built here) is a package install, info; the same file changed by hand is
// tampering, critical; a SUID file no package ships stays critical.
func TestSUIDFromAPackage(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: needs root for dpkg's file ownership")
	}
	for _, tool := range []string{"dpkg", "dpkg-deb"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("skipping: %s is not installed (package dpkg)", tool)
		}
	}
	debs := t.TempDir()
	write(t, debs, "tree/DEBIAN/control", "Package: rhost-suid\nVersion: 1.0-1\nArchitecture: all\nMaintainer: rampart tests <tests@example.org>\nDescription: rampart host test package\n", 0o644)
	write(t, debs, "tree/usr/bin/rhost-su", "#!/bin/sh\necho su\n", 0o755|os.ModeSetuid)
	deb := filepath.Join(debs, "rhost-suid_1.0-1_all.deb")
	if out, err := exec.Command("dpkg-deb", "--root-owner-group", "-Zgzip", "--build", filepath.Join(debs, "tree"), deb).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb: %v\n%s", err, out)
	}
	root := t.TempDir()
	for _, d := range []string{"var/lib/dpkg/info", "var/lib/dpkg/updates", "var/log", "usr/bin"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	write(t, root, "var/lib/dpkg/status", "", 0o644)
	env := Env{Root: root, SUIDPaths: []string{"/usr"}}
	cs := []Collector{suidCollector()}
	ctx := context.Background()
	b, _, err := Accept(ctx, env, cs, nil, "test", time.Now().Add(-time.Second))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("dpkg", "--root="+root, "--log="+filepath.Join(root, "var/log/dpkg.log"),
		"--force-script-chrootless", "--force-not-root", "--no-triggers", "-i", deb)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("dpkg -i: %v\n%s", err, out)
	}
	write(t, root, "usr/local/bin/backdoor", "x", 0o755|os.ModeSetuid)
	check := func() map[string]Change {
		t.Helper()
		rep, err := Check(ctx, env, cs, b)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]Change{}
		for _, c := range rep.Changes {
			m[c.Key] = c
		}
		return m
	}
	m := check()
	if c := m["/usr/bin/rhost-su"]; c.Severity != "info" || !strings.HasPrefix(c.Note, "package install: rhost-suid <none> → 1.0-1") {
		t.Errorf("installed by dpkg: %+v", c)
	}
	if c := m["/usr/local/bin/backdoor"]; c.Severity != "critical" || c.Note != "" || len(m) != 2 {
		t.Errorf("by hand: %+v (all: %v)", c, m)
	}
	write(t, root, "usr/bin/rhost-su", "#!/bin/sh\nexec /bin/sh -p\n", 0o755|os.ModeSetuid)
	if c := check()["/usr/bin/rhost-su"]; c.Severity != "critical" || !strings.Contains(c.Note, "tampered") {
		t.Errorf("changed by hand after the install: %+v", c)
	}
}
