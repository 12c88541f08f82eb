package cli

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/audit"
	"github.com/rampart-ids/rampart/internal/harden/fixture"
)

var updateHarden = flag.Bool("update", false, "rewrite the harden golden files (or UPDATE_GOLDEN=1)")

// hardenGolden is goldenFile with the -update flag as well.
func hardenGolden(t *testing.T, name, got string) {
	t.Helper()
	if *updateHarden {
		t.Setenv("UPDATE_GOLDEN", "1")
	}
	goldenFile(t, name, got)
}

// auditRoot runs the full audit offline on root.
func auditRoot(t *testing.T, root string) *audit.Report {
	t.Helper()
	return audit.Run(context.Background(), audit.Offline(root, audit.Config{}, time.Now()), audit.Checks(), audit.Options{})
}

func statusOf(rep *audit.Report, id string) audit.Status {
	for _, f := range rep.Checks {
		if f.ID == id {
			return f.Status
		}
	}
	return ""
}

// The update-configuration and auditd-rule checks harden must leave passing.
var (
	updateConfigChecks = []string{"updates.periodic", "updates.security-origin", "updates.timers"}
	auditdRuleChecks   = []string{"auditd.rules-loaded", "auditd.identity-watch", "auditd.sudoers-watch",
		"auditd.sshd-watch", "auditd.binaries-watch", "auditd.immutable", "auditd.log-retention"}
)

