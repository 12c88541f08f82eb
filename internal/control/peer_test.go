package control

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// childSocketEnv tells the test binary, re-run as another user, to ping the
// socket it names and print the result.
const childSocketEnv = "RAMPART_CONTROL_CHILD_SOCKET"

// childWriteEnv tells the child to try a reload too.
const childWriteEnv = "RAMPART_CONTROL_CHILD_WRITE"

func TestMain(m *testing.M) {
	if sock := os.Getenv(childSocketEnv); sock != "" {
		c := NewClient(sock)
		_, err := c.Ping(context.Background())
		fmt.Printf("uid=%d err=%v\n", os.Getuid(), err)
		if os.Getenv(childWriteEnv) != "" {
			fmt.Printf("reload err=%v\n", c.Reload(context.Background()))
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestNonRootPeer runs a real client as uid 65534 (through setpriv) against
// a socket served by root: refused by the file mode, and, with the mode
// opened up, refused by the SO_PEERCRED check.
func TestNonRootPeer(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: runs a client as uid 65534 with setpriv (run the tests as root to cover it)")
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("setpriv (util-linux) not installed")
	}
	// A copy of the test binary that uid 65534 can execute.
	dir := shortDir(t)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "control.test")
	copyFile(t, self, bin)

	for _, tt := range []struct {
		name string
		mode os.FileMode
		want string
	}{
		{"socket mode 0600", 0o600, "permission denied on"},
		{"peer credentials", 0o666, "uid 65534 may not use the control socket (run as root)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := NewServer(&fakeAPI{}, nil) // root only, the default
			s.SocketMode = tt.mode
			sock := serve(t, s)
			if err := os.Chmod(filepath.Dir(sock), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(filepath.Dir(filepath.Dir(sock)), 0o755); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", bin, "-test.run=^$")
			cmd.Env = append(os.Environ(), childSocketEnv+"="+sock)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("child: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), "uid=65534 ") || !strings.Contains(string(out), tt.want) {
				t.Errorf("child output %q, want uid 65534 and %q", out, tt.want)
			}
			// Root itself still gets in.
			if _, err := NewClient(sock).Ping(context.Background()); err != nil {
				t.Errorf("root Ping: %v", err)
			}
		})
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestReadGroup: members of the socket's read-only group (as primary or
// supplementary group) may read but not reload; the socket file is theirs
// to open (0660, group-owned); others are refused as before.
func TestReadGroup(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: runs clients as uid 65534 with setpriv (run the tests as root to cover it)")
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("setpriv (util-linux) not installed")
	}
	dir := shortDir(t)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "control.test")
	copyFile(t, self, bin)
	const group = 65534
	s := NewServer(&fakeAPI{}, nil)
	s.ReadGroup = group
	sock := serve(t, s)
	for _, d := range []string{filepath.Dir(sock), filepath.Dir(filepath.Dir(sock))} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o660 {
		t.Errorf("socket mode %v, want 0660", fi.Mode().Perm())
	}
	for _, tt := range []struct {
		name       string
		args       []string
		ping, load string
	}{
		{"primary group", []string{"--reuid=65534", "--regid=65534", "--clear-groups"}, "err=<nil>", "read-only group: POST /v1/reload needs root"},
		{"supplementary group", []string{"--reuid=65534", "--regid=65533", "--groups=65534"}, "err=<nil>", "read-only group: POST /v1/reload needs root"},
		{"not in the group", []string{"--reuid=65534", "--regid=65533", "--clear-groups"}, "permission denied", "permission denied"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(setpriv, append(tt.args, bin, "-test.run=^$")...)
			cmd.Env = append(os.Environ(), childSocketEnv+"="+sock, childWriteEnv+"=1")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("child: %v\n%s", err, out)
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			if len(lines) != 2 || !strings.Contains(lines[0], tt.ping) || !strings.Contains(lines[1], tt.load) {
				t.Errorf("child output %q, want ping %q and reload %q", out, tt.ping, tt.load)
			}
		})
	}
	if err := NewClient(sock).Reload(context.Background()); err != nil {
		t.Errorf("root Reload: %v", err)
	}
}
