package harden

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"flag"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/audit"
	"github.com/rampart-ids/rampart/internal/policy"
	"github.com/rampart-ids/rampart/internal/policy/portspec"

	"golang.org/x/crypto/ssh"
)

var update = flag.Bool("update", false, "rewrite golden files")

var sshNow = time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)

// carelessSSHD is a Debian sshd_config of a careless host: the drop-in
// directory is included first, passwords and root logins are on.
const carelessSSHD = `# This is the sshd server system-wide configuration file.
Include /etc/ssh/sshd_config.d/*.conf

PermitRootLogin yes
PasswordAuthentication yes
KbdInteractiveAuthentication no
UsePAM yes
X11Forwarding yes
PrintMotd no
AcceptEnv LANG LC_*
Subsystem	sftp	/usr/lib/openssh/sftp-server
`

// sshFixture writes a root: files (path -> content), plus the accounts.
func sshFixture(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	base := map[string]string{
		"/etc/ssh/sshd_config": carelessSSHD,
		"/etc/passwd": "root:x:0:0:root:/root:/bin/bash\n" +
			"daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n" +
			"alice:x:1000:1000:Alice:/home/alice:/bin/bash\n" +
			"bob:x:1001:1001:Bob:/home/bob:/bin/bash\n" +
			"svc:x:998:998::/var/lib/svc:/usr/sbin/nologin\n",
		"/etc/shadow": "root:$y$j9T$abc$def:19000:0:99999:7:::\n" +
			"daemon:*:19000:0:99999:7:::\n" +
			"alice:$y$j9T$abc$def:19000:0:99999:7:::\n" +
			"bob:$y$j9T$abc$def:19000:0:99999:7:::\n" +
			"svc:!:19000:0:99999:7:::\n",
		"/etc/group":  "root:x:0:\nsudo:x:27:alice\nalice:x:1000:\nbob:x:1001:\nsvc:x:998:\n",
		"/etc/shells": "# /etc/shells: valid login shells\n/bin/sh\n/bin/bash\n/usr/bin/bash\n",
	}
	for k, v := range files {
		base[k] = v
	}
	for p, c := range base {
		if c == "" {
			continue // "" removes a base file
		}
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.Contains(p, "authorized_keys") || strings.HasSuffix(p, "shadow") {
			mode = 0o600
			os.Chmod(filepath.Dir(full), 0o700)
		}
		if err := os.WriteFile(full, []byte(c), mode); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func pubKey(t *testing.T) string {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k))) + " alice@laptop\n"
}

func planSSH(t *testing.T, root string, o Options) (*Proposal, error) {
	t.Helper()
	a := &sshArea{now: func() time.Time { return sshNow }}
	return a.Plan(context.Background(), &Env{Root: root, Options: o})
}

func fileOf(p *Proposal, path string) (File, bool) {
	for _, f := range p.Files {
		if f.Path == path {
			return f, true
		}
	}
	return File{}, false
}

// install writes the proposal's files under root (what the command does).
func install(t *testing.T, root string, p *Proposal) {
	t.Helper()
	for _, f := range p.Files {
		if err := WriteAtomic(filepath.Join(root, f.Path), f.Data, f.Mode); err != nil {
			t.Fatal(err)
		}
	}
}

// auditSSH runs the audit's ssh checks on root and returns ID -> status.
func auditSSH(t *testing.T, root string) map[string]audit.Finding {
	t.Helper()
	var checks []audit.Check
	for _, c := range audit.Checks() {
		if c.Area == audit.AreaSSH {
			checks = append(checks, c)
		}
	}
	rep := audit.Run(context.Background(), audit.Offline(root, audit.Config{}, sshNow), checks, audit.Options{})
	out := map[string]audit.Finding{}
	for _, f := range rep.Checks {
		out[f.ID] = f
	}
	return out
}

