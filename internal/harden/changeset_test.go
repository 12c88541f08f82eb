package harden

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestApplyUndoRestoresByteForByte(t *testing.T) {
	root, state := t.TempDir(), t.TempDir()
	main := filepath.Join(root, "etc/ssh/sshd_config")
	os.MkdirAll(filepath.Dir(main), 0o755)
	orig := []byte("PermitRootLogin yes\nPasswordAuthentication yes\n")
	if err := os.WriteFile(main, orig, 0o640); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"/etc/ssh/sshd_config":                   []byte("Include /etc/ssh/sshd_config.d/*.conf\n"),
		"/etc/ssh/sshd_config.d/50-rampart.conf": []byte("PermitRootLogin no\n"),
	}
	cs, err := Apply(state, root, []string{"ssh"}, files, 0o644, time.Unix(1, 0))
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range files {
		if got, _ := os.ReadFile(filepath.Join(root, p)); !bytes.Equal(got, want) {
			t.Fatalf("%s = %q, want %q", p, got, want)
		}
	}
	if st, _ := os.Stat(main); st.Mode().Perm() != 0o640 {
		t.Fatalf("mode of replaced file changed to %v", st.Mode().Perm())
	}
	loaded, err := Load(state, "")
	if err != nil || loaded.ID != cs.ID {
		t.Fatalf("Load newest = %v, %v; want %s", loaded, err, cs.ID)
	}
	if err := Undo(state, loaded, false); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(main); !bytes.Equal(got, orig) {
		t.Fatalf("undo: %q, want %q", got, orig)
	}
	if _, err := os.Stat(filepath.Join(root, "etc/ssh/sshd_config.d/50-rampart.conf")); !os.IsNotExist(err) {
		t.Fatalf("drop-in created by harden still there after undo: %v", err)
	}
	if _, err := Load(state, cs.ID); err == nil {
		t.Fatal("record kept after a successful undo")
	}
}

func TestUndoRefusesDriftUnlessForced(t *testing.T) {
	root, state := t.TempDir(), t.TempDir()
	p := "/etc/journald.conf.d/50-rampart.conf"
	cs, err := Apply(state, root, []string{"journald"}, map[string][]byte{p: []byte("[Journal]\nStorage=persistent\n")}, 0o644, time.Unix(2, 0))
	if err != nil {
		t.Fatal(err)
	}
	admin := []byte("[Journal]\nStorage=volatile\n")
	os.WriteFile(filepath.Join(root, p), admin, 0o644)
	var drift *DriftError
	if err := Undo(state, cs, false); !errors.As(err, &drift) || len(drift.Paths) != 1 || drift.Paths[0] != p {
		t.Fatalf("Undo with admin edit = %v, want DriftError for %s", err, p)
	}
	if got, _ := os.ReadFile(filepath.Join(root, p)); !bytes.Equal(got, admin) {
		t.Fatal("refused undo still touched the admin's file")
	}
	if err := Undo(state, cs, true); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, p)); !os.IsNotExist(err) {
		t.Fatalf("forced undo left the file: %v", err)
	}
}

func TestLoadRejectsPathID(t *testing.T) {
	if _, err := Load(t.TempDir(), "../x"); err == nil {
		t.Fatal("id with a slash accepted")
	}
}

func TestRecordsAreRootOnly(t *testing.T) {
	state := t.TempDir()
	cs, err := Apply(state, t.TempDir(), []string{"users"}, map[string][]byte{"/etc/shadow": []byte("root:!:1::::::\n")}, 0o640, time.Unix(3, 0))
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{filepath.Join(state, "harden"): 0o700, recordPath(state, cs.ID): 0o600} {
		if st, err := os.Stat(p); err != nil || st.Mode().Perm() != want {
			t.Errorf("%s: %v %v, want %v", p, st.Mode().Perm(), err, want)
		}
	}
}

// A file already back in its previous state (a rolled-back port move put it
// back) is not drift: undo goes through without --force.
func TestUndoAcceptsFilesAlreadyRestored(t *testing.T) {
	root, state := t.TempDir(), t.TempDir()
	p := filepath.Join(root, "etc/ssh/sshd_config")
	os.MkdirAll(filepath.Dir(p), 0o755)
	os.WriteFile(p, []byte("Port 22\n"), 0o644)
	cs, err := Apply(state, root, []string{"ssh"}, map[string][]byte{"/etc/ssh/sshd_config": []byte("Port 2222\n")}, 0o644, time.Unix(4, 0))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(p, []byte("Port 22\n"), 0o644)
	if err := Undo(state, cs, false); err != nil {
		t.Fatalf("undo of a file already restored: %v", err)
	}
}
