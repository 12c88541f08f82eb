package policy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestUndoRun: files go back (rewritten or removed) and commands run, in
// order; a failing step does not stop the others.
func TestUndoRun(t *testing.T) {
	dir := t.TempDir()
	kept, added, log := filepath.Join(dir, "kept"), filepath.Join(dir, "added"), filepath.Join(dir, "log")
	os.WriteFile(kept, []byte("new"), 0o644)
	os.WriteFile(added, []byte("new"), 0o644)
	u := &Undo{
		Files:    []UndoFile{{Path: kept, Existed: true, Data: []byte("old"), Mode: 0o600}, {Path: added}},
		Commands: [][]string{{"false"}, {"sh", "-c", "echo ran >> " + log}},
	}
	err := u.run()
	if err == nil || !strings.Contains(err.Error(), "false") {
		t.Errorf("failing command not reported: %v", err)
	}
	if b, _ := os.ReadFile(kept); string(b) != "old" {
		t.Errorf("kept = %q", b)
	}
	if st, _ := os.Stat(kept); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", st.Mode())
	}
	if _, err := os.Stat(added); !os.IsNotExist(err) {
		t.Errorf("added file still there: %v", err)
	}
	if b, _ := os.ReadFile(log); string(b) != "ran\n" {
		t.Errorf("second command did not run after the first failed: %q", b)
	}
}

func TestUndoMerge(t *testing.T) {
	newer := &Undo{Files: []UndoFile{{Path: "/a", Existed: true, Data: []byte("mid")}}, Commands: [][]string{{"reload"}}}
	older := &Undo{Files: []UndoFile{{Path: "/a", Existed: true, Data: []byte("first")}}, Commands: [][]string{{"reload"}, {"other"}}}
	m := newer.merge(older)
	if len(m.Files) != 2 || string(m.Files[1].Data) != "first" {
		t.Errorf("files %+v: the older state must be written last", m.Files)
	}
	if len(m.Commands) != 2 {
		t.Errorf("commands %v: duplicates kept", m.Commands)
	}
	if (*Undo)(nil).merge(older) != older || newer.merge(nil) != newer {
		t.Error("merge with nil")
	}
}

func TestParsePendingUndo(t *testing.T) {
	ok := `{"id":"x","deadline":"` + time.Now().Format(time.RFC3339) + `","previous":{"enabled":false},"applied":{"enabled":false},"undo":{"files":[{"path":"/etc/ssh/x","existed":false}],"commands":[["systemctl","reload","ssh"]]}}`
	p, err := ParsePending([]byte(ok))
	if err != nil || p.Undo == nil || len(p.Undo.Commands) != 1 {
		t.Fatalf("%+v %v", p, err)
	}
	for _, bad := range []string{`"path":"etc/x"`, `"path":"/etc/../x"`} {
		s := strings.Replace(ok, `"path":"/etc/ssh/x"`, bad, 1)
		if _, err := ParsePending([]byte(s)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	if _, err := ParsePending([]byte(strings.Replace(ok, `["systemctl","reload","ssh"]`, `[]`, 1))); err == nil {
		t.Error("empty command accepted")
	}
}
