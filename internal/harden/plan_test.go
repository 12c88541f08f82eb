package harden

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// stubArea returns a fixed proposal: a unit test of the orchestration only.
type stubArea struct {
	name string
	prop *Proposal
	err  error
}

func (s stubArea) Name() string                                  { return s.name }
func (s stubArea) Plan(context.Context, *Env) (*Proposal, error) { return s.prop, s.err }

func recorder(calls *[]string) Runner {
	return func(ctx context.Context, name string, args ...string) ([]byte, error) {
		*calls = append(*calls, strings.Join(append([]string{name}, args...), " "))
		return nil, nil
	}
}

func TestExecuteOrderAndRecord(t *testing.T) {
	root, state := t.TempDir(), t.TempDir()
	var calls []string
	env := &Env{Root: root, Live: true, StateDir: state, Run: recorder(&calls)}
	var staged map[string]string
	a := &Proposal{Area: "a", Files: []File{{Path: "/etc/a.conf", Data: []byte("a\n")}},
		Reload: []Command{{Name: "systemctl", Args: []string{"daemon-reload"}}},
		Validate: func(ctx context.Context, s map[string]string) error {
			staged = s
			if _, err := os.Stat(filepath.Join(root, "etc/a.conf")); err == nil {
				return errors.New("installed before validation")
			}
			return nil
		},
		Activate: func(ctx context.Context) error { calls = append(calls, "activate a"); return nil },
	}
	b := &Proposal{Area: "b", Files: []File{{Path: "/etc/b.conf", Data: []byte("b\n"), Mode: 0o600}},
		Reload:     []Command{{Name: "systemctl", Args: []string{"daemon-reload"}}, {Name: "augenrules", Args: []string{"--load"}}},
		UndoReload: []Command{{Name: "rampart", Args: []string{"firewall", "apply"}}},
	}
	plan := MakePlan(context.Background(), env, []Area{stubArea{"a", a, nil}, stubArea{"b", b, nil}, stubArea{"c", nil, &SkipError{"not here"}}})
	if plan.Areas[2].Skipped != "not here" {
		t.Fatalf("skip not recorded: %+v", plan.Areas[2])
	}
	res, err := Execute(context.Background(), env, plan, time.Unix(10, 0))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(staged["/etc/a.conf"]); string(got) != "" {
		// the staged copy is removed once Execute returns
		t.Errorf("staged copy left behind: %q", got)
	}
	want := "activate a|systemctl daemon-reload|augenrules --load"
	if strings.Join(calls, "|") != want {
		t.Fatalf("calls %q, want %q", calls, want)
	}
	if st, _ := os.Stat(filepath.Join(root, "etc/b.conf")); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	cs, err := Load(state, res.ChangeSet)
	if err != nil {
		t.Fatal(err)
	}
	var undo []string
	for _, c := range cs.UndoCommands() {
		undo = append(undo, c.String())
	}
	if strings.Join(undo, "|") != "systemctl daemon-reload|augenrules --load|rampart firewall apply" {
		t.Errorf("undo commands %q", undo)
	}
}

func TestExecuteValidateFailureWritesNothing(t *testing.T) {
	root, state := t.TempDir(), t.TempDir()
	env := &Env{Root: root, Live: true, StateDir: state, Run: recorder(new([]string))}
	p := &Proposal{Area: "a", Files: []File{{Path: "/etc/a.conf", Data: []byte("a\n")}},
		Validate: func(context.Context, map[string]string) error { return errors.New("sshd -t: bad") }}
	_, err := Execute(context.Background(), env, MakePlan(context.Background(), env, []Area{stubArea{"a", p, nil}}), time.Unix(1, 0))
	if err == nil || !strings.Contains(err.Error(), "nothing applied") {
		t.Fatalf("err = %v", err)
	}
	if ents, _ := os.ReadDir(root); len(ents) != 0 {
		t.Fatalf("files written: %v", ents)
	}
	if sets, _ := List(state); len(sets) != 0 {
		t.Fatal("change set recorded for a refused run")
	}
}

func TestExecuteActivateFailureRollsBack(t *testing.T) {
	root, state := t.TempDir(), t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.WriteFile(filepath.Join(root, "etc/a.conf"), []byte("old\n"), 0o640)
	var calls []string
	env := &Env{Root: root, Live: true, StateDir: state, Run: recorder(&calls)}
	p := &Proposal{Area: "a", Files: []File{{Path: "/etc/a.conf", Data: []byte("new\n")}},
		Reload:   []Command{{Name: "systemctl", Args: []string{"reload", "x"}}},
		Activate: func(context.Context) error { return errors.New("guard said no") }}
	_, err := Execute(context.Background(), env, MakePlan(context.Background(), env, []Area{stubArea{"a", p, nil}}), time.Unix(1, 0))
	if err == nil || !strings.Contains(err.Error(), "files put back") {
		t.Fatalf("err = %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "etc/a.conf")); string(b) != "old\n" {
		t.Fatalf("not rolled back: %q", b)
	}
	if len(calls) != 0 {
		t.Fatalf("reloaded after a failed activation: %v", calls)
	}
}

func TestExecuteRefusedAreaStopsAll(t *testing.T) {
	root := t.TempDir()
	env := &Env{Root: root, StateDir: t.TempDir()}
	ok := &Proposal{Area: "a", Files: []File{{Path: "/etc/a.conf", Data: []byte("a\n")}}}
	plan := MakePlan(context.Background(), env, []Area{stubArea{"a", ok, nil}, stubArea{"ssh", nil, errors.New("no account has a key")}})
	if _, err := Execute(context.Background(), env, plan, time.Unix(1, 0)); err == nil || !strings.Contains(err.Error(), "ssh refused") {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "etc/a.conf")); err == nil {
		t.Fatal("an area was applied although another refused")
	}
}

func TestApplyRefusesSymlinkedDirUnderRoot(t *testing.T) {
	root, outside := t.TempDir(), t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.Symlink(outside, filepath.Join(root, "etc/audit"))
	env := &Env{Root: root, StateDir: t.TempDir()}
	p := &Proposal{Area: "auditd", Files: []File{{Path: "/etc/audit/rules.d/50-rampart.rules", Data: []byte("-e 2\n")}}}
	_, err := Execute(context.Background(), env, MakePlan(context.Background(), env, []Area{stubArea{"auditd", p, nil}}), time.Unix(1, 0))
	if err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("err = %v", err)
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Fatal("wrote outside the root")
	}
}

func TestLockExcludesASecondRun(t *testing.T) {
	state := t.TempDir()
	unlock, err := Lock(state)
	if err != nil {
		t.Fatal(err)
	}
	env := &Env{Root: t.TempDir(), StateDir: state}
	p := &Proposal{Area: "a", Files: []File{{Path: "/etc/a.conf", Data: []byte("a\n")}}}
	if _, err := Execute(context.Background(), env, MakePlan(context.Background(), env, []Area{stubArea{"a", p, nil}}), time.Unix(1, 0)); err == nil || !strings.Contains(err.Error(), "another rampart harden") {
		t.Fatalf("second run while locked: %v", err)
	}
	unlock()
	if _, err := Execute(context.Background(), env, MakePlan(context.Background(), env, []Area{stubArea{"a", p, nil}}), time.Unix(1, 0)); err != nil {
		t.Fatal(err)
	}
}
