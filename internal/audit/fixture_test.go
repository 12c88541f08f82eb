package audit

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// The fixture tests build the hardened tree under testdata/trees/hardened
// (a host where every check passes), apply one small change per case, and
// run one check. Every check has a case where it passes and one where it
// fails; TestFixtureCoverage enforces that.

var fixtureNow = time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)

const sshdTKey = "sshd -T -C user=root,host=localhost,addr=127.0.0.1 -f /etc/ssh/sshd_config"

// fakeRunner answers commands from a table; unknown commands are "not found".
type fakeRunner map[string]string

func (f fakeRunner) Run(ctx context.Context, name string, args ...string) ([]byte, error) {
	k := strings.Join(append([]string{name}, args...), " ")
	out, ok := f[k]
	if !ok {
		return nil, &exec.Error{Name: name, Err: exec.ErrNotFound}
	}
	if msg, isErr := strings.CutPrefix(out, "@err:"); isErr {
		return nil, errors.New(msg)
	}
	if d, slow := strings.CutPrefix(out, "@sleep:"); slow {
		dur, _ := time.ParseDuration(d)
		select {
		case <-time.After(dur):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return nil, nil
	}
	return []byte(out), nil
}

// nft JSON building blocks.
const (
	exIifLo  = `{"match":{"op":"==","left":{"meta":{"key":"iif"}},"right":"lo"}}`
	exCt     = `{"match":{"op":"in","left":{"ct":{"key":"state"}},"right":["established","related"]}}`
	exTCP22  = `{"match":{"op":"==","left":{"payload":{"protocol":"tcp","field":"dport"}},"right":22}}`
	exAccept = `{"accept":null}`
	exDrop   = `{"drop":null}`
	exLog    = `{"log":{"prefix":"nft drop: "}}`
)

func nftDoc(objs ...string) string {
	return `{"nftables":[{"metainfo":{"version":"1.0.6","json_schema_version":1}}` + prefixEach(",", objs) + `]}`
}

func prefixEach(p string, xs []string) string {
	var b strings.Builder
	for _, x := range xs {
		b.WriteString(p + x)
	}
	return b.String()
}

func nftTable(fam, name string) string {
	return fmt.Sprintf(`{"table":{"family":%q,"name":%q,"handle":1}}`, fam, name)
}

func nftBase(fam, table, name, hook, policy string) string {
	return fmt.Sprintf(`{"chain":{"family":%q,"table":%q,"name":%q,"handle":1,"type":"filter","hook":%q,"prio":0,"policy":%q}}`, fam, table, name, hook, policy)
}

func nftRuleJ(fam, table, chain string, exprs ...string) string {
	return fmt.Sprintf(`{"rule":{"family":%q,"table":%q,"chain":%q,"handle":2,"expr":[%s]}}`, fam, table, chain, strings.Join(exprs, ","))
}

// hardenedRuleset is /etc/nftables.conf of the hardened tree, as nft -j prints it.
func hardenedRuleset() string {
	return nftDoc(nftTable("inet", "filter"), nftBase("inet", "filter", "input", "input", "drop"),
		nftRuleJ("inet", "filter", "input", exIifLo, exAccept),
		nftRuleJ("inet", "filter", "input", exCt, exAccept),
		nftRuleJ("inet", "filter", "input", exTCP22, exAccept),
		nftRuleJ("inet", "filter", "input", exLog))
}

// hardenedSSHD is the sshd -T output of the hardened tree, as a map so
// cases can change one keyword.
func hardenedSSHD() map[string]string {
	return map[string]string{
		"port": "22", "listenaddress": "0.0.0.0:22\n[::]:22", "permitrootlogin": "no",
		"passwordauthentication": "no", "kbdinteractiveauthentication": "no", "permitemptypasswords": "no",
		"maxauthtries": "3", "logingracetime": "30", "allowgroups": "sshusers", "disableforwarding": "yes",
		"x11forwarding": "no", "allowtcpforwarding": "yes", "loglevel": "VERBOSE", "clientaliveinterval": "300",
		"clientalivecountmax": "2", "maxstartups": "10:30:60", "maxsessions": "4", "ignorerhosts": "yes",
		"hostbasedauthentication": "no", "permituserenvironment": "no", "usepam": "yes", "banner": "/etc/issue.net",
		"ciphers":       "chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr,aes192-ctr,aes128-ctr",
		"macs":          "hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,umac-128-etm@openssh.com",
		"kexalgorithms": "sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,diffie-hellman-group16-sha512",
		"hostkey":       "/etc/ssh/ssh_host_ed25519_key", "authenticationmethods": "any",
	}
}

func renderSSHDT(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		for _, v := range strings.Split(m[k], "\n") {
			fmt.Fprintf(&b, "%s %s\n", k, v)
		}
	}
	return b.String()
}