func TestHardenCarelessRootThenUndo(t *testing.T) {
	root := fixture.Root(t, "careless")
	state := t.TempDir()
	before := fixture.Snapshot(t, root)
	repBefore := auditRoot(t, root)
	for _, id := range append(append([]string{}, updateConfigChecks...), auditdRuleChecks...) {
		if s := statusOf(repBefore, id); s != audit.Fail {
			t.Fatalf("fixture is not careless: %s is %s before harden", id, s)
		}
	}

	code, out, errs := runCLI(t, "harden", "--root", root, "--state-dir", state, "--yes", "updates", "auditd")
	if code != 0 {
		t.Fatalf("harden --yes: exit %d\n%s\n%s", code, out, errs)
	}
	after := auditRoot(t, root)
	for _, id := range append(append([]string{}, updateConfigChecks...), auditdRuleChecks...) {
		if s := statusOf(after, id); s != audit.Pass {
			t.Errorf("after harden %s is %s, want pass", id, s)
		}
	}
	t.Logf("score %d -> %d", repBefore.Score, after.Score)
	if after.Score <= repBefore.Score {
		t.Errorf("score %d -> %d: did not rise", repBefore.Score, after.Score)
	}
	if !strings.Contains(out, "score: ") || !strings.Contains(out, "fixed (") || !strings.Contains(out, "nothing reloaded (--root)") {
		t.Errorf("result summary missing:\n%s", out)
	}
	// The privileged programs of the fixture (setuid, setgid) have rules.
	rules, _ := os.ReadFile(filepath.Join(root, "etc/audit/rules.d/50-rampart.rules"))
	for _, p := range []string{"/usr/bin/passwd", "/usr/bin/sudo", "/usr/bin/crontab", "/usr/lib/openssh/ssh-keysign"} {
		if !strings.Contains(string(rules), "-F path="+p+" ") {
			t.Errorf("no privileged rule for %s", p)
		}
	}
	if strings.Contains(string(rules), "/usr/bin/ls ") {
		t.Error("a program without setuid/setgid got a privileged rule")
	}
	// A second run has nothing left to do for these areas.
	code, out, _ = runCLI(t, "harden", "--root", root, "--state-dir", state, "--dry-run", "updates", "auditd")
	if code != 0 || !strings.Contains(out, "== updates: nothing to change") || !strings.Contains(out, "== auditd: nothing to change") {
		t.Errorf("second plan not empty (exit %d):\n%s", code, out)
	}

	code, out, errs = runCLI(t, "harden", "list", "--state-dir", state, "--json")
	var list []struct {
		ID    string   `json:"id"`
		Areas []string `json:"areas"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list) != 1 || !slices.Equal(list[0].Areas, []string{"updates", "auditd"}) {
		t.Fatalf("harden list --json: exit %d %q %s", code, out, errs)
	}

	code, out, errs = runCLI(t, "harden", "undo", "--state-dir", state)
	if code != 0 {
		t.Fatalf("undo: exit %d\n%s\n%s", code, out, errs)
	}
	if d := fixture.Diff(before, fixture.Snapshot(t, root)); d != "" {
		t.Fatalf("undo did not restore the fixture byte for byte:\n%s", d)
	}
	if code, _, _ := runCLI(t, "harden", "undo", "--state-dir", state); code != 1 {
		t.Errorf("undo with no change set left: exit %d, want 1", code)
	}
}

func TestHardenUndoRefusesDrift(t *testing.T) {
	root := fixture.Root(t, "careless")
	state := t.TempDir()
	if code, out, errs := runCLI(t, "harden", "--root", root, "--state-dir", state, "--yes", "journald"); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	p := filepath.Join(root, "etc/systemd/journald.conf.d/50-rampart.conf")
	admin := []byte("[Journal]\nStorage=volatile\n")
	if err := os.WriteFile(p, admin, 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs := runCLI(t, "harden", "undo", "--state-dir", state)
	if code != 1 || !strings.Contains(errs, "--force") {
		t.Fatalf("undo over an admin edit: exit %d %s", code, errs)
	}
	if b, _ := os.ReadFile(p); string(b) != string(admin) {
		t.Fatal("refused undo changed the admin's file")
	}
	if code, _, errs := runCLI(t, "harden", "undo", "--state-dir", state, "--force"); code != 0 {
		t.Fatalf("undo --force: exit %d %s", code, errs)
	}
	if _, err := os.Stat(filepath.Dir(p)); !os.IsNotExist(err) {
		t.Errorf("the drop-in directory harden created is still there: %v", err)
	}
}

func TestHardenUsersKeepsShadowOwner(t *testing.T) {
	root := fixture.Root(t, "careless")
	shadow := filepath.Join(root, "etc/shadow")
	gid := os.Getegid()
	if os.Geteuid() == 0 {
		gid = 42
		if err := os.Chown(shadow, 0, gid); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errs := runCLI(t, "harden", "--root", root, "--state-dir", t.TempDir(), "--yes", "users")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	if s := statusOf(auditRoot(t, root), "users.empty-passwords"); s != audit.Pass {
		t.Errorf("users.empty-passwords %s after harden users", s)
	}
	b, _ := os.ReadFile(shadow)
	if !strings.Contains(string(b), "\nguest:!:19700:") || !strings.Contains(string(b), "debian:$y$j9T$stock$hash:") {
		t.Errorf("shadow after locking:\n%s", b)
	}
	st, _ := os.Stat(shadow)
	if st.Mode().Perm() != 0o640 || int(st.Sys().(*syscall.Stat_t).Gid) != gid {
		t.Errorf("shadow mode %v gid %d, want 0640 gid %d", st.Mode().Perm(), st.Sys().(*syscall.Stat_t).Gid, gid)
	}
}

func TestHardenWithoutYesOrTerminalRefuses(t *testing.T) {
	root := fixture.Root(t, "careless")
	before := fixture.Snapshot(t, root)
	code, out, errs := runCLI(t, "harden", "--root", root, "--state-dir", t.TempDir(), "updates")
	if code != 1 || !strings.Contains(errs, "--yes") || !strings.Contains(out, "+++ /etc/apt/apt.conf.d/52rampart-unattended-upgrades") {
		t.Fatalf("exit %d, stdout:\n%s\nstderr: %s", code, out, errs)
	}
	if d := fixture.Diff(before, fixture.Snapshot(t, root)); d != "" {
		t.Fatalf("changed files without --yes:\n%s", d)
	}
}

func TestHardenUsage(t *testing.T) {
	root := fixture.Root(t, "careless")
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"harden", "--root", root, "nope"}, 2, `unknown area "nope"`},
		{[]string{"harden", "--root", root, "--dry-run", "--yes"}, 2, "exclude each other"},
		{[]string{"harden", "--root", filepath.Join(root, "none"), "--dry-run"}, 2, "--root"},
		{[]string{"harden", "--root", root, "--dry-run", "--reboot-window", "25:00", "updates"}, 1, "--reboot-window"},
	} {
		code, out, errs := runCLI(t, tc.args...)
		if code != tc.code || !strings.Contains(out+errs, tc.msg) {
			t.Errorf("%v: exit %d, want %d with %q\n%s%s", tc.args, code, tc.code, tc.msg, out, errs)
		}
	}
}

// Golden dry-run output of each area on the careless fixture.
func TestHardenDryRunGolden(t *testing.T) {
	root := fixture.Root(t, "careless")
	for _, area := range []string{"updates", "auditd", "journald", "users", "firewall"} {
		t.Run(area, func(t *testing.T) {
			args := []string{"harden", "--root", root, "--dry-run", area}
			if area == "updates" {
				args = append(args, "--reboot-window", "03:30")
			}
			code, out, errs := runCLI(t, args...)
			if code != 0 {
				t.Fatalf("exit %d\n%s\n%s", code, out, errs)
			}
			hardenGolden(t, "harden-"+area+".golden", out)
		})
	}
	code, out, _ := runCLI(t, "harden", "--root", root, "--dry-run", "--json", "updates")
	var rep struct {
		Plan struct {
			Areas []struct {
				Area    string `json:"area"`
				Checks  []string
				Changes []struct{ Path, Kind, Diff string }
			}
		}
		ScoreBefore int  `json:"score_before"`
		Applied     bool `json:"applied"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || len(rep.Plan.Areas) != 1 || rep.Applied ||
		len(rep.Plan.Areas[0].Changes) != 4 || !slices.Contains(rep.Plan.Areas[0].Checks, "updates.periodic") {
		t.Fatalf("--dry-run --json: exit %d\n%s", code, out)
	}
}

// The acceptance test: on the careless fixture, after
// `harden --yes ssh updates auditd` the audit fails at most one ssh check,
// no update-configuration check and no auditd-rule check, and the score
// rises by at least 25 points; undo restores the fixture byte for byte.
func TestHardenSSHUpdatesAuditdAcceptance(t *testing.T) {
	root := fixture.Root(t, "careless")
	state := t.TempDir()
	snap := fixture.Snapshot(t, root)
	before := auditRoot(t, root)
	code, out, errs := runCLI(t, "harden", "--root", root, "--state-dir", state, "--yes", "ssh", "updates", "auditd")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	if !strings.Contains(out, "no safe automatic fix") || !strings.Contains(out, "  ssh.allow-users: ") {
		t.Errorf("the checks harden cannot fix are not listed with their reason:\n%s", out)
	}
	after := auditRoot(t, root)
	var sshFail []string
	for _, f := range after.Checks {
		if f.Status != audit.Fail {
			continue
		}
		switch {
		case f.Area == audit.AreaSSH:
			sshFail = append(sshFail, f.ID+": "+f.Evidence)
		case slices.Contains(updateConfigChecks, f.ID), slices.Contains(auditdRuleChecks, f.ID):
			t.Errorf("%s still fails: %s", f.ID, f.Evidence)
		}
	}
	if len(sshFail) > 1 {
		t.Errorf("%d ssh checks fail, want at most 1:\n%s", len(sshFail), strings.Join(sshFail, "\n"))
	}
	t.Logf("score %d -> %d; ssh failing: %v", before.Score, after.Score, sshFail)
	if after.Score-before.Score < 25 {
		t.Errorf("score %d -> %d: rose by %d, want >= 25", before.Score, after.Score, after.Score-before.Score)
	}
	if code, out, errs := runCLI(t, "harden", "undo", "--state-dir", state); code != 0 {
		t.Fatalf("undo: exit %d\n%s\n%s", code, out, errs)
	}
	if d := fixture.Diff(snap, fixture.Snapshot(t, root)); d != "" {
		t.Fatalf("undo did not restore the fixture byte for byte:\n%s", d)
	}
}

func TestHardenYesJSON(t *testing.T) {
	root := fixture.Root(t, "careless")
	state := t.TempDir()
	code, out, errs := runCLI(t, "harden", "--root", root, "--state-dir", state, "--yes", "--json", "journald", "users")
	var rep struct {
		Applied     bool `json:"applied"`
		ScoreBefore int  `json:"score_before"`
		ScoreAfter  *int `json:"score_after"`
		Fixed       []string
		Result      struct {
			ChangeSet string   `json:"change_set"`
			Files     []string `json:"files"`
		}
	}
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil {
		t.Fatalf("exit %d: %s %s", code, out, errs)
	}
	if !rep.Applied || rep.ScoreAfter == nil || *rep.ScoreAfter <= rep.ScoreBefore || rep.Result.ChangeSet == "" ||
		!slices.Contains(rep.Fixed, "users.empty-passwords") || !slices.Contains(rep.Result.Files, "/etc/shadow") {
		t.Fatalf("report: %+v", rep)
	}
	code, out, _ = runCLI(t, "harden", "undo", "--state-dir", state, "--json", rep.Result.ChangeSet)
	if code != 0 || !strings.Contains(out, `"id": "`+rep.Result.ChangeSet+`"`) {
		t.Fatalf("undo --json: exit %d %s", code, out)
	}
}

// A relative --root is recorded absolute: undo works from another directory.
func TestHardenRelativeRoot(t *testing.T) {
	root := fixture.Root(t, "careless")
	state := t.TempDir()
	snap := fixture.Snapshot(t, root)
	t.Chdir(filepath.Dir(root))
	if code, out, errs := runCLI(t, "harden", "--root", filepath.Base(root), "--state-dir", state, "--yes", "journald"); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	t.Chdir(t.TempDir())
	if code, out, errs := runCLI(t, "harden", "undo", "--state-dir", state); code != 0 {
		t.Fatalf("undo: exit %d\n%s\n%s", code, out, errs)
	}
	if d := fixture.Diff(snap, fixture.Snapshot(t, root)); d != "" {
		t.Fatal(d)
	}
}

// A reboot window chosen once stays when harden runs again without it.
func TestHardenKeepsRebootWindow(t *testing.T) {
	root := fixture.Root(t, "careless")
	state := t.TempDir()
	if code, out, errs := runCLI(t, "harden", "--root", root, "--state-dir", state, "--yes", "updates", "--reboot-window", "04:15"); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	code, out, _ := runCLI(t, "harden", "--root", root, "--state-dir", state, "--dry-run", "updates")
	if code != 0 || !strings.Contains(out, "== updates: nothing to change") {
		t.Fatalf("second run without --reboot-window wants changes:\n%s", out)
	}
	code, out, _ = runCLI(t, "harden", "--root", root, "--state-dir", state, "--dry-run", "updates", "--reboot-window", "05:00")
	if code != 0 || !strings.Contains(out, `+Unattended-Upgrade::Automatic-Reboot-Time "05:00";`) {
		t.Fatalf("a new window is not proposed:\n%s", out)
	}
}
