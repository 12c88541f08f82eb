package harden

import (
	"bytes"
	"strings"
	"testing"
)

func TestParseOSRelease(t *testing.T) {
	m := ParseOSRelease([]byte("# c\nID=debian\nPRETTY_NAME=\"Debian \\\"x\\\" 12\"\nVERSION_CODENAME='bookworm'\nbad line\n=x\n"))
	if m["ID"] != "debian" || m["PRETTY_NAME"] != `Debian "x" 12` || m["VERSION_CODENAME"] != "bookworm" || len(m) != 3 {
		t.Fatalf("%q", m)
	}
}

func TestLockEmptyPasswords(t *testing.T) {
	in := "root:*:1:0:99999:7:::\nguest::1:0:99999:7:::\r\n+nis::::::::\nlast::1::::::"
	out, locked := LockEmptyPasswords([]byte(in))
	want := "root:*:1:0:99999:7:::\nguest:!:1:0:99999:7:::\r\n+nis::::::::\nlast:!:1::::::"
	if string(out) != want || strings.Join(locked, ",") != "guest,last" {
		t.Fatalf("got %q %v", out, locked)
	}
}

func TestSetKeyValues(t *testing.T) {
	in := "# max_log_file_action = ignore\nmax_log_file_action = IGNORE\nnum_logs = 5\nMAX_LOG_FILE_ACTION = ignore\nspace_left_action = email"
	out, changed := SetKeyValues([]byte(in), []KV{{"max_log_file_action", "keep_logs"}, {"space_left_action", "email"}, {"disk_full_action", "suspend"}})
	want := "# max_log_file_action = ignore\nmax_log_file_action = IGNORE\nnum_logs = 5\nmax_log_file_action = keep_logs\nspace_left_action = email\ndisk_full_action = suspend\n"
	if !changed || string(out) != want {
		t.Fatalf("got %q", out)
	}
	if _, again := SetKeyValues(out, []KV{{"max_log_file_action", "keep_logs"}}); again {
		t.Fatal("setting the value in force again changed the file")
	}
}

func TestParseUnitINI(t *testing.T) {
	m := ParseUnitINI([]byte("[Journal]\n#Storage=auto\nStorage=volatile\n; x\n[Other]\nStorage=persistent\n[Journal]\nSystemMaxUse = 1G\n"))
	if m["Journal"]["Storage"] != "volatile" || m["Journal"]["SystemMaxUse"] != "1G" || m["Other"]["Storage"] != "persistent" {
		t.Fatalf("%v", m)
	}
}

// FuzzHostFiles feeds hostile file content (an image under --root) to every
// host-file parser and editor: none may panic, and the editors keep their
// promises (only the changed fields differ; a second pass changes nothing).
func FuzzHostFiles(f *testing.F) {
	f.Add([]byte("ID=debian\nVERSION_CODENAME=bookworm\n"))
	f.Add([]byte("root:*:19700:0:99999:7:::\nguest::19700::::::\n"))
	f.Add([]byte("max_log_file_action = IGNORE\nspace_left_action=\n"))
	f.Add([]byte("[Journal]\nStorage=volatile\n"))
	f.Add([]byte("PRETTY_NAME=\"a\\\"\n=\n\"\n'"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ParseOSRelease(b)
		ParseUnitINI(b)
		ParseKeyValues(b)

		out, locked := LockEmptyPasswords(b)
		if len(locked) == 0 && !bytes.Equal(out, b) {
			t.Fatalf("nothing locked but content changed: %q -> %q", b, out)
		}
		if len(out) != len(b)+len(locked) {
			t.Fatalf("locking %d accounts changed the length by %d", len(locked), len(out)-len(b))
		}
		if again, l2 := LockEmptyPasswords(out); len(l2) != 0 || !bytes.Equal(again, out) {
			t.Fatalf("second lock pass changed %v", l2)
		}

		set := []KV{{"max_log_file_action", "keep_logs"}, {"disk_full_action", "suspend"}}
		nb, _ := SetKeyValues(b, set)
		kv := ParseKeyValues(nb)
		for _, s := range set {
			if kv[s.Key] != s.Value {
				t.Fatalf("after SetKeyValues %s = %q, want %q\nin  %q\nout %q", s.Key, kv[s.Key], s.Value, b, nb)
			}
		}
		if nb2, changed := SetKeyValues(nb, set); changed || !bytes.Equal(nb2, nb) {
			t.Fatalf("second SetKeyValues changed the file: %q -> %q", nb, nb2)
		}
	})
}
