package audit

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Hostile images under --root: the audit must answer every check with a
// clear status, never crash, hang or read without bound.

func TestHostileRoot(t *testing.T) {
	garbage := make([]byte, 4096)
	for i := range garbage {
		garbage[i] = byte(i*7 + i/13)
	}
	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T, root string)
		// want maps check IDs to the status they must have and a piece of
		// their evidence.
		want map[string][2]string
	}{
		{
			name: "symlink loop",
			prepare: func(t *testing.T, root string) {
				must(t, os.Remove(filepath.Join(root, "etc/ssh/sshd_config")))
				must(t, os.Symlink("sshd_config.loop", filepath.Join(root, "etc/ssh/sshd_config")))
				must(t, os.Symlink("/etc/ssh/sshd_config", filepath.Join(root, "etc/ssh/sshd_config.loop")))
				must(t, os.RemoveAll(filepath.Join(root, "etc/sudoers.d")))
				must(t, os.Symlink("/etc/sudoers.d/x/..", filepath.Join(root, "etc/sudoers.d")))
			},
			want: map[string][2]string{
				"ssh.password-auth":   {"error", "/etc/ssh/sshd_config: too many levels of symbolic links"},
				"ssh.root-login":      {"error", "too many levels of symbolic links"},
				"users.sudo-nopasswd": {"error", "/etc/sudoers.d: too many levels of symbolic links"},
			},
		},
		{
			name: "symlink out of the root",
			prepare: func(t *testing.T, root string) {
				must(t, os.Remove(filepath.Join(root, "etc/passwd")))
				// Absolute and ../ targets stay inside the image.
				must(t, os.Symlink("../../../../../../../../etc/hostname", filepath.Join(root, "etc/passwd")))
				must(t, os.Remove(filepath.Join(root, "etc/group")))
				must(t, os.Symlink("/proc/self/environ", filepath.Join(root, "etc/group")))
			},
			want: map[string][2]string{
				"users.uid0":   {"pass", "only root has UID 0 (0 accounts)"}, // read the image's /etc/hostname
				"users.admins": {"error", "/etc/group: no such file or directory"},
			},
		},
		{
			name: "100 MB files",
			prepare: func(t *testing.T, root string) {
				for _, p := range []string{"etc/ssh/sshd_config", "etc/passwd", "var/lib/dpkg/status"} {
					must(t, os.Truncate(filepath.Join(root, p), 100<<20))
				}
			},
			want: map[string][2]string{
				"ssh.password-auth":            {"error", "/etc/ssh/sshd_config: too large (104857600 bytes"},
				"users.uid0":                   {"error", "/etc/passwd: too large"},
				"updates.unattended-installed": {"error", "/var/lib/dpkg/status: too large"},
			},
		},
		{
			name: "binary garbage in sshd_config",
			prepare: func(t *testing.T, root string) {
				must(t, os.WriteFile(filepath.Join(root, "etc/ssh/sshd_config"), garbage, 0o644))
			},
			want: map[string][2]string{
				"ssh.password-auth": {"error", "/etc/ssh/sshd_config: line 1: binary data, not an sshd configuration"},
				"ssh.weak-macs":     {"error", "binary data"},
			},
		},
		{
			name: "text garbage in sshd_config",
			prepare: func(t *testing.T, root string) {
				must(t, os.WriteFile(filepath.Join(root, "etc/ssh/sshd_config"), []byte("Port 22\n}}{{ ;rm -rf /\n"), 0o644))
			},
			want: map[string][2]string{
				"ssh.password-auth": {"error", `/etc/ssh/sshd_config: line 2: bad keyword "}}{{"`},
			},
		},
		{
			name: "FIFO and directory instead of files",
			prepare: func(t *testing.T, root string) {
				p := filepath.Join(root, "etc/login.defs")
				must(t, os.Remove(p))
				must(t, syscall.Mkfifo(p, 0o644))
				must(t, os.Remove(filepath.Join(root, "etc/shadow")))
				must(t, os.Mkdir(filepath.Join(root, "etc/shadow"), 0o755))
			},
			want: map[string][2]string{
				"users.login-defs":      {"error", "/etc/login.defs: not a regular file"},
				"users.empty-passwords": {"error", "/etc/shadow: not a regular file"},
			},
		},
		{
			name: "unreadable files",
			prepare: func(t *testing.T, root string) {
				for _, p := range []string{"etc/login.defs", "etc/ssh/sshd_config"} {
					must(t, os.Chmod(filepath.Join(root, p), 0))
				}
			},
			want: map[string][2]string{
				"users.login-defs":  {"error", "/etc/login.defs: permission denied"},
				"ssh.password-auth": {"error", "/etc/ssh/sshd_config: permission denied"},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := offlineTree(t, "debian12-stock", stockModes)
			tc.prepare(t, e.Root)
			var fs []Finding
			if tc.name == "unreadable files" && os.Geteuid() == 0 {
				// Root reads anything: audit the tree as nobody instead.
				fs = runAsNobody(t, e.Root)
			} else {
				fs = Run(t.Context(), e, Checks(), Options{Timeout: 5 * time.Second}).Checks
			}
			got := map[string]Finding{}
			for _, f := range fs {
				got[f.ID] = f
				if strings.Contains(f.Evidence, "internal error") || strings.Contains(f.Evidence, "timed out") {
					t.Errorf("%s: %s: %s", f.ID, f.Status, f.Evidence)
				}
				if f.Status == Error && !strings.Contains(f.Evidence, "/") {
					t.Errorf("%s: error without a path: %s", f.ID, f.Evidence)
				}
			}
			if len(got) != len(Checks()) {
				t.Fatalf("%d findings, want %d", len(got), len(Checks()))
			}
			for id, w := range tc.want {
				f := got[id]
				if string(f.Status) != w[0] || !strings.Contains(f.Evidence, w[1]) {
					t.Errorf("%s = %s %q, want %s containing %q", id, f.Status, f.Evidence, w[0], w[1])
				}
			}
		})
	}
}

