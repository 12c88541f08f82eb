package harden

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/harden/fixture"
)

func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, c := range files {
		h := filepath.Join(root, p)
		os.MkdirAll(filepath.Dir(h), 0o755)
		if err := os.WriteFile(h, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func planOne(t *testing.T, a Area, root string) (*Proposal, error) {
	t.Helper()
	return a.Plan(context.Background(), &Env{Root: root, Now: time.Now()})
}

func TestUpdatesOriginsFollowOSRelease(t *testing.T) {
	for _, tc := range []struct {
		osr, want, skip string
	}{
		{"ID=ubuntu\nVERSION_CODENAME=noble\n", `"${distro_id}:${distro_codename}-security";`, ""},
		{"ID=linuxmint\nID_LIKE=\"ubuntu debian\"\nVERSION_CODENAME=wilma\n", "Allowed-Origins", ""},
		{"ID=debian\nVERSION_CODENAME=trixie\n", `"origin=Debian,codename=${distro_codename}-security,label=Debian-Security";`, ""},
		{"ID=debian\n", "", "no security archive"},
		{"ID=fedora\nVERSION_ID=40\n", "", "ID=fedora"},
	} {
		root := writeTree(t, map[string]string{"etc/os-release": tc.osr, "etc/apt/apt.conf.d/01autoremove": "APT::NeverAutoRemove {};\n"})
		p, err := planOne(t, Updates{}, root)
		var skip *SkipError
		if tc.skip != "" {
			if !errors.As(err, &skip) || !strings.Contains(skip.Reason, tc.skip) {
				t.Errorf("%q: err %v, want a skip naming %q", tc.osr, err, tc.skip)
			}
			continue
		}
		if err != nil || len(p.Files) == 0 || !strings.Contains(string(p.Files[0].Data), tc.want) {
			t.Errorf("%q: %v %+v", tc.osr, err, p)
		}
	}
	if _, err := planOne(t, Updates{}, t.TempDir()); err == nil {
		t.Error("no os-release: not skipped")
	}
}

func TestAuditdSkipsWithoutAuditd(t *testing.T) {
	var skip *SkipError
	if _, err := planOne(t, Auditd{}, writeTree(t, map[string]string{"etc/passwd": "root:x:0:0::/root:/bin/sh\n"})); !errors.As(err, &skip) || !strings.Contains(skip.Reason, "apt-get install auditd") {
		t.Fatalf("err = %v", err)
	}
}

func TestAuditRulesArm64HasNoLegacyCalls(t *testing.T) {
	s := auditRulesContent(t.TempDir(), []string{"b64"})
	if strings.Contains(s, "-S chmod,") || strings.Contains(s, "lchown") || strings.Contains(s, "arch=b32") {
		t.Fatalf("arm64 rules name x86-only syscalls:\n%s", s)
	}
	if err := validateRules(writeTree(t, map[string]string{"r": s}) + "/r"); err != nil {
		t.Fatal(err)
	}
}

func TestJournaldRespectsAdminCap(t *testing.T) {
	root := fixture.Root(t, "careless")
	os.MkdirAll(filepath.Join(root, "etc/systemd/journald.conf.d"), 0o755)
	os.WriteFile(filepath.Join(root, "etc/systemd/journald.conf.d/10-admin.conf"), []byte("[Journal]\nSystemMaxUse=200M\n"), 0o644)
	p, err := planOne(t, Journald{}, root)
	if err != nil || len(p.Files) != 1 {
		t.Fatalf("%v %+v", err, p)
	}
	if s := string(p.Files[0].Data); !strings.Contains(s, "Storage=persistent") || strings.Contains(s, "SystemMaxUse") {
		t.Fatalf("drop-in overrides the admin's cap:\n%s", s)
	}
}

func TestUsersFlagsUID0NeverDeletes(t *testing.T) {
	root := fixture.Root(t, "careless")
	pw := filepath.Join(root, "etc/passwd")
	b, _ := os.ReadFile(pw)
	os.WriteFile(pw, append(b, []byte("toor:x:0:0::/root:/bin/sh\n")...), 0o644)
	p, err := planOne(t, Users{}, root)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range p.Files {
		if f.Path == "/etc/passwd" {
			t.Fatal("users area changes /etc/passwd")
		}
	}
	if !strings.Contains(strings.Join(p.Actions, "\n"), "NOT CHANGED: toor has UID 0") {
		t.Fatalf("actions %q", p.Actions)
	}
}

// The rules rampart writes name only syscalls the machine has, checked with
// the real ausyscall tables; a wrong one is refused before installing.
func TestAuditRulesSyscallsExist(t *testing.T) {
	if _, err := exec.LookPath("ausyscall"); err != nil {
		t.Skip("skipping: ausyscall is not installed (package auditd; run scripts/deps.sh)")
	}
	ctx := context.Background()
	for _, tc := range []struct {
		arches  []string
		machine string
	}{{[]string{"b64", "b32"}, "x86_64"}, {[]string{"b64"}, "aarch64"}, {[]string{"b32"}, "arm"}} {
		f := filepath.Join(t.TempDir(), "r")
		os.WriteFile(f, []byte(auditRulesContent(t.TempDir(), tc.arches)), 0o644)
		if err := validateSyscalls(ctx, nil, f, tc.machine); err != nil {
			t.Errorf("%s: %v", tc.machine, err)
		}
	}
	f := filepath.Join(t.TempDir(), "r")
	os.WriteFile(f, []byte("-a always,exit -F arch=b64 -S fchownat,chown -k perm_mod\n-e 2\n"), 0o644)
	if err := validateSyscalls(ctx, nil, f, "aarch64"); err == nil || !strings.Contains(err.Error(), `"chown"`) {
		t.Errorf("chown on aarch64 accepted: %v", err)
	}
}

func TestAuditdEnablesADisabledDaemon(t *testing.T) {
	root := fixture.Root(t, "careless")
	os.Remove(filepath.Join(root, "etc/systemd/system/multi-user.target.wants/auditd.service"))
	p, err := planOne(t, Auditd{}, root)
	if err != nil {
		t.Fatal(err)
	}
	var link File
	for _, f := range p.Files {
		if f.Link != "" {
			link = f
		}
	}
	if link.Path != "/etc/systemd/system/multi-user.target.wants/auditd.service" || link.Link != "/lib/systemd/system/auditd.service" {
		t.Fatalf("link %+v", link)
	}
	if !strings.Contains(strings.Join(p.Checks, ","), "auditd.running") {
		t.Fatalf("checks %v", p.Checks)
	}
}
