package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// genTree writes n files in a realistic shape under root+"/data": nested
// directories of ~100 files, sizes mostly small with a few large ones,
// executables, symlinks. Deterministic.
func genTree(t testing.TB, root string, n int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 256<<10)
	for i := range buf {
		buf[i] = byte(rng.Uint32())
	}
	for i := 0; i < n; i++ {
		dir := filepath.Join(root, "data", fmt.Sprintf("d%02d", i/1000), fmt.Sprintf("s%02d", (i/100)%10))
		if i%100 == 0 {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		name := filepath.Join(dir, fmt.Sprintf("f%05d", i))
		if i%50 == 7 {
			if err := os.Symlink(fmt.Sprintf("f%05d", i-1), name); err != nil {
				t.Fatal(err)
			}
			continue
		}
		size := rng.IntN(4096)
		if i%100 == 3 {
			size = 64<<10 + rng.IntN(192<<10)
		}
		off := rng.IntN(len(buf) - size)
		mode := os.FileMode(0o644)
		if i%10 == 1 {
			mode = 0o755
		}
		if err := os.WriteFile(name, buf[off:off+size], mode); err != nil {
			t.Fatal(err)
		}
	}
}

type fimLine struct {
	Path    string `json:"path"`
	PathB64 string `json:"path_b64"`
	Kind    string `json:"kind"`
	Old     string `json:"old"`
	New     string `json:"new"`
	Package *struct {
		Name, Verdict string
		OldVersion    string `json:"old_version"`
		NewVersion    string `json:"new_version"`
	} `json:"package"`
}

// parseFimJSON parses check --json output: one valid JSON object per line.
func parseFimJSON(t *testing.T, out string) []fimLine {
	t.Helper()
	var lines []fimLine
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var l fimLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %q is not JSON: %v", sc.Text(), err)
		}
		lines = append(lines, l)
	}
	return lines
}

func kinds(lines []fimLine) []string {
	var out []string
	for _, l := range lines {
		out = append(out, l.Kind+" "+l.Path)
	}
	sort.Strings(out)
	return out
}

func TestFimCheckNamesExactlyTheChanges(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: chown and setcap")
	}
	setcap, err := exec.LookPath("setcap")
	if err != nil {
		t.Skip("setcap not installed (libcap2-bin; scripts/deps.sh installs it)")
	}
	root := t.TempDir()
	genTree(t, root, 20000)
	db := filepath.Join(t.TempDir(), "state", "fim.baseline")
	base := []string{"--root", root, "--path", "/data", "--baseline", db}
	fim := func(args ...string) (int, string, string) {
		return runCLI(t, append(append([]string{"fim"}, args...), base...)...)
	}
	if code, out, errs := fim("init", "--json"); code != 0 {
		t.Fatalf("init: exit %d\n%s%s", code, out, errs)
	} else if !strings.Contains(out, `"files":20`) {
		t.Errorf("init summary %s: want ~20000 files", out)
	}
	fi, err := os.Stat(db)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("baseline mode %v, want 0600", fi.Mode())
	}
	if code, out, errs := fim("check", "--json"); code != 0 || out != "" {
		t.Fatalf("check of an unchanged tree: exit %d, output %q %s", code, out, errs)
	}

	p := func(rel string) string { return filepath.Join(root, "data", rel) }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(p("d03/s04/f03400"), []byte("changed content\n"), 0o644))
	must(os.Chmod(p("d05/s01/f05101"), os.ModeSetuid|0o755))
	must(os.Chown(p("d07/s07/f07700"), 65534, 0))
	must(os.WriteFile(p("d01/s01/new-file"), []byte("new\n"), 0o644))
	must(os.Remove(p("d02/s02/f02222")))
	must(os.Mkdir(p("d09/.hidden"), 0o700))
	must(os.WriteFile(p("d09/.hidden/payload"), []byte("#!/bin/sh\n"), 0o755))
	if out, err := exec.Command(setcap, "cap_net_raw+ep", p("d11/s01/f11101")).CombinedOutput(); err != nil {
		t.Fatalf("setcap: %v: %s", err, out)
	}
	code, out, errs := fim("check", "--json")
	if code != 1 {
		t.Fatalf("check: exit %d, want 1\n%s%s", code, out, errs)
	}
	got := parseFimJSON(t, out)
	want := []string{
		"capability /data/d11/s01/f11101",
		"content /data/d03/s04/f03400",
		"new /data/d01/s01/new-file",
		"new /data/d09/.hidden",
		"new /data/d09/.hidden/payload",
		"owner /data/d07/s07/f07700",
		"removed /data/d02/s02/f02222",
		"suid-added /data/d05/s01/f05101",
	}
	if g := kinds(got); strings.Join(g, "\n") != strings.Join(want, "\n") {
		t.Errorf("check --json named\n%s\nwant\n%s", strings.Join(g, "\n"), strings.Join(want, "\n"))
	}
	for _, l := range got {
		switch l.Kind {
		case "capability":
			if l.Old != "" || l.New != "cap_net_raw=ep" {
				t.Errorf("capability %q -> %q, want \"\" -> cap_net_raw=ep", l.Old, l.New)
			}
		case "suid-added":
			if l.Old != "0755" || l.New != "4755" {
				t.Errorf("suid %s -> %s, want 0755 -> 4755", l.Old, l.New)
			}
		case "owner":
			if l.Old != "0" || l.New != "65534" {
				t.Errorf("owner %s -> %s, want 0 -> 65534", l.Old, l.New)
			}
		case "content":
			if !strings.HasPrefix(l.Old, "sha256:") || !strings.HasPrefix(l.New, "sha256:") || l.Old == l.New {
				t.Errorf("content %s -> %s", l.Old, l.New)
			}
		}
	}

	// Accept one path: only the others remain.
	if code, out, errs := fim("accept", "/data/d09"); code != 0 {
		t.Fatalf("accept: exit %d\n%s%s", code, out, errs)
	}
	_, out, _ = fim("check", "--json")
	if g := kinds(parseFimJSON(t, out)); len(g) != len(want)-2 || strings.Contains(strings.Join(g, " "), ".hidden") {
		t.Errorf("after accept /data/d09: %v", g)
	}
	t.Setenv("SUDO_USER", "alice")
	if code, out, errs := fim("accept"); code != 0 {
		t.Fatalf("accept: exit %d\n%s%s", code, out, errs)
	}
	if code, out, errs := fim("check"); code != 0 {
		t.Fatalf("check after accepting everything: exit %d\n%s%s", code, out, errs)
	} else if !strings.Contains(out, "by alice (via sudo, uid 0)") {
		t.Errorf("check summary does not name who accepted: %s", out)
	}
}