func TestSSHRefusesWithoutKey(t *testing.T) {
	root := sshFixture(t, nil)
	_, err := planSSH(t, root, Options{})
	if err == nil {
		t.Fatal("planned with no authorized key anywhere; want a refusal")
	}
	msg := err.Error()
	for _, want := range []string{"refusing to turn password logins off", "ssh-copy-id -i ~/.ssh/id_ed25519.pub alice@", filepath.Join(root, "/home/alice/.ssh/authorized_keys"), "--force", "svc"} {
		if want == "svc" {
			if strings.Contains(msg, "  svc:") {
				t.Errorf("the refusal lists nologin account svc:\n%s", msg)
			}
			continue
		}
		if !strings.Contains(msg, want) {
			t.Errorf("refusal lacks %q:\n%s", want, msg)
		}
	}
	// --force plans anyway, loudly.
	p, err := planSSH(t, root, Options{Force: true})
	if err != nil {
		t.Fatalf("--force: %v", err)
	}
	if !slices.ContainsFunc(p.Actions, func(a string) bool { return strings.HasPrefix(a, "GUARD OVERRIDDEN") }) {
		t.Errorf("--force does not say the guard was overridden: %q", p.Actions)
	}
}

// A key that sshd would ignore does not count: a locked account, a shell
// outside /etc/shells, a group-writable key file (StrictModes), garbage.
func TestSSHGuardUnusableKeys(t *testing.T) {
	key := pubKey(t)
	cases := map[string]map[string]string{
		"locked without PAM": {
			"/etc/ssh/sshd_config":             strings.Replace(carelessSSHD, "UsePAM yes", "UsePAM no", 1),
			"/etc/shadow":                      "alice:!$y$j9T$abc$def:19000:0:99999:7:::\n",
			"/home/alice/.ssh/authorized_keys": key,
		},
		"expired": {
			"/etc/shadow":                      "alice:$y$j9T$abc$def:19000:0:99999:7::20000:\n",
			"/home/alice/.ssh/authorized_keys": key,
		},
		"shell not in /etc/shells": {
			"/etc/passwd":                      "alice:x:1000:1000::/home/alice:/opt/weird/sh\n",
			"/home/alice/.ssh/authorized_keys": key,
		},
		"not a key": {"/home/alice/.ssh/authorized_keys": "ssh-ed25519 notbase64 x\n"},
		"not allowed": {
			"/etc/ssh/sshd_config":             carelessSSHD + "AllowUsers bob\n",
			"/home/alice/.ssh/authorized_keys": key,
		},
	}
	for name, files := range cases {
		t.Run(name, func(t *testing.T) {
			root := sshFixture(t, files)
			if _, err := planSSH(t, root, Options{}); err == nil || !strings.Contains(err.Error(), "refusing") {
				t.Errorf("want a refusal, got %v", err)
			}
		})
	}
	t.Run("group-writable key file", func(t *testing.T) {
		root := sshFixture(t, map[string]string{"/home/alice/.ssh/authorized_keys": key})
		os.Chmod(filepath.Join(root, "/home/alice/.ssh/authorized_keys"), 0o664)
		_, err := planSSH(t, root, Options{})
		if err == nil || !strings.Contains(err.Error(), "StrictModes") {
			t.Errorf("want a refusal naming StrictModes, got %v", err)
		}
	})
}

