package fim

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rampart-ids/rampart/internal/fim/dpkg"
)

// buildDeb builds rfim-demo_VERSION_all.deb with dpkg-deb: an executable
// whose content names the version and a README that does not change.
func buildDeb(t *testing.T, dir, version string) string {
	t.Helper()
	tree := filepath.Join(dir, "pkg-"+version)
	writeFile(t, filepath.Join(tree, "DEBIAN", "control"), fmt.Sprintf(
		"Package: rfim-demo\nVersion: %s\nArchitecture: all\nMaintainer: rampart tests <tests@example.org>\nDescription: rampart fim test package\n", version), 0o644)
	writeFile(t, filepath.Join(tree, "usr", "bin", "rfim-demo"), "#!/bin/sh\necho "+version+"\n", 0o755)
	writeFile(t, filepath.Join(tree, "usr", "share", "doc", "rfim-demo", "README"), "demo\n", 0o644)
	if version == "1.1-1" { // the upgrade brings a new file
		writeFile(t, filepath.Join(tree, "usr", "bin", "rfim-helper"), "#!/bin/sh\n", 0o755)
	}
	deb := filepath.Join(dir, "rfim-demo_"+version+"_all.deb")
	if out, err := exec.Command("dpkg-deb", "--root-owner-group", "-Zgzip", "--build", tree, deb).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb: %v\n%s", err, out)
	}
	return deb
}

// newDpkgRoot makes an empty throwaway root with its own dpkg database.
func newDpkgRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"var/lib/dpkg/info", "var/lib/dpkg/updates", "var/log", "usr/bin"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(root, "var/lib/dpkg/status"), "", 0o644)
	return root
}

// dpkgInstall installs deb into root only: --root points dpkg's instdir and
// admindir there and --log keeps the host's dpkg.log untouched.
func dpkgInstall(t *testing.T, root, deb string) {
	t.Helper()
	cmd := exec.Command("dpkg", "--root="+root, "--log="+filepath.Join(root, "var/log/dpkg.log"),
		"--force-script-chrootless", "--force-not-root", "--no-triggers", "-i", deb)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("dpkg -i %s: %v\n%s", filepath.Base(deb), err, out)
	}
}

func TestPackageUpgradeVersusTampering(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for dpkg's file ownership")
	}
	for _, tool := range []string{"dpkg", "dpkg-deb"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	debs := t.TempDir()
	v1, v2 := buildDeb(t, debs, "1.0-1"), buildDeb(t, debs, "1.1-1")
	newContent, err := os.ReadFile(filepath.Join(debs, "pkg-1.1-1", "usr", "bin", "rfim-demo"))
	if err != nil {
		t.Fatal(err)
	}
	setup := func() (string, Options, *Baseline) {
		root := newDpkgRoot(t)
		dpkgInstall(t, root, v1)
		opts := testOpts(t, root)
		opts.Config.Paths = []string{"/usr"}
		return root, opts, initAndLoad(t, opts)
	}

	t.Run("upgrade", func(t *testing.T) {
		root, opts, b := setup()
		dpkgInstall(t, root, v2)
		// A file dropped in by hand beside the package's.
		writeFile(t, filepath.Join(root, "usr/bin/rfim-dropped"), "#!/bin/sh\n", 0o755)
		rep, err := Check(context.Background(), b, opts)
		if err != nil {
			t.Fatal(err)
		}
		if got := changeSet(rep.Changes); !cmp.Equal(got, []string{"content /usr/bin/rfim-demo", "new /usr/bin/rfim-dropped", "new /usr/bin/rfim-helper"}) {
			t.Fatalf("changes %v, want the content change and the two new files", got)
		}
		want := &PackageNote{Name: "rfim-demo", OldVersion: "1.0-1", NewVersion: "1.1-1", Verdict: VerdictUpgrade}
		if diff := cmp.Diff(want, rep.Changes[0].Package); diff != "" {
			t.Errorf("package note (-want +got):\n%s", diff)
		}
		if p := rep.Changes[1].Package; p != nil {
			t.Errorf("a file no package owns got a package note %+v", p)
		}
		want = &PackageNote{Name: "rfim-demo", NewVersion: "1.1-1", Verdict: VerdictInstall}
		if diff := cmp.Diff(want, rep.Changes[2].Package); diff != "" {
			t.Errorf("new packaged file's note (-want +got):\n%s", diff)
		}
		if rep.Tampering() != 1 {
			t.Errorf("Tampering() = %d, want 1 (the dropped file; the upgrade is explained)", rep.Tampering())
		}
		res := verify(t, root)
		if len(res.Problems) != 0 || res.Files != 3 {
			t.Errorf("verify after a clean upgrade: %d files, problems %+v", res.Files, res.Problems)
		}
	})
	t.Run("same change by hand", func(t *testing.T) {
		root, opts, b := setup()
		writeFile(t, filepath.Join(root, "usr/bin/rfim-demo"), string(newContent), 0o755)
		rep, err := Check(context.Background(), b, opts)
		if err != nil {
			t.Fatal(err)
		}
		if got := changeSet(rep.Changes); !cmp.Equal(got, []string{"content /usr/bin/rfim-demo"}) {
			t.Fatalf("changes %v, want the one content change", got)
		}
		if p := rep.Changes[0].Package; p == nil || p.Verdict != VerdictTampered || p.Name != "rfim-demo" {
			t.Errorf("package note %+v, want tampered", p)
		}
		if rep.Tampering() != 1 {
			t.Errorf("Tampering() = %d, want 1", rep.Tampering())
		}
		res := verify(t, root)
		if len(res.Problems) != 1 || res.Problems[0].Path != "/usr/bin/rfim-demo" || res.Problems[0].Kind != dpkg.ProblemTampered || res.Problems[0].Version != "1.0-1" {
			t.Errorf("verify-packages problems %+v, want /usr/bin/rfim-demo tampered", res.Problems)
		}
	})
	t.Run("verify without a baseline", func(t *testing.T) {
		root := newDpkgRoot(t)
		dpkgInstall(t, root, v1)
		writeFile(t, filepath.Join(root, "usr/share/doc/rfim-demo/README"), "edited\n", 0o644)
		if err := os.Remove(filepath.Join(root, "usr/bin/rfim-demo")); err != nil {
			t.Fatal(err)
		}
		res := verify(t, root)
		var got []string
		for _, p := range res.Problems {
			got = append(got, p.Kind+" "+p.Path)
		}
		if want := []string{"missing /usr/bin/rfim-demo", "tampered /usr/share/doc/rfim-demo/README"}; !cmp.Equal(got, want) {
			t.Errorf("verify: %v, want %v", got, want)
		}
	})
}

