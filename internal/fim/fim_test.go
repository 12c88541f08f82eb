package fim

import (
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// testOpts returns options for a tree at root holding /data, with the
// baseline in a temporary directory.
func testOpts(t *testing.T, root string) Options {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Paths = []string{"/data"}
	cfg.Baseline = filepath.Join(t.TempDir(), "fim.baseline")
	return Options{Root: root, Config: cfg, By: "test", Warn: func(p string, err error) { t.Logf("warn %q: %v", p, err) }}
}

func writeFile(t *testing.T, name, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

func initAndLoad(t *testing.T, opts Options) *Baseline {
	t.Helper()
	if _, err := Init(context.Background(), opts); err != nil {
		t.Fatalf("Init: %v", err)
	}
	b, err := Load(opts.Config.Baseline)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return b
}

func changeSet(cs []Change) []string {
	var out []string
	for _, c := range cs {
		out = append(out, string(c.Kind)+" "+c.Path)
	}
	return out
}

func TestEntryRoundTrip(t *testing.T) {
	entries := []Entry{
		{Path: "/", Type: TypeDir, Mode: 0o755},
		{Path: "/a b\nc", Type: TypeRegular, Mode: 0o4755, UID: 1 << 31, GID: 7, Size: 1 << 40, Mtime: -5, Ctime: 1e18, Ino: 1<<64 - 1,
			Xattrs: []Xattr{{"security.capability", []byte{1, 0, 0, 2}}, {"user.x", nil}}, Hash: sha256.Sum256([]byte("x")), HasHash: true},
		{Path: "/l\xff", Type: TypeSymlink, Mode: 0o777, Link: "../../etc/passwd"},
	}
	var set recordSet
	for i := len(entries) - 1; i >= 0; i-- {
		set.add(&entries[i])
	}
	data, err := encode(Meta{Root: "/", Paths: []string{"/"}}, set.sorted())
	if err != nil {
		t.Fatal(err)
	}
	b, err := Decode(data)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if b.Len() != len(entries) {
		t.Fatalf("Len = %d, want %d", b.Len(), len(entries))
	}
	for i, want := range entries {
		got := b.Entry(b.Find(want.Path))
		if want.Xattrs != nil && want.Xattrs[1].Value == nil {
			want.Xattrs[1].Value = []byte{}
		}
		if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b []byte) bool { return string(a) == string(b) })); diff != "" {
			t.Errorf("entry %d (-want +got):\n%s", i, diff)
		}
	}
	if b.Find("/nope") != -1 {
		t.Errorf("Find(/nope) found something")
	}
}