func hardenedCommands() map[string]string {
	return map[string]string{
		"nft -j list ruleset": hardenedRuleset(),
		"auditctl -l": "-w /etc/passwd -p wa -k identity\n-w /etc/shadow -p wa -k identity\n-w /etc/group -p wa -k identity\n" +
			"-w /etc/gshadow -p wa -k identity\n-w /etc/sudoers -p wa -k scope\n-w /etc/sudoers.d -p wa -k scope\n" +
			"-w /etc/ssh/sshd_config -p wa -k sshd\n-w /usr/bin -p wa -k binaries\n-w /usr/sbin -p wa -k binaries\n",
		"auditctl -s": "enabled 2\nfailure 1\npid 400\nrate_limit 0\nbacklog_limit 8192\n",
		"apt-config dump": "APT \"\";\nAPT::Periodic \"\";\nAPT::Periodic::Update-Package-Lists \"1\";\nAPT::Periodic::Unattended-Upgrade \"1\";\n" +
			"Unattended-Upgrade \"\";\nUnattended-Upgrade::Origins-Pattern \"\";\n" +
			"Unattended-Upgrade::Origins-Pattern:: \"origin=Debian,codename=${distro_codename},label=Debian\";\n" +
			"Unattended-Upgrade::Origins-Pattern:: \"origin=Debian,codename=${distro_codename}-security,label=Debian-Security\";\n",
	}
}

// fixture is one change to the hardened tree.
type fixture struct {
	files map[string]string      // path -> content; "@link:T" symlink, "@dir" directory, "@del" removed
	modes map[string]fs.FileMode // modes after writing
	ages  map[string]time.Duration
	cmds  map[string]string // command -> output, "@err:msg", "@sleep:5s"; "@del" removes
	sshd  map[string]string // sshd -T keyword -> value; "" removes
	env   func(e *Env)
	// probePassword makes the SSH server the live probe meets offer passwords.
	probePassword bool
}

var baseModes = map[string]fs.FileMode{
	"etc/shadow": 0o640, "etc/gshadow": 0o640, "etc/sudoers": 0o440, "etc/sudoers.d": 0o750,
	"etc/ssh/sshd_config": 0o600, "etc/ssh/ssh_host_ed25519_key": 0o600, "root": 0o700,
	"home/alice": 0o750, "usr/bin/ls": 0o755, "usr/sbin/sshd": 0o755,
}

var baseAges = map[string]time.Duration{
	"var/backups/.last-restore-test": 10 * 24 * time.Hour,
	"etc/rampart/incident.md":        30 * 24 * time.Hour,
}

// fixtureEnv is what a fixture test needs besides the Env.
type fixtureEnv struct {
	env  *Env
	root string
}

// aliceUID is the uid of the ordinary user in the tree: 1000 as root, the
// caller's own uid otherwise (the tree's files can only be owned by it).
func aliceUID() int {
	if os.Geteuid() == 0 {
		return 1000
	}
	return os.Getuid()
}

