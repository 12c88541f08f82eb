package harden

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-ids/rampart/internal/audit"
	"github.com/rampart-ids/rampart/internal/policy"
)

const (
	sshMainConfig = "/etc/ssh/sshd_config"
	sshDropInDir  = "/etc/ssh/sshd_config.d"
	sshDropIn     = sshDropInDir + "/50-rampart.conf"
	// sshDefaultConfirm is the commit-confirmed window of a port move.
	sshDefaultConfirm = 120 * time.Second
	// sshDisabledMark starts a line the area commented out.
	sshDisabledMark = "# [rampart harden ssh: 50-rampart.conf decides this] "
)

// sshArea is the ssh hardening area. The zero value acts on this host's
// network namespace; tests set kernel, host and watch for a namespace.
type sshArea struct {
	kernel policy.Kernel
	host   policy.Host
	watch  func(stateDir, id string) (int, error)
	now    func() time.Time
	proc   string // "/proc" unless set
}

// SSH returns the ssh area: a drop-in that turns password logins off (with
// a guard against locking everyone out), placed so that it wins.
func SSH() Area { return &sshArea{} }

func (a *sshArea) Name() string { return "ssh" }

func (a *sshArea) procDir() string {
	if a.proc != "" {
		return a.proc
	}
	return "/proc"
}

// sshSetting is one line of the drop-in.
type sshSetting struct {
	Key    string // as written (PermitRootLogin)
	Value  string
	Checks []string // audit checks it helps pass
}

func (s sshSetting) key() string { return strings.ToLower(s.Key) }

// sshPlan is everything Plan decided, kept for Validate and Activate.
type sshPlan struct {
	view     *sshView
	main     string // seen path of sshd_config
	dropIn   string // seen path of the drop-in
	settings []sshSetting
	result   *sshStream        // the configuration after the change
	before   map[string][]byte // seen path -> content before (nil: absent)
	files    []File
	port     int // new port, 0 = unchanged
	oldPorts []string
	reload   []Command
	pidFile  string
}