func TestDiff(t *testing.T) {
	base := Entry{Path: "/f", Type: TypeRegular, Mode: 0o755, Hash: sha256.Sum256([]byte("a")), HasHash: true}
	caps := []byte{1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0} // cap_net_raw=ep
	for _, tc := range []struct {
		name string
		mod  func(e *Entry)
		want []string // kind old new
	}{
		{"same", func(e *Entry) {}, nil},
		{"suid", func(e *Entry) { e.Mode = 0o4755 }, []string{"suid-added 0755 4755"}},
		{"sgid and mode", func(e *Entry) { e.Mode = 0o2777 }, []string{"sgid-added 0755 2777", "mode 0755 2777"}},
		{"suid removed is a mode change", func(e *Entry) { e.Mode = 0o755; base.Mode = 0o4755 }, []string{"mode 4755 0755"}},
		{"owner and group", func(e *Entry) { e.UID, e.GID = 1000, 1000 }, []string{"owner 0 1000", "group 0 1000"}},
		{"type", func(e *Entry) { e.Type = TypeSymlink; e.HasHash = false }, []string{"type file symlink"}},
		{"capability", func(e *Entry) { e.Xattrs = []Xattr{{capabilityXattr, caps}} }, []string{"capability  cap_net_raw=ep"}},
		{"xattr", func(e *Entry) { e.Xattrs = []Xattr{{"user.a", []byte("v")}} }, []string{`xattr  "v"`}},
		{"content", func(e *Entry) { e.Hash = sha256.Sum256([]byte("b")) }, []string{"content " + base.HashString() + " sha256:" + "3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d"}},
		{"no hash: no content verdict", func(e *Entry) { e.HasHash = false }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			saved := base
			defer func() { base = saved }()
			n := base
			tc.mod(&n)
			var got []string
			for _, c := range diff(nil, &base, &n) {
				got = append(got, strings.Join([]string{string(c.Kind), c.Old, c.New}, " "))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("diff (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFormatCaps(t *testing.T) {
	for _, tc := range []struct {
		v    []byte
		want string
	}{
		{nil, ""},
		{[]byte{1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, "cap_net_raw=ep"},
		{[]byte{0, 0, 0, 2, 0x02, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, "cap_dac_override,cap_net_bind_service=p"},
		{[]byte{1, 2, 3}, "hex:010203"},
	} {
		if got := formatCaps(tc.v); got != tc.want {
			t.Errorf("formatCaps(%x) = %q, want %q", tc.v, got, tc.want)
		}
	}
}

func TestCheckFastPathAndFull(t *testing.T) {
	root := t.TempDir()
	for i := range 50 {
		writeFile(t, filepath.Join(root, "data", "d", string(rune('a'+i%26))+strings.Repeat("x", i)), strings.Repeat("y", i*10), 0o644)
	}
	victim := filepath.Join(root, "data", "d", "a")
	opts := testOpts(t, root)
	b := initAndLoad(t, opts)
	rep, err := Check(context.Background(), b, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Changes) != 0 || rep.Hashed != 0 || rep.Files != 52 {
		t.Fatalf("unchanged tree: %d changes, %d files read, %d files; want 0, 0, 52", len(rep.Changes), rep.Hashed, rep.Files)
	}
	// Same size, mtime set back: ctime still gives it away.
	fi, _ := os.Stat(victim)
	writeFile(t, victim, "z", 0o644)
	if err := os.Chtimes(victim, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	rep, err = Check(context.Background(), b, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := changeSet(rep.Changes); !cmp.Equal(got, []string{"content /data/d/a"}) || rep.Hashed != 1 {
		t.Errorf("after a same-size edit with mtime restored: %v, %d read; want the content change, 1 read", got, rep.Hashed)
	}
	opts.Full = true
	rep, err = Check(context.Background(), b, opts)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Hashed != 50 || len(rep.Changes) != 1 {
		t.Errorf("--full: %d read, %d changes; want 50, 1", rep.Hashed, len(rep.Changes))
	}
}

func TestBaselineRefusedWhenTruncatedOrTampered(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "data", "f"), "x", 0o644)
	opts := testOpts(t, root)
	initAndLoad(t, opts)
	good, err := os.ReadFile(opts.Config.Baseline)
	if err != nil {
		t.Fatal(err)
	}
	flip := append([]byte(nil), good...)
	flip[len(flip)/2] ^= 1
	for _, tc := range []struct {
		name string
		data []byte
		mode os.FileMode
		want string
	}{
		{"truncated", good[:len(good)-10], 0o600, "checksum mismatch: the file was truncated or changed outside rampart"},
		{"cut to the header", good[:5], 0o600, "not a rampart baseline"},
		{"empty", nil, 0o600, "not a rampart baseline"},
		{"one bit flipped", flip, 0o600, "checksum mismatch"},
		{"writable by others", good, 0o666, "lets other users write it"},
		{"other format version", append(append([]byte("RPFIM\x00\x00\x09"), good[8:len(good)-32]...), good[len(good)-32:]...), 0o600, "format version 9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := filepath.Join(t.TempDir(), "b")
			if err := os.WriteFile(name, tc.data, tc.mode); err != nil {
				t.Fatal(err)
			}
			os.Chmod(name, tc.mode)
			_, err := Load(name)
			if !errors.Is(err, ErrBadBaseline) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), name) {
				t.Errorf("Load = %v, want ErrBadBaseline naming the file and saying %q", err, tc.want)
			}
		})
	}
}

func TestInScopeAndExclude(t *testing.T) {
	c := DefaultConfig()
	for _, tc := range []struct {
		p    string
		want bool
	}{
		{"/etc", true}, {"/etc/passwd", true}, {"/etcx", false}, {"/etc/mtab", false},
		{"/etc/x/.y.swp", false}, {"/home/bob/.ssh/authorized_keys", true}, {"/home/bob/.bashrc", false},
		{"/usr/lib/systemd/system/x.service", true}, {"/usr/lib/x", false},
	} {
		if got := inScope(c, tc.p); got != tc.want {
			t.Errorf("inScope(%q) = %v, want %v", tc.p, got, tc.want)
		}
	}
}