// buildFixture writes the hardened tree with fx applied and returns an Env
// for it. probes are the SSH servers (publickey only, and with password).
func buildFixture(t testing.TB, fx fixture, probes *probeServers) fixtureEnv {
	t.Helper()
	root := t.TempDir()
	src := filepath.Join("testdata", "trees", "hardened")
	if err := copyTree(src, root); err != nil {
		t.Fatal(err)
	}
	passwd := filepath.Join(root, "etc/passwd")
	b, err := os.ReadFile(passwd)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(passwd, []byte(strings.ReplaceAll(string(b), "@UID@", strconv.Itoa(aliceUID()))), 0o644); err != nil {
		t.Fatal(err)
	}
	for p, c := range fx.files {
		if err := writeFixtureFile(root, p, c); err != nil {
			t.Fatal(err)
		}
	}
	if os.Geteuid() == 0 {
		if err := os.Chown(filepath.Join(root, "home/alice"), 1000, 1000); err != nil {
			t.Fatal(err)
		}
	}
	// Every file is an hour old unless a case says otherwise.
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.Type()&fs.ModeSymlink != 0 {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		a := time.Hour
		if v, ok := baseAges[rel]; ok {
			a = v
		}
		if v, ok := fx.ages[rel]; ok {
			a = v
		}
		return os.Chtimes(p, fixtureNow.Add(-a), fixtureNow.Add(-a))
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, modes := range []map[string]fs.FileMode{baseModes, fx.modes} {
		for p, m := range modes {
			if err := os.Chmod(filepath.Join(root, p), m); err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
		}
	}
	cmds := hardenedCommands()
	sshd := hardenedSSHD()
	for k, v := range fx.sshd {
		if v == "" {
			delete(sshd, k)
		} else {
			sshd[k] = v
		}
	}
	cmds[sshdTKey] = renderSSHDT(sshd)
	for k, v := range fx.cmds {
		if v == "@del" {
			delete(cmds, k)
		} else {
			cmds[k] = v
		}
	}
	cfg, err := LoadConfig(filepath.Join(root, "etc/rampart/audit.toml"))
	if err != nil && !os.IsNotExist(errors.Unwrap(err)) {
		t.Fatal(err)
	}
	target := probes.nopass
	if fx.probePassword {
		target = probes.pass
	}
	e := &Env{
		Root:           root,
		Proc:           filepath.Join(root, "proc"),
		Exec:           fakeRunner(cmds),
		Config:         cfg,
		Now:            fixtureNow,
		Privileged:     true,
		Host:           "hardened",
		RampartSocket:  probes.rampart,
		Fail2banSocket: filepath.Join(root, "run/fail2ban/fail2ban.sock"),
		rootUID:        uint32(os.Geteuid()),
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var d net.Dialer
			if network == "tcp" {
				return d.DialContext(ctx, "tcp", target)
			}
			return d.DialContext(ctx, network, addr)
		},
	}
	if fx.env != nil {
		fx.env(e)
	}
	return fixtureEnv{env: e, root: root}
}

func writeFixtureFile(root, p, c string) error {
	full := filepath.Join(root, p)
	switch {
	case c == "@del":
		return os.RemoveAll(full)
	case c == "@dir":
		return os.MkdirAll(full, 0o755)
	}
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return err
	}
	if t, ok := strings.CutPrefix(c, "@link:"); ok {
		os.RemoveAll(full)
		return os.Symlink(t, full)
	}
	os.Remove(full) // replace symlinks rather than write through them
	return os.WriteFile(full, []byte(c), 0o644)
}

func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(out, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			t, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(t, out)
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		o, err := os.OpenFile(out, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
		if err != nil {
			return err
		}
		if _, err := io.Copy(o, in); err != nil {
			o.Close()
			return err
		}
		return o.Close()
	})
}

// probeServers are the in-process SSH servers and rampart control socket
// the fixture trees' live probes reach.
type probeServers struct {
	nopass, pass string // tcp addresses
	rampart      string // unix socket answering GET /v1/status
}

// hardenedStatus is rampart's GET /v1/status with an sshd jail on auth.log.
const hardenedStatus = `{"jails":[{"name":"sshd","filter":"sshd","sources":["/var/log/auth.log"],"failures_now":0,"failures_total":3,"banned_now":1,"banned_total":1,"banned":["192.0.2.7/32"]}]}`

func startProbes(t testing.TB) *probeServers {
	t.Helper()
	return &probeServers{
		nopass:  startSSHServer(t, false),
		pass:    startSSHServer(t, true),
		rampart: startStatusServer(t, hardenedStatus),
	}
}

// startSSHServer runs an x/crypto/ssh server on loopback that refuses every
// login; withPassword makes it offer the password method.
func startSSHServer(t testing.TB, withPassword bool) string {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(ssh.ConnMetadata, ssh.PublicKey) (*ssh.Permissions, error) {
			return nil, errors.New("no")
		},
	}
	if withPassword {
		cfg.PasswordCallback = func(ssh.ConnMetadata, []byte) (*ssh.Permissions, error) { return nil, errors.New("no") }
	}
	cfg.AddHostKey(signer)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				ssh.NewServerConn(c, cfg)
			}()
		}
	}()
	return ln.Addr().String()
}

// startStatusServer serves body as GET /v1/status on a fresh unix socket.
func startStatusServer(t testing.TB, body string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "rampart-audit-sock")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "r.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/status" {
			http.NotFound(w, r)
			return
		}
		if body == "@403" {
			http.Error(w, `{"error":"permission denied"}`, http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, body)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return sock
}

// runCheck runs the check id against e and returns its finding.
func runCheck(t testing.TB, e *Env, id string) Finding {
	t.Helper()
	c, ok := Lookup(Checks(), id)
	if !ok {
		t.Fatalf("no check %q", id)
	}
	rep := Run(context.Background(), e, []Check{c}, Options{Timeout: 10 * time.Second})
	return rep.Checks[0]
}