func (a *sshArea) Plan(ctx context.Context, env *Env) (*Proposal, error) {
	now := time.Now()
	if a.now != nil {
		now = a.now()
	}
	v := &sshView{root: env.Root, literal: env.Live, overlay: map[string][]byte{}}
	if v.root == "" {
		v.root = "/"
	}
	opts := env.Options
	opts.AllowUsers, opts.AllowGroups = slices.Clone(opts.AllowUsers), slices.Clone(opts.AllowGroups)
	p := &sshPlan{view: v, main: v.seen(sshMainConfig), dropIn: v.seen(sshDropIn), port: opts.Port}
	if env.Live && v.root == "/" {
		// The running daemon's own -f file is the one it reads.
		if f := runningSSHDConfig(a.procDir()); f != "" && filepath.IsAbs(f) {
			p.main = filepath.Clean(f)
		}
	}
	if !v.exists(p.main) {
		return nil, fmt.Errorf("harden ssh: %s does not exist: is openssh-server installed?", v.disk(p.main))
	}
	// The configuration as it would be without rampart's drop-in decides
	// what the drop-in needs; the choices of an earlier run (allow lists,
	// port) are kept unless given again.
	prev, err := v.readFile(p.dropIn)
	if err == nil {
		lines, err := parseSSHDLines(v.disk(p.dropIn), prev)
		if err != nil {
			return nil, fmt.Errorf("harden ssh: %w (fix or remove the file; nothing was changed)", err)
		}
		o := &opts
		for _, l := range lines {
			switch {
			case l.Key == "allowusers" && len(o.AllowUsers) == 0:
				o.AllowUsers = slices.Clone(l.Args)
			case l.Key == "allowgroups" && len(o.AllowGroups) == 0:
				o.AllowGroups = slices.Clone(l.Args)
			case l.Key == "port" && o.Port == 0 && len(l.Args) == 1:
				o.Port = atoi(l.Args[0])
			}
		}
		p.port = o.Port
	}
	real, err := v.walkSSHD(p.main)
	if err != nil {
		return nil, fmt.Errorf("harden ssh: %w (fix the file first; nothing was changed)", err)
	}
	v.overlay[p.dropIn] = nil
	cur, err := v.walkSSHD(p.main)
	if err != nil {
		return nil, fmt.Errorf("harden ssh: %w (fix the file first; nothing was changed)", err)
	}
	delete(v.overlay, p.dropIn)
	if p.port < 0 || p.port > 65535 {
		return nil, fmt.Errorf("harden ssh: --port %d is not a TCP port (1-65535)", p.port)
	}
	if p.port != 0 {
		p.oldPorts = real.values("port")
		if len(p.oldPorts) == 0 {
			p.oldPorts = []string{"22"}
		}
		if slices.Equal(p.oldPorts, []string{strconv.Itoa(p.port)}) {
			p.port = 0 // already there
		}
	}
	if p.port != 0 {
		for _, l := range cur.all("listenaddress") {
			if a := l.value(); strings.Contains(a, "]:") || strings.Count(a, ":") == 1 {
				return nil, fmt.Errorf("harden ssh: %s line %d: ListenAddress %s names its own port, which --port cannot move; change it by hand", v.disk(l.File), l.N, a)
			}
		}
		if env.Live && socketActivated(v.root) {
			return nil, fmt.Errorf("harden ssh: sshd is socket-activated (ssh.socket): its port is the socket's, not sshd_config's; move it with `systemctl edit ssh.socket` (ListenStream=) and leave --port out")
		}
	}

	// Who may log in afterwards decides PermitRootLogin and the guard.
	allowU, allowG := opts.AllowUsers, opts.AllowGroups
	if len(allowU) == 0 {
		allowU = cur.values("allowusers")
	}
	if len(allowG) == 0 {
		allowG = cur.values("allowgroups")
	}
	for _, n := range append(slices.Clone(opts.AllowUsers), opts.AllowGroups...) {
		if n == "" || strings.ContainsAny(n, " \t\n\"#,") {
			return nil, fmt.Errorf("harden ssh: %q is not a user or group name for AllowUsers/AllowGroups", n)
		}
	}
	accts, err := v.accounts(cur, allowU, allowG, now, env.Live)
	if err != nil {
		return nil, err
	}
	prl, notes, err := sshGuard(v, cur, accts, opts.Force)
	if err != nil {
		return nil, err
	}
	p.settings = sshSettings(cur, opts, prl)

	// Write the drop-in and make it win.
	p.before = map[string][]byte{}
	v.overlay[p.dropIn] = renderDropIn(p.settings)
	res, more, err := p.place(cur)
	if err != nil {
		return nil, err
	}
	notes = append(notes, more...)
	p.result = res
	for _, seen := range sortedKeys(v.overlay) {
		data := v.overlay[seen]
		old, rerr := os.ReadFile(v.disk(seen))
		if rerr == nil && bytes.Equal(old, data) {
			continue
		}
		hp, err := v.host(seen)
		if err != nil {
			return nil, fmt.Errorf("harden ssh: %w", err)
		}
		if rerr == nil {
			p.before[seen] = old
		}
		p.files = append(p.files, File{Path: hp, Data: data, Mode: v.fileMode(seen)})
	}

	prop := &Proposal{Area: "ssh", Files: p.files, Checks: sshCheckIDs(p.settings)}
	prop.Actions = append(prop.Actions, notes...)
	if len(p.files) == 0 {
		prop.Actions = append(prop.Actions, "sshd's configuration already has every setting: nothing to change")
		return prop, nil
	}
	prop.Validate = func(ctx context.Context, staged map[string]string) error { return p.validate(ctx, env, staged) }
	if why := validateSkip(env); why != "" {
		prop.Actions = append(prop.Actions, "not checked with sshd -t: "+why)
	} else {
		prop.Actions = append(prop.Actions, "check the result with sshd -t -f (and sshd -T on the live host) before installing")
	}
	if env.Live {
		p.pidFile = res.get("pidfile")
		cmd, how, err := sshReloadCommand(v.root, p.pidFile)
		if err != nil {
			return nil, err
		}
		p.reload = []Command{cmd}
		prop.Reload = p.reload
		prop.Actions = append(prop.Actions, "reload sshd ("+how+"): it re-reads its configuration; connected sessions stay")
	} else {
		prop.Actions = append(prop.Actions, "sshd is not reloaded (not the live host): the change takes effect at its next start or reload")
	}
	if p.port != 0 {
		win, err := confirmWindow(opts.Confirm)
		if err != nil {
			return nil, err
		}
		prop.Actions = append(prop.Actions, fmt.Sprintf("move sshd from port %s to %d/tcp: the baseline (when one is in force) lets %d/tcp in first, from where the old port is allowed, commit-confirmed for %s; log in again on port %d and run `rampart firewall confirm` in time, or the firewall and sshd's files go back and sshd is reloaded on its old port", strings.Join(p.oldPorts, ","), p.port, p.port, win, p.port),
			fmt.Sprintf("add \"%d/tcp\" to [baseline] allow in rampart.toml so the daemon keeps the port open across restarts", p.port))
		if env.Live {
			prop.Activate = func(ctx context.Context) error { return a.activate(ctx, env, p, win) }
		}
	}
	return prop, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// sshGuard decides PermitRootLogin and refuses a configuration nobody
// could log in to with a key. It returns explanatory notes.
func sshGuard(v *sshView, cur *sshStream, accts []account, force bool) (string, []string, error) {
	usePAM := strings.EqualFold(cur.get("usepam"), "yes")
	var root *account
	var others, admins []*account
	for i := range accts {
		u := &accts[i]
		if usePAM && strings.HasPrefix(u.Locked, "locked") {
			// With UsePAM, sshd leaves the lock to PAM's account phase,
			// which does not look at a locked password: keys still work.
			u.Locked = ""
		}
		if u.Locked != "" || u.Keys == 0 {
			continue
		}
		if u.UID == 0 && u.Name == "root" {
			root = u
			continue
		}
		others = append(others, u)
		if u.admin() {
			admins = append(admins, u)
		}
	}
	prl := "no"
	var notes []string
	if root != nil && len(admins) == 0 {
		prl = "prohibit-password"
		notes = append(notes, "PermitRootLogin prohibit-password, not no: root logs in with a key and no other account in "+strings.Join(adminGroups, "/")+" does; give an admin account a key and run harden ssh again to turn root logins off")
	}
	usable := slices.Clone(others)
	if prl != "no" && root != nil {
		usable = append(usable, root)
	}
	if len(usable) > 0 {
		names := make([]string, len(usable))
		for i, u := range usable {
			names[i] = u.Name
		}
		notes = append(notes, "key logins stay possible for: "+strings.Join(names, ", "))
		return prl, notes, nil
	}
	msg := sshGuardMessage(v, cur, accts)
	if force {
		return prl, append(notes, "GUARD OVERRIDDEN with --force: "+msg), nil
	}
	return "", nil, fmt.Errorf("%s", msg)
}

func sshGuardMessage(v *sshView, cur *sshStream, accts []account) string {
	var b strings.Builder
	b.WriteString("harden ssh: refusing to turn password logins off: no account that may log in over ssh has an authorized key, so nobody could log in afterwards.\n")
	var who *account
	shown := 0
	for i := range accts {
		u := &accts[i]
		if u.Shell == "" || strings.HasSuffix(u.Shell, "/nologin") || strings.HasSuffix(u.Shell, "/false") || u.Shell == "/bin/sync" {
			continue
		}
		why := u.Locked
		switch {
		case why != "":
		case u.KeyNote != "":
			why = u.KeyNote
		default:
			why = "no key in " + strings.Join(u.KeyFiles, ", ")
		}
		if u.Name == "root" && why == "no key in "+strings.Join(u.KeyFiles, ", ") {
			why += " (root logins are turned off anyway when another admin has a key)"
		}
		if shown < 12 {
			fmt.Fprintf(&b, "  %s: %s\n", u.Name, why)
			shown++
		}
		if u.Locked == "" && (who == nil || who.UID == 0 && u.UID != 0) {
			who = u
		}
	}
	if cmd := cur.get("authorizedkeyscommand"); cmd != "" && cmd != "none" {
		fmt.Fprintf(&b, "  (AuthorizedKeysCommand %s may supply keys rampart cannot see)\n", cmd)
	}
	name, file := "USER", "~USER/.ssh/authorized_keys"
	if who != nil {
		name = who.Name
		if len(who.KeyFiles) > 0 {
			file = who.KeyFiles[0]
		}
	}
	fmt.Fprintf(&b, "Add a public key for an account you log in with, then run `rampart harden ssh` again:\n")
	fmt.Fprintf(&b, "  from your workstation:  ssh-copy-id -i ~/.ssh/id_ed25519.pub %s@THIS-HOST\n", name)
	fmt.Fprintf(&b, "  or on this host:        install -d -m 700 -o %s %s && cat KEY.pub >> %s && chmod 600 %s && chown %s %s\n",
		name, path.Dir(file), file, file, name, file)
	b.WriteString("--force overrides this guard (you may lock yourself out).")
	return b.String()
}

// sshSettings is the drop-in's content: the settings always, the
// other audit fixes where the current value fails the check (so a
// deliberate, stronger choice of the admin is not replaced).
func sshSettings(cur *sshStream, o Options, prl string) []sshSetting {
	s := []sshSetting{
		{"PermitRootLogin", prl, []string{"ssh.root-login"}},
		{"PasswordAuthentication", "no", []string{"ssh.password-auth"}},
		{"KbdInteractiveAuthentication", "no", []string{"ssh.kbd-interactive", "ssh.password-auth"}},
		{"PubkeyAuthentication", "yes", nil},
		{"MaxAuthTries", "3", []string{"ssh.max-auth-tries"}},
		{"LoginGraceTime", "30", []string{"ssh.login-grace-time"}},
	}
	is := func(k, want string) bool { return strings.EqualFold(cur.get(k), want) }
	if !is("permitemptypasswords", "no") {
		s = append(s, sshSetting{"PermitEmptyPasswords", "no", []string{"ssh.empty-passwords"}})
	}
	if !is("x11forwarding", "no") {
		s = append(s, sshSetting{"X11Forwarding", "no", []string{"ssh.x11-forwarding"}})
	}
	if !is("disableforwarding", "yes") {
		for _, k := range []string{"allowtcpforwarding", "allowagentforwarding", "allowstreamlocalforwarding", "permittunnel", "gatewayports"} {
			if !is(k, "no") {
				s = append(s, sshSetting{"DisableForwarding", "yes", []string{"ssh.forwarding"}})
				break
			}
		}
	}
	if !is("ignorerhosts", "yes") || !is("hostbasedauthentication", "no") {
		s = append(s, sshSetting{"IgnoreRhosts", "yes", []string{"ssh.host-based"}}, sshSetting{"HostbasedAuthentication", "no", []string{"ssh.host-based"}})
	}
	if !is("permituserenvironment", "no") {
		s = append(s, sshSetting{"PermitUserEnvironment", "no", []string{"ssh.user-environment"}})
	}
	if !is("loglevel", "verbose") {
		s = append(s, sshSetting{"LogLevel", "VERBOSE", []string{"ssh.log-level"}})
	}
	if n, _ := sshSeconds(cur.get("clientaliveinterval")); n <= 0 || atoi(cur.get("clientalivecountmax")) <= 0 {
		s = append(s, sshSetting{"ClientAliveInterval", "300", []string{"ssh.client-alive"}}, sshSetting{"ClientAliveCountMax", "2", []string{"ssh.client-alive"}})
	}
	ms, full := atoi(cur.get("maxsessions")), cur.get("maxstartups")
	if i := strings.LastIndexByte(full, ':'); i >= 0 {
		full = full[i+1:]
	}
	if ms == 0 || ms > 10 || atoi(full) == 0 || atoi(full) > 100 {
		s = append(s, sshSetting{"MaxSessions", "4", []string{"ssh.max-sessions"}}, sshSetting{"MaxStartups", "10:30:60", []string{"ssh.max-sessions"}})
	}
	for _, w := range weakAlgoRules {
		if algoList(cur.get(w.key), audit.SSHDDefault(w.key)).hasWeak(w.weak) {
			s = append(s, sshSetting{w.Key, "-" + strings.Join(w.remove, ","), []string{w.check}})
		}
	}
	if len(o.AllowUsers) > 0 {
		s = append(s, sshSetting{"AllowUsers", strings.Join(o.AllowUsers, " "), []string{"ssh.allow-users"}})
	}
	if len(o.AllowGroups) > 0 {
		s = append(s, sshSetting{"AllowGroups", strings.Join(o.AllowGroups, " "), []string{"ssh.allow-users"}})
	}
	if o.Port != 0 {
		s = append(s, sshSetting{"Port", strconv.Itoa(o.Port), nil})
	}
	return s
}

func atoi(s string) int { n, _ := strconv.Atoi(strings.TrimSpace(s)); return n }

// sshSeconds converts sshd's time format ("90", "1m30s") to seconds.
func sshSeconds(s string) (int, error) {
	total, num := 0, ""
	for _, r := range strings.ToLower(s) {
		if r >= '0' && r <= '9' {
			num += string(r)
			continue
		}
		mult := map[rune]int{'s': 1, 'm': 60, 'h': 3600, 'd': 86400, 'w': 604800}[r]
		n, err := strconv.Atoi(num)
		if mult == 0 || err != nil {
			return 0, fmt.Errorf("time %q", s)
		}
		total, num = total+n*mult, ""
	}
	if num != "" {
		n, err := strconv.Atoi(num)
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// weakAlgoRules remove, with sshd's "-list" form (from the defaults), what
// the audit's weak-algorithm checks flag.
var weakAlgoRules = []struct {
	Key, key, check string
	remove          []string
	weak            func(string) bool
}{
	{"Ciphers", "ciphers", "ssh.weak-ciphers", []string{"*-cbc", "3des-*", "arcfour*", "blowfish-*", "cast128-*", "rijndael-*"}, func(a string) bool {
		return strings.Contains(a, "-cbc") || strings.Contains(a, "3des") || strings.Contains(a, "arcfour") || strings.Contains(a, "blowfish") || strings.Contains(a, "cast128") || strings.Contains(a, "rijndael")
	}},
	{"MACs", "macs", "ssh.weak-macs", []string{"hmac-sha1*", "umac-64*", "hmac-md5*", "hmac-ripemd*"}, func(a string) bool {
		return strings.Contains(a, "md5") || strings.HasPrefix(a, "hmac-sha1") || strings.HasPrefix(a, "umac-64") || strings.Contains(a, "ripemd")
	}},
	{"KexAlgorithms", "kexalgorithms", "ssh.weak-kex", []string{"diffie-hellman-group1-sha1", "diffie-hellman-group14-sha1", "diffie-hellman-group-exchange-sha1"}, func(a string) bool {
		return strings.Contains(a, "group1-sha1") || strings.Contains(a, "group14-sha1") || strings.Contains(a, "exchange-sha1") || strings.HasSuffix(a, "-sha1") || strings.Contains(a, "sha1-")
	}},
}

type algos []string

// algoList evaluates an algorithm keyword's value (with sshd's +, - and ^
// forms) against its default list.
func algoList(v, def string) algos {
	split := func(s string) algos {
		var out algos
		for _, a := range strings.Split(s, ",") {
			if a = strings.ToLower(strings.TrimSpace(a)); a != "" {
				out = append(out, a)
			}
		}
		return out
	}
	if v == "" {
		return split(def)
	}
	switch v[0] {
	case '+':
		return append(split(def), split(v[1:])...)
	case '^':
		return append(split(v[1:]), split(def)...)
	case '-':
		var keep algos
		for _, a := range split(def) {
			drop := false
			for _, pat := range split(v[1:]) {
				if ok, _ := path.Match(pat, a); ok {
					drop = true
				}
			}
			if !drop {
				keep = append(keep, a)
			}
		}
		return keep
	}
	return split(v)
}

func (l algos) hasWeak(weak func(string) bool) bool { return slices.ContainsFunc(l, weak) }

func sshCheckIDs(s []sshSetting) []string {
	var out []string
	for _, x := range s {
		for _, c := range x.Checks {
			if !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
	}
	return out
}

// renderDropIn writes the drop-in.
func renderDropIn(s []sshSetting) []byte {
	var b bytes.Buffer
	b.WriteString("# Written by `rampart harden ssh`; `rampart harden undo` takes it back.\n")
	b.WriteString("# sshd uses the first value it reads for each keyword: sshd_config\n")
	b.WriteString("# includes this directory before its own settings, and earlier lines\n")
	b.WriteString("# that would override these are commented out where they are.\n")
	for _, x := range s {
		fmt.Fprintf(&b, "%s %s\n", x.Key, x.Value)
	}
	return b.Bytes()
}

// place makes the drop-in decide every keyword it sets: sshd_config must
// include it before any conflicting line (the Include is added or moved to
// the top), and a conflicting line in a file read earlier (an
// earlier-sorting drop-in such as 50-cloud-init.conf) is commented out.
// It checks the result as sshd will read it, not the intent.
func (p *sshPlan) place(cur *sshStream) (*sshStream, []string, error) {
	v := p.view
	var notes []string
	want := map[string]sshSetting{}
	for _, s := range p.settings {
		want[s.key()] = s
	}
	moved := false
	for round := 0; ; round++ {
		if round > 8 {
			return nil, nil, fmt.Errorf("harden ssh: could not place %s so that it wins (configuration keeps changing)", v.disk(p.dropIn))
		}
		s, err := v.walkSSHD(p.main)
		if err != nil {
			return nil, nil, fmt.Errorf("harden ssh: %w", err)
		}
		ours := map[string]int{} // key -> index of our first global line
		for i, l := range s.Lines {
			if l.File == p.dropIn && !l.InMatch {
				if _, ok := ours[l.Key]; !ok {
					ours[l.Key] = i
				}
			}
		}
		if len(ours) == 0 {
			// Not included at all, or only inside a Match block.
			if err := p.insertInclude(s, ""); err != nil {
				return nil, nil, err
			}
			moved = true
			notes = append(notes, fmt.Sprintf("%s did not include %s for all connections: an Include line is added at its top", v.disk(p.main), v.disk(p.seenDir())))
			continue
		}
		var conflicts []sshLine
		for i, l := range s.Lines {
			w, ok := want[l.Key]
			if !ok || l.File == p.dropIn || l.InMatch {
				continue
			}
			if sshMulti[l.Key] {
				conflicts = append(conflicts, l) // ours must be the only one
			} else if i < ours[l.Key] && !strings.EqualFold(l.value(), w.Value) {
				conflicts = append(conflicts, l)
			}
		}
		if len(conflicts) == 0 {
			// Verify: every keyword's effective value is ours.
			for _, w := range p.settings {
				k := w.key()
				if sshMulti[k] {
					// The same file included twice repeats its lines: harmless.
					if got := slices.Compact(slices.Sorted(slices.Values(s.values(k)))); !slices.Equal(got, slices.Compact(slices.Sorted(slices.Values(strings.Fields(w.Value))))) {
						return nil, nil, fmt.Errorf("harden ssh: after the change %s would be %v, not %s", w.Key, got, w.Value)
					}
				} else if got := s.first(k); got == nil || got.File != p.dropIn && !strings.EqualFold(got.value(), w.Value) {
					return nil, nil, fmt.Errorf("harden ssh: after the change %s would still come from elsewhere", w.Key)
				}
			}
			for _, l := range s.Lines {
				if _, ok := want[l.Key]; ok && l.InMatch {
					notes = append(notes, fmt.Sprintf("%s line %d sets %s %s inside a Match block: it still applies to the connections it matches (rampart leaves Match blocks alone)", v.disk(l.File), l.N, want[l.Key].Key, l.value()))
				}
			}
			return s, notes, nil
		}
		// A conflict in sshd_config itself, read before the drop-in:
		// the Include moves to the top (once).
		incLine := s.Via[p.dropIn]
		if !moved {
			for _, l := range conflicts {
				if l.File == p.main && l.N < incLine {
					if err := p.insertInclude(s, p.includePattern(s, incLine)); err != nil {
						return nil, nil, err
					}
					moved = true
					notes = append(notes, fmt.Sprintf("%s set %s before including %s: the Include moves to the top", v.disk(p.main), l.Key, v.disk(p.seenDir())))
					break
				}
			}
			if moved {
				continue
			}
		}
		for _, l := range conflicts {
			if err := p.comment(l.File, l.N); err != nil {
				return nil, nil, err
			}
			k := want[l.Key].Key
			notes = append(notes, fmt.Sprintf("%s line %d (%s %s) is commented out: 50-rampart.conf decides %s", v.disk(l.File), l.N, k, l.value(), k))
		}
	}
}

func (p *sshPlan) seenDir() string { return p.view.seen(sshDropInDir) }

// includePattern returns the pattern of sshd_config's line n when it is
// exactly the drop-in directory's, so the moved line replaces it.
func (p *sshPlan) includePattern(s *sshStream, n int) string {
	for _, l := range s.Lines {
		if l.File == p.main && l.N == n && l.Key == "include" && len(l.Args) == 1 {
			return l.Args[0]
		}
	}
	return ""
}

// insertInclude adds "Include DIR/*.conf" before sshd_config's first
// directive; old, when set, is the pattern of an Include line to comment
// out (the one moved).
func (p *sshPlan) insertInclude(s *sshStream, old string) error {
	b, err := p.view.readFile(p.main)
	if err != nil {
		return err
	}
	lines := strings.Split(string(b), "\n")
	pat := p.seenDir() + "/*.conf"
	if old != "" {
		for i, raw := range lines {
			f := strings.Fields(raw)
			if len(f) == 2 && strings.EqualFold(f[0], "include") && f[1] == old {
				lines[i] = sshDisabledMark + raw
			}
		}
	}
	at := len(lines)
	for i, raw := range lines {
		if t := strings.TrimSpace(raw); t != "" && !strings.HasPrefix(t, "#") {
			at = i
			break
		}
	}
	ins := []string{"# Added by rampart harden ssh: sshd takes the first value it reads, so the", "# drop-ins come before the settings below.", "Include " + pat, ""}
	lines = slices.Insert(lines, at, ins...)
	p.view.overlay[p.main] = []byte(strings.Join(lines, "\n"))
	return nil
}

// comment comments line n of seen file f out.
func (p *sshPlan) comment(f string, n int) error {
	if f == p.dropIn {
		return nil
	}
	b, err := p.view.readFile(f)
	if err != nil {
		return err
	}
	lines := strings.Split(string(b), "\n")
	if n < 1 || n > len(lines) {
		return fmt.Errorf("harden ssh: %s has no line %d", f, n)
	}
	lines[n-1] = sshDisabledMark + lines[n-1]
	p.view.overlay[f] = []byte(strings.Join(lines, "\n"))
	return nil
}

// confirmWindow parses Options.Confirm (default 120 s).
func confirmWindow(s string) (time.Duration, error) {
	if s == "" {
		return sshDefaultConfirm, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("harden ssh: --confirm %q is not a positive duration such as 120s", s)
	}
	return d, nil
}