// runAsNobody re-runs this test binary as nobody (setpriv), auditing root
// offline; the helper prints the findings as JSON.
func runAsNobody(t *testing.T, root string) []Finding {
	t.Helper()
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("setpriv not installed (util-linux)")
	}
	dir, err := os.MkdirTemp("", "rampart-audit-nobody")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	bin := filepath.Join(dir, "audit.test")
	if err := copyFile(os.Args[0], bin, 0o755); err != nil {
		t.Fatal(err)
	}
	must(t, os.Chmod(dir, 0o755))
	// nobody must be able to walk down to the tree.
	for d := root; d != "/" && d != "."; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err == nil && fi.Mode().Perm()&0o001 == 0 {
			must(t, os.Chmod(d, fi.Mode().Perm()|0o005))
		}
	}
	cmd := exec.CommandContext(t.Context(), "setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", bin, "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), "RAMPART_AUDIT_HELPER=offline", "RAMPART_AUDIT_ROOT="+root)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helper as nobody: %v\n%s", err, out)
	}
	var fs []Finding
	if err := json.Unmarshal(out, &fs); err != nil {
		t.Fatalf("helper output: %v\n%s", err, out)
	}
	return fs
}

func copyFile(src, dst string, mode fs.FileMode) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, mode)
}

// TestHelperProcess is not a test: the hostile and system tests run this
// binary as another user or in a network namespace to audit from there.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv("RAMPART_AUDIT_HELPER")
	if mode == "" {
		t.Skip("helper process for other tests")
	}
	var e *Env
	switch mode {
	case "offline":
		e = Offline(os.Getenv("RAMPART_AUDIT_ROOT"), Config{}, fixtureNow)
	case "live":
		e = Live(Config{}, time.Now())
		e.RampartSocket = os.Getenv("RAMPART_AUDIT_SOCKET")
	default:
		t.Fatalf("unknown helper mode %q", mode)
	}
	checks := Checks()
	if only := os.Getenv("RAMPART_AUDIT_ONLY"); only != "" {
		checks = nil
		for _, id := range strings.Split(only, ",") {
			c, ok := Lookup(Checks(), id)
			if !ok {
				t.Fatalf("unknown check %q", id)
			}
			checks = append(checks, c)
		}
	}
	rep := Run(t.Context(), e, checks, Options{})
	b, err := json.Marshal(rep.Checks)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(os.Stdout, "%s\n", b)
	os.Stdout.Sync()
	os.Exit(0)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestLoadConfigHostile(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.toml")
	must(t, os.WriteFile(big, nil, 0o644))
	must(t, os.Truncate(big, 100<<20))
	fifo := filepath.Join(dir, "fifo.toml")
	must(t, syscall.Mkfifo(fifo, 0o644))
	bin := filepath.Join(dir, "bin.toml")
	must(t, os.WriteFile(bin, []byte("owner = \"x\"\n\x00\x01\x02garbage"), 0o644))
	for _, tc := range []struct{ path, want string }{
		{big, "larger than 1048576 bytes"},
		{fifo, "not a regular file"},
		{bin, "line 2"},
		{filepath.Join(dir, "missing.toml"), "no such file"},
	} {
		_, err := LoadConfig(tc.path)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("LoadConfig(%s) = %v, want an error containing %q", filepath.Base(tc.path), err, tc.want)
		}
	}
}