func verify(t *testing.T, root string) *dpkg.VerifyResult {
	t.Helper()
	db, err := dpkg.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	res, err := db.Verify(context.Background(), 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestVerifyPackagesCache(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for dpkg's file ownership")
	}
	for _, tool := range []string{"dpkg", "dpkg-deb"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	root := newDpkgRoot(t)
	dpkgInstall(t, root, buildDeb(t, t.TempDir(), "2.0-1"))
	cacheFile := filepath.Join(t.TempDir(), "cache")
	run := func() *dpkg.VerifyResult {
		t.Helper()
		cache, err := LoadPackageCache(cacheFile, root)
		if err != nil {
			t.Fatal(err)
		}
		db, err := dpkg.Open(root)
		if err != nil {
			t.Fatal(err)
		}
		res, err := db.Verify(context.Background(), 2, cache)
		if err != nil {
			t.Fatal(err)
		}
		if err := cache.Save(cacheFile, time.Now()); err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := run(); res.Hashed != 2 || len(res.Problems) != 0 {
		t.Fatalf("first run: %d read, problems %+v; want 2, none", res.Hashed, res.Problems)
	}
	if res := run(); res.Hashed != 0 || len(res.Problems) != 0 {
		t.Fatalf("second run: %d read, problems %+v; want 0 (cached), none", res.Hashed, res.Problems)
	}
	// Same size, mtime put back: ctime still moves, so it is read and caught.
	bin := filepath.Join(root, "usr/bin/rfim-demo")
	fi, _ := os.Stat(bin)
	old, _ := os.ReadFile(bin)
	writeFile(t, bin, strings.Repeat("X", len(old)), 0o755)
	os.Chtimes(bin, fi.ModTime(), fi.ModTime())
	res := run()
	if len(res.Problems) != 1 || res.Problems[0].Kind != dpkg.ProblemTampered {
		t.Fatalf("after a same-size edit: problems %+v, want the tampered file", res.Problems)
	}
	if res := run(); len(res.Problems) != 1 {
		t.Errorf("a tampered file left the cache believing it intact: %+v", res.Problems)
	}
	// A cache changed outside rampart is not used (everything is read).
	data, _ := os.ReadFile(cacheFile)
	data[len(data)/2] ^= 1
	os.WriteFile(cacheFile, data, 0o600)
	if _, err := LoadPackageCache(cacheFile, root); err == nil || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Errorf("tampered cache: %v, want a checksum mismatch", err)
	}
}