func TestSSHPlanWithKey(t *testing.T) {
	root := sshFixture(t, map[string]string{"/home/alice/.ssh/authorized_keys": pubKey(t)})
	before := auditSSH(t, root)
	p, err := planSSH(t, root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	d, ok := fileOf(p, sshDropIn)
	if !ok {
		t.Fatalf("no drop-in in %v", p.Files)
	}
	for _, l := range []string{"PermitRootLogin no\n", "PasswordAuthentication no\n", "KbdInteractiveAuthentication no\n", "PubkeyAuthentication yes\n", "MaxAuthTries 3\n", "LoginGraceTime 30\n", "X11Forwarding no\n"} {
		if !strings.Contains(string(d.Data), l) {
			t.Errorf("drop-in lacks %q:\n%s", l, d.Data)
		}
	}
	// sshd_config includes the directory first already, and its own
	// PermitRootLogin yes comes after the drop-in: it stays as it is.
	if _, changed := fileOf(p, sshMainConfig); changed {
		t.Errorf("sshd_config changed although the Include is already first")
	}
	if p.Validate == nil || p.Activate != nil || p.Reload != nil {
		t.Errorf("under --root: want Validate only, got activate %v reload %v", p.Activate != nil, p.Reload)
	}
	install(t, root, p)
	after := auditSSH(t, root)
	for _, id := range p.Checks {
		if before[id].Status != audit.Fail && id != "ssh.password-auth" && id != "ssh.kbd-interactive" {
			continue
		}
		if after[id].Status != audit.Pass {
			t.Errorf("%s after harden: %s %q (before %s)", id, after[id].Status, after[id].Evidence, before[id].Status)
		}
	}
	var failing []string
	for id, f := range after {
		if f.Status == audit.Fail && id != "ssh.config-mode" && id != "ssh.host-keys" {
			failing = append(failing, id)
		}
	}
	slices.Sort(failing)
	if !slices.Equal(failing, []string{"ssh.allow-users"}) {
		t.Errorf("ssh checks failing after harden: %v, want only ssh.allow-users (no --allow-users)", failing)
	}
	// A second run changes nothing.
	p2, err := planSSH(t, root, Options{})
	if err != nil || len(p2.Files) != 0 {
		t.Errorf("second run: %v, files %v", err, p2.Files)
	}
}

// 50-cloud-init.conf sorts before 50-rampart.conf and turns passwords
// back on: the effective value must still be the drop-in's.
func TestSSHCloudInitConflict(t *testing.T) {
	root := sshFixture(t, map[string]string{
		"/home/alice/.ssh/authorized_keys":          pubKey(t),
		"/etc/ssh/sshd_config.d/50-cloud-init.conf": "PasswordAuthentication yes\nChallengeResponseAuthentication yes\n",
		"/etc/ssh/sshd_config.d/99-late.conf":       "MaxAuthTries 10\n",
	})
	p, err := planSSH(t, root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ci, ok := fileOf(p, "/etc/ssh/sshd_config.d/50-cloud-init.conf")
	if !ok || !strings.Contains(string(ci.Data), sshDisabledMark+"PasswordAuthentication yes") {
		t.Fatalf("50-cloud-init.conf not neutralised: %q", ci.Data)
	}
	if _, ok := fileOf(p, "/etc/ssh/sshd_config.d/99-late.conf"); ok {
		t.Error("99-late.conf sorts after the drop-in and was changed anyway")
	}
	install(t, root, p)
	v := &sshView{root: root}
	s, err := v.walkSSHD(sshMainConfig)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ci.Data), sshDisabledMark+"ChallengeResponseAuthentication yes") {
		t.Errorf("the old name of KbdInteractiveAuthentication was missed: %q", ci.Data)
	}
	if s.get("passwordauthentication") != "no" || s.get("maxauthtries") != "3" || s.get("kbdinteractiveauthentication") != "no" {
		t.Errorf("effective passwordauthentication %s maxauthtries %s", s.get("passwordauthentication"), s.get("maxauthtries"))
	}
	if f := auditSSH(t, root)["ssh.password-auth"]; f.Status != audit.Pass {
		t.Errorf("audit ssh.password-auth %s %q", f.Status, f.Evidence)
	}
}