func TestFimUsage(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.toml")
	if err := os.WriteFile(bad, []byte("[fim]\npaths = [\"/etc\"]\nexclud = [\"x\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rel := filepath.Join(dir, "rel.toml")
	if err := os.WriteFile(rel, []byte("[fim]\npaths = [\"etc\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		args     []string
		contains string
	}{
		{"unknown key", []string{"fim", "check", "--config", bad}, `fim.exclud: unknown key (did you mean "exclude"?)`},
		{"relative path", []string{"fim", "init", "--config", rel, "--baseline", filepath.Join(dir, "b")}, `fim.paths: "etc" must be an absolute path (write /etc)`},
		{"no baseline", []string{"fim", "check", "--baseline", filepath.Join(dir, "none")}, "run 'rampart fim init' first"},
		{"missing root", []string{"fim", "init", "--root", filepath.Join(dir, "none"), "--baseline", filepath.Join(dir, "b")}, "--root"},
		{"bad flag", []string{"fim", "check", "--nope"}, "unknown flag"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCLI(t, tc.args...)
			if code != 2 {
				t.Fatalf("exit %d, want 2\n%s%s", code, out, errs)
			}
			if !strings.Contains(errs, tc.contains) {
				t.Errorf("stderr %q does not contain %q", errs, tc.contains)
			}
		})
	}
}

func TestFimRefusesTamperedBaseline(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "data", "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), "b")
	args := []string{"--root", root, "--path", "/data", "--baseline", db}
	if code, out, errs := runCLI(t, append([]string{"fim", "init"}, args...)...); code != 0 {
		t.Fatalf("init: %d %s %s", code, out, errs)
	}
	data, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(db, data[:len(data)-1], 0o600); err != nil {
		t.Fatal(err)
	}
	for _, verb := range []string{"check", "accept"} {
		code, out, errs := runCLI(t, append([]string{"fim", verb}, args...)...)
		if code != 2 || out != "" || !strings.Contains(errs, "checksum mismatch") || !strings.Contains(errs, db) {
			t.Errorf("%s with a truncated baseline: exit %d, stdout %q, stderr %q; want 2 and a checksum mismatch naming the file", verb, code, out, errs)
		}
	}
	// Another root's baseline is refused too.
	if err := os.WriteFile(db, data, 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errs := runCLI(t, "fim", "check", "--root", t.TempDir(), "--path", "/data", "--baseline", db)
	if code != 2 || !strings.Contains(errs, "was taken of root "+root) {
		t.Errorf("check of another root: exit %d, %s", code, errs)
	}
}

func TestFimVerifyPackages(t *testing.T) {
	root := t.TempDir()
	write := func(rel, content string) {
		t.Helper()
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A database as dpkg writes it: md5("hello\n") and md5("bye\n").
	write("var/lib/dpkg/status", "Package: demo\nStatus: install ok installed\nArchitecture: all\nVersion: 1.0-1\n\n")
	write("var/lib/dpkg/info/demo.md5sums", "b1946ac92492d2347c6235b4d2611184  usr/bin/demo\n91fc14ad02afd60985bb8165bda320a6  usr/share/demo/README\n")
	write("usr/bin/demo", "hello\n")
	write("usr/share/demo/README", "bye\n")
	code, out, errs := runCLI(t, "fim", "verify-packages", "--root", root, "--json")
	if code != 0 || out != "" {
		t.Fatalf("intact files: exit %d, %q %s", code, out, errs)
	}
	write("usr/bin/demo", "hello, edited\n")
	code, out, errs = runCLI(t, "fim", "verify-packages", "--root", root, "--json")
	if code != 1 {
		t.Fatalf("edited file: exit %d, want 1\n%s%s", code, out, errs)
	}
	var p struct{ Path, Package, Version, Kind string }
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &p); err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
	if p.Path != "/usr/bin/demo" || p.Package != "demo" || p.Version != "1.0-1" || p.Kind != "tampered" {
		t.Errorf("problem %+v, want /usr/bin/demo of demo 1.0-1 tampered", p)
	}
	write("var/lib/dpkg/info/demo.md5sums", "not a sum\n")
	if code, _, errs := runCLI(t, "fim", "verify-packages", "--root", root); code != 2 || !strings.Contains(errs, "demo.md5sums: line 1") {
		t.Errorf("broken md5sums: exit %d, %s", code, errs)
	}
}