// sshd_config without the Include, or with it after its own settings:
// the Include goes to the top.
func TestSSHIncludePlacement(t *testing.T) {
	late := strings.Replace(carelessSSHD, "Include /etc/ssh/sshd_config.d/*.conf\n", "", 1) + "Include /etc/ssh/sshd_config.d/*.conf\n"
	none := strings.Replace(carelessSSHD, "Include /etc/ssh/sshd_config.d/*.conf\n", "", 1)
	inMatch := none + "Match User backup\n  X11Forwarding yes\nInclude /etc/ssh/sshd_config.d/*.conf\n"
	for name, conf := range map[string]string{"late": late, "none": none, "only in a Match block": inMatch} {
		t.Run(name, func(t *testing.T) {
			root := sshFixture(t, map[string]string{"/etc/ssh/sshd_config": conf, "/home/alice/.ssh/authorized_keys": pubKey(t)})
			p, err := planSSH(t, root, Options{})
			if err != nil {
				t.Fatal(err)
			}
			m, ok := fileOf(p, sshMainConfig)
			if !ok {
				t.Fatal("sshd_config unchanged")
			}
			lines := strings.Split(string(m.Data), "\n")
			first := ""
			for _, l := range lines {
				if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "#") {
					first = t
					break
				}
			}
			if first != "Include /etc/ssh/sshd_config.d/*.conf" {
				t.Errorf("first directive %q:\n%s", first, m.Data)
			}
			if n := strings.Count(string(m.Data), "\nInclude "); n != 1 && name != "only in a Match block" {
				t.Errorf("%d active Include lines:\n%s", n, m.Data)
			}
			if !strings.Contains(string(m.Data), "PermitRootLogin yes") {
				t.Error("the admin's own lines were removed")
			}
			install(t, root, p)
			a := auditSSH(t, root)
			for _, id := range []string{"ssh.root-login", "ssh.password-auth", "ssh.max-auth-tries"} {
				if a[id].Status != audit.Pass {
					t.Errorf("%s %s %q", id, a[id].Status, a[id].Evidence)
				}
			}
		})
	}
}

func TestSSHAllowUsers(t *testing.T) {
	root := sshFixture(t, map[string]string{
		"/etc/ssh/sshd_config":             carelessSSHD + "AllowUsers carol\n",
		"/home/alice/.ssh/authorized_keys": pubKey(t),
	})
	// Only bob allowed, and bob has no key: refused.
	if _, err := planSSH(t, root, Options{AllowUsers: []string{"bob"}}); err == nil || !strings.Contains(err.Error(), "not allowed by AllowUsers") {
		t.Errorf("AllowUsers bob: want a refusal naming AllowUsers, got %v", err)
	}
	p, err := planSSH(t, root, Options{AllowUsers: []string{"alice"}, AllowGroups: []string{"sudo"}})
	if err != nil {
		t.Fatal(err)
	}
	d, _ := fileOf(p, sshDropIn)
	if !strings.Contains(string(d.Data), "AllowUsers alice\n") || !strings.Contains(string(d.Data), "AllowGroups sudo\n") {
		t.Errorf("drop-in:\n%s", d.Data)
	}
	m, ok := fileOf(p, sshMainConfig)
	if !ok || !strings.Contains(string(m.Data), sshDisabledMark+"AllowUsers carol") {
		t.Errorf("the other AllowUsers line is still active (lines accumulate):\n%s", m.Data)
	}
	if !slices.Contains(p.Checks, "ssh.allow-users") {
		t.Errorf("checks %v lack ssh.allow-users", p.Checks)
	}
	if _, err := planSSH(t, root, Options{AllowUsers: []string{"al ice"}}); err == nil {
		t.Error("a name with a space was accepted")
	}
}

// Root has a key and no other admin does: root keeps key logins.
func TestSSHRootProhibitPassword(t *testing.T) {
	root := sshFixture(t, map[string]string{"/root/.ssh/authorized_keys": pubKey(t)})
	p, err := planSSH(t, root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	d, _ := fileOf(p, sshDropIn)
	if !strings.Contains(string(d.Data), "PermitRootLogin prohibit-password\n") {
		t.Errorf("drop-in:\n%s", d.Data)
	}
	// With an admin holding a key, root logins go.
	root2 := sshFixture(t, map[string]string{"/root/.ssh/authorized_keys": pubKey(t), "/home/alice/.ssh/authorized_keys": pubKey(t)})
	p, err = planSSH(t, root2, Options{})
	if err != nil {
		t.Fatal(err)
	}
	d, _ = fileOf(p, sshDropIn)
	if !strings.Contains(string(d.Data), "PermitRootLogin no\n") {
		t.Errorf("with admin alice: drop-in:\n%s", d.Data)
	}
}

func TestSSHPortPlan(t *testing.T) {
	root := sshFixture(t, map[string]string{
		"/etc/ssh/sshd_config":             carelessSSHD + "Port 22\n",
		"/home/alice/.ssh/authorized_keys": pubKey(t),
	})
	p, err := planSSH(t, root, Options{Port: 2222})
	if err != nil {
		t.Fatal(err)
	}
	d, _ := fileOf(p, sshDropIn)
	m, _ := fileOf(p, sshMainConfig)
	if !strings.Contains(string(d.Data), "Port 2222\n") || !strings.Contains(string(m.Data), sshDisabledMark+"Port 22") {
		t.Errorf("drop-in:\n%s\nsshd_config:\n%s", d.Data, m.Data)
	}
	if !slices.ContainsFunc(p.Actions, func(a string) bool { return strings.Contains(a, "commit-confirmed for 2m0s") }) {
		t.Errorf("actions do not describe the confirmed move: %q", p.Actions)
	}
	for _, bad := range []Options{{Port: 70000}, {Port: 2222, Confirm: "soon"}} {
		if _, err := planSSH(t, root, bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	root2 := sshFixture(t, map[string]string{
		"/etc/ssh/sshd_config":             carelessSSHD + "ListenAddress 0.0.0.0:22\n",
		"/home/alice/.ssh/authorized_keys": pubKey(t),
	})
	if _, err := planSSH(t, root2, Options{Port: 2222}); err == nil || !strings.Contains(err.Error(), "ListenAddress") {
		t.Errorf("ListenAddress with a port: %v", err)
	}
}

func TestSSHBadConfigRefused(t *testing.T) {
	root := sshFixture(t, map[string]string{"/etc/ssh/sshd_config": "PermitRootLogin yes\nPass\x00word yes\n", "/home/alice/.ssh/authorized_keys": pubKey(t)})
	_, err := planSSH(t, root, Options{})
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("binary sshd_config: %v", err)
	}
}

// TestSSHDryRunGolden fixes what `harden ssh --dry-run` proposes for the
// careless host with a cloud-init drop-in: every file's new content and the
// actions (the command renders the diffs from these).
func TestSSHDryRunGolden(t *testing.T) {
	key := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq6Rk9Yb0y7l2KJ1+9aW8dCqdBK2p8bXUt3Hk6Kx1yA alice@laptop\n"
	cases := []struct {
		golden string
		files  map[string]string
		opts   Options
	}{
		{"ssh-dryrun.golden", map[string]string{"/etc/ssh/sshd_config.d/50-cloud-init.conf": "PasswordAuthentication yes\n"}, Options{AllowGroups: []string{"sudo"}}},
		{"ssh-dryrun-port.golden", map[string]string{"/etc/ssh/sshd_config": "Port 22\n" + strings.Replace(carelessSSHD, "Include /etc/ssh/sshd_config.d/*.conf\n", "", 1)}, Options{Port: 2222, AllowUsers: []string{"alice"}}},
	}
	for _, c := range cases {
		c.files["/home/alice/.ssh/authorized_keys"] = key
		root := sshFixture(t, c.files)
		p, err := planSSH(t, root, c.opts)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, f := range p.Files {
			b.WriteString("=== " + f.Path + " (" + f.Mode.String() + ")\n")
			b.Write(f.Data)
		}
		b.WriteString("=== actions\n")
		for _, a := range p.Actions {
			if strings.HasPrefix(a, "not checked with sshd -t") || strings.HasPrefix(a, "check the result with sshd -t") {
				continue // depends on the machine running the test
			}
			b.WriteString(strings.ReplaceAll(a, root, "ROOT") + "\n")
		}
		b.WriteString("=== checks\n" + strings.Join(p.Checks, "\n") + "\n")
		golden := filepath.Join("testdata", c.golden)
		if *update {
			if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run with -update)", err)
		}
		if b.String() != string(want) {
			t.Errorf("dry run differs from %s:\n%s", golden, b.String())
		}
	}
}

// TestSSHValidate runs the real sshd -t on the staged files: a good plan
// passes, and a broken staged drop-in is caught, which proves the staged
// sshd_config includes the staged directory rather than /etc/ssh.
func TestSSHValidate(t *testing.T) {
	if why := validateSkip(&Env{}); why != "" {
		t.Skipf("skipping: %s (run as root with openssh-server installed: scripts/deps.sh)", why)
	}
	root := sshFixture(t, map[string]string{"/home/alice/.ssh/authorized_keys": pubKey(t), "/etc/ssh/sshd_config.d/50-cloud-init.conf": "PasswordAuthentication yes\n"})
	env := &Env{Root: root}
	p, err := (&sshArea{}).Plan(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	stage := func(mut func(path string, b []byte) []byte) map[string]string {
		dir := t.TempDir()
		m := map[string]string{}
		for i, f := range p.Files {
			tmp := filepath.Join(dir, strings.Repeat("f", i+1))
			if err := os.WriteFile(tmp, mut(f.Path, f.Data), 0o600); err != nil {
				t.Fatal(err)
			}
			m[f.Path] = tmp
		}
		return m
	}
	if err := p.Validate(context.Background(), stage(func(_ string, b []byte) []byte { return b })); err != nil {
		t.Fatalf("valid plan refused: %v", err)
	}
	err = p.Validate(context.Background(), stage(func(path string, b []byte) []byte {
		if path == sshDropIn {
			return append(b, "MaxAuthTries lots\n"...)
		}
		return b
	}))
	if err == nil || !strings.Contains(err.Error(), "sshd -t refuses") || !strings.Contains(err.Error(), "50-rampart.conf") {
		t.Errorf("broken staged drop-in: %v", err)
	}
}

// checkEffective reads `sshd -T` output: the drop-in's values pass, an
// effective value from elsewhere is refused with the keyword.
func TestSSHCheckEffective(t *testing.T) {
	p := &sshPlan{settings: []sshSetting{{"PasswordAuthentication", "no", nil}, {"AllowUsers", "alice bob", nil}, {"MACs", "-hmac-sha1*", nil}, {"Port", "2222", nil}}}
	good := "port 2222\npasswordauthentication no\nallowusers alice\nallowusers bob\nmacs hmac-sha2-256\n"
	if err := p.checkEffective([]byte(good)); err != nil {
		t.Errorf("good output refused: %v", err)
	}
	for _, bad := range []string{
		strings.Replace(good, "passwordauthentication no", "passwordauthentication yes", 1),
		strings.Replace(good, "port 2222", "port 22\nport 2222", 1),
		strings.Replace(good, "allowusers bob\n", "", 1),
	} {
		if err := p.checkEffective([]byte(bad)); err == nil {
			t.Errorf("accepted:\n%s", bad)
		}
	}
}

// The new port is let in from where the old one is: everyone, or only the
// admin network of allow_from.
func TestSSHMovePortRules(t *testing.T) {
	tcp := func(p uint16) portspec.Spec { return portspec.Spec{Proto: "tcp", From: p, To: p} }
	admin := netip.MustParsePrefix("198.51.100.0/24")
	other := netip.MustParseAddr("203.0.113.9")
	cases := []struct {
		name          string
		rules         []policy.Rule
		adminIn, open bool
	}{
		{"open to all", []policy.Rule{{Kind: policy.KindPort, Port: tcp(22)}}, true, true},
		{"allow_from only", []policy.Rule{{Kind: policy.KindPort, Port: tcp(22), Source: admin}}, true, false},
		{"not named", []policy.Rule{{Kind: policy.KindPort, Port: tcp(80)}}, true, true},
	}
	for _, c := range cases {
		pol := &policy.Policy{Enabled: true, Rules: c.rules}
		got := &policy.Policy{Enabled: true, Rules: movePortRules(pol, []string{"22"}, 2222)}
		if got.Accepts(netip.MustParseAddr("198.51.100.7"), "tcp", 2222) != c.adminIn || got.Accepts(other, "tcp", 2222) != c.open {
			t.Errorf("%s: rules %v", c.name, got.Strings())
		}
		if again := movePortRules(got, []string{"22"}, 2222); len(again) != len(got.Rules) {
			t.Errorf("%s: a second move added rules: %v", c.name, again)
		}
	}
}

func TestSSHRunningConfig(t *testing.T) {
	proc := t.TempDir()
	write := func(pid, comm, stat, cmdline string) {
		os.MkdirAll(filepath.Join(proc, pid), 0o755)
		os.WriteFile(filepath.Join(proc, pid, "comm"), []byte(comm+"\n"), 0o644)
		os.WriteFile(filepath.Join(proc, pid, "stat"), []byte(stat), 0o644)
		os.WriteFile(filepath.Join(proc, pid, "cmdline"), []byte(cmdline), 0o644)
	}
	write("1", "systemd", "1 (systemd) S 0 1", "/sbin/init\x00")
	write("200", "sshd", "200 (sshd) S 1 200", "sshd: /usr/sbin/sshd -D -f /etc/ssh/custom_config [listener] 0 of 10-100 startups")
	write("300", "sshd", "300 (sshd) S 200 300", "sshd: alice [priv]\x00")
	if got := runningSSHDConfig(proc); got != "/etc/ssh/custom_config" {
		t.Errorf("got %q", got)
	}
	os.WriteFile(filepath.Join(proc, "200", "cmdline"), []byte("/usr/sbin/sshd\x00-D\x00"), 0o644)
	if got := runningSSHDConfig(proc); got != "" {
		t.Errorf("default config: got %q", got)
	}
}

func TestSSHReloadCommand(t *testing.T) {
	c, how, err := sshReloadCommand("/tmp/some-root", "/tmp/some-root/run/sshd.pid")
	if err != nil || c.Name != "pkill" || !slices.Equal(c.Args, []string{"-HUP", "-F", "/tmp/some-root/run/sshd.pid", "-x", "sshd"}) || !strings.Contains(how, "SIGHUP") {
		t.Errorf("throwaway root: %+v %q %v", c, how, err)
	}
	if _, _, err := sshReloadCommand("/tmp/some-root", "none"); err == nil || !strings.Contains(err.Error(), "PidFile none") {
		t.Errorf("PidFile none: %v", err)
	}
	root := t.TempDir()
	if socketActivated(root) {
		t.Error("socket activation without the unit")
	}
	os.MkdirAll(filepath.Join(root, "/etc/systemd/system/sockets.target.wants"), 0o755)
	os.Symlink("/lib/systemd/system/ssh.socket", filepath.Join(root, "/etc/systemd/system/sockets.target.wants/ssh.socket"))
	if !socketActivated(root) {
		t.Error("ssh.socket enabled, not seen")
	}
}

// TestSSHCheckEffectiveRealSSHD feeds the real `sshd -T` output for a
// drop-in with every setting the area writes to checkEffective: sshd's
// spelling of each value must be understood (it prints prohibit-password
// as without-password, AllowUsers one per line).
func TestSSHCheckEffectiveRealSSHD(t *testing.T) {
	if why := validateSkip(&Env{}); why != "" {
		t.Skipf("skipping: %s (run as root with openssh-server installed: scripts/deps.sh)", why)
	}
	root := sshFixture(t, map[string]string{
		"/etc/ssh/sshd_config": "PermitEmptyPasswords yes\nIgnoreRhosts no\nPermitUserEnvironment yes\nMaxSessions 50\nCiphers +3des-cbc\nKexAlgorithms +diffie-hellman-group1-sha1\n",
	})
	v := &sshView{root: root}
	cur, err := v.walkSSHD(sshMainConfig)
	if err != nil {
		t.Fatal(err)
	}
	p := &sshPlan{settings: sshSettings(cur, Options{AllowUsers: []string{"alice", "bob"}, AllowGroups: []string{"sudo"}, Port: 2222}, "prohibit-password")}
	if len(p.settings) < 20 {
		t.Fatalf("only %d settings: the fixture should need every extra", len(p.settings))
	}
	dir := t.TempDir()
	hk, err := tempHostKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "sshd_config")
	os.WriteFile(conf, renderDropIn(p.settings), 0o600)
	bin, _ := sshdBinary()
	out, err := exec.Command(bin, "-T", "-f", conf, "-o", "HostKey="+hk).CombinedOutput()
	if err != nil {
		t.Fatalf("sshd -T: %v %s", err, out)
	}
	if err := p.checkEffective(out); err != nil {
		t.Error(err)
	}
}
