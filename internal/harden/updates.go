package harden

import (
	"context"
	"fmt"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
)

// UpdatesConf is the APT configuration file the updates area writes. It
// sorts after the package's own 20auto-upgrades and 50unattended-upgrades,
// so its scalars win and its origins add to theirs.
const UpdatesConf = "/etc/apt/apt.conf.d/52rampart-unattended-upgrades"

// aptTimers are the units that start APT's periodic run.
var aptTimers = []string{"apt-daily.timer", "apt-daily-upgrade.timer"}

// unitDirs are where systemd unit files live, searched in this order.
var unitDirs = []string{"/etc/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"}

// Updates turns on unattended security upgrades: the security archive of
// the distribution in ROOT/etc/os-release, APT's periodic run, and the
// timers that start it.
type Updates struct{}

// Name implements Area.
func (Updates) Name() string { return "updates" }

var updatesCheckIDs = []string{"updates.periodic", "updates.security-origin", "updates.timers"}

var rebootTime = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$|^now$`)

// keptReboot finds the reboot window in rampart's own file.
var keptReboot = regexp.MustCompile(`(?m)^Unattended-Upgrade::Automatic-Reboot-Time "([0-9:]{5}|now)";$`)

// Plan implements Area.
func (Updates) Plan(ctx context.Context, env *Env) (*Proposal, error) {
	osr, err := readOSRelease(env.Root)
	if err != nil {
		return nil, skipf("%v", err)
	}
	origins, kind, err := securityOrigins(osr)
	if err != nil {
		return nil, skipf("%v", err)
	}
	if st, err := os.Stat(hostPath(env.Root, "/etc/apt")); err != nil || !st.IsDir() {
		return nil, skipf("no /etc/apt: not an APT system")
	}
	rw := env.Options.RebootWindow
	if rw != "" && !rebootTime.MatchString(rw) {
		return nil, fmt.Errorf("--reboot-window %q: want a time HH:MM (e.g. 02:30) for Unattended-Upgrade::Automatic-Reboot-Time", rw)
	}
	p := &Proposal{Area: "updates"}
	failing := env.Failing(ctx, append(updatesCheckIDs, "updates.unattended-installed")...)
	fixes := func(id string) bool { return slices.Contains(failing, id) }
	ours, ourErr := os.ReadFile(hostPath(env.Root, UpdatesConf))
	if m := keptReboot.FindSubmatch(ours); rw == "" && ourErr == nil && m != nil {
		rw = string(m[1]) // a window chosen in an earlier run stays
	}

	if fixes("updates.periodic") || fixes("updates.security-origin") || ourErr == nil || env.Options.RebootWindow != "" {
		want := updatesContent(osr, kind, origins, rw)
		if ourErr != nil || string(ours) != want {
			p.Files = append(p.Files, File{Path: UpdatesConf, Data: []byte(want), Mode: 0o644})
		}
		for _, id := range []string{"updates.periodic", "updates.security-origin"} {
			if fixes(id) {
				p.Checks = append(p.Checks, id)
			}
		}
	}
	if fixes("updates.timers") {
		var enabled []string
		for _, u := range aptTimers {
			fs, note := enableUnit(env.Root, u, "timers.target")
			p.Files = append(p.Files, fs...)
			if note != "" {
				p.Actions = append(p.Actions, note)
			}
			if len(fs) > 0 {
				enabled = append(enabled, u)
			}
		}
		if len(enabled) > 0 {
			p.Checks = append(p.Checks, "updates.timers")
			p.Reload = append(p.Reload, Command{Name: "systemctl", Args: []string{"daemon-reload"}})
			p.Actions = append(p.Actions, "start "+strings.Join(enabled, " ")+" (live host only)")
			run := env.Run
			p.Activate = func(ctx context.Context) error {
				if run == nil {
					run = ExecRunner
				}
				if out, err := run(ctx, "systemctl", "daemon-reload"); err != nil {
					return fmt.Errorf("systemctl daemon-reload: %v: %s", err, out)
				}
				args := append([]string{"start"}, enabled...)
				if out, err := run(ctx, "systemctl", args...); err != nil {
					return fmt.Errorf("systemctl start: %v: %s", err, out)
				}
				return nil
			}
		}
	}
	if fixes("updates.unattended-installed") {
		p.Actions = append(p.Actions, "unattended-upgrades is not installed: rampart does not install packages; run apt-get install unattended-upgrades (these settings then take effect)")
	}
	return p, nil
}

// readOSRelease reads ROOT/etc/os-release, else ROOT/usr/lib/os-release.
func readOSRelease(root string) (map[string]string, error) {
	for _, p := range []string{"/etc/os-release", "/usr/lib/os-release"} {
		b, err := readHostFile(root, p)
		if err == nil {
			return ParseOSRelease(b), nil
		}
	}
	return nil, fmt.Errorf("no /etc/os-release: the distribution (and so its security archive) is unknown")
}

// readHostFile reads p under root, refusing anything but a regular file of
// at most 1 MiB (a FIFO in an image must not hang the plan).
func readHostFile(root, p string) ([]byte, error) {
	h := hostPath(root, p)
	st, err := os.Stat(h)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", p)
	}
	if st.Size() > 1<<20 {
		return nil, fmt.Errorf("%s: too large (%d bytes)", p, st.Size())
	}
	return os.ReadFile(h)
}

// securityOrigins returns the unattended-upgrades origins of the
// distribution's security archive and the list key they go in.
func securityOrigins(osr map[string]string) ([]string, string, error) {
	id := strings.ToLower(osr["ID"])
	like := strings.Fields(strings.ToLower(osr["ID_LIKE"]))
	code := osr["VERSION_CODENAME"]
	switch {
	case id == "ubuntu" || (slices.Contains(like, "ubuntu") && id != "debian"):
		return []string{
			"${distro_id}:${distro_codename}-security",
			"${distro_id}ESMApps:${distro_codename}-apps-security",
			"${distro_id}ESM:${distro_codename}-infra-security",
		}, "Unattended-Upgrade::Allowed-Origins", nil
	case id == "debian" || id == "raspbian" || slices.Contains(like, "debian"):
		if code == "" || code == "sid" {
			return nil, "", fmt.Errorf("ID=%s without a release codename (unstable?) has no security archive", id)
		}
		return []string{
			"origin=Debian,codename=${distro_codename}-security,label=Debian-Security",
			"origin=Debian,codename=${distro_codename},label=Debian-Security",
		}, "Unattended-Upgrade::Origins-Pattern", nil
	}
	if id == "" {
		id = "(none)"
	}
	return nil, "", fmt.Errorf("unattended-upgrades serves Debian and Ubuntu; this is ID=%s (use the distribution's own tool, e.g. dnf-automatic)", id)
}

func updatesContent(osr map[string]string, key string, origins []string, rebootWindow string) string {
	name := osr["PRETTY_NAME"]
	if name == "" {
		name = osr["ID"]
	}
	var b strings.Builder
	fmt.Fprintf(&b, "// Written by rampart harden (updates) for %s:\n", sanitizeComment(name))
	b.WriteString("// install security updates every day. Undo: rampart harden undo.\n")
	b.WriteString("APT::Periodic::Enable \"1\";\n")
	b.WriteString("APT::Periodic::Update-Package-Lists \"1\";\n")
	b.WriteString("APT::Periodic::Unattended-Upgrade \"1\";\n")
	b.WriteString("APT::Periodic::AutocleanInterval \"7\";\n")
	fmt.Fprintf(&b, "%s {\n", key)
	for _, o := range origins {
		fmt.Fprintf(&b, "\t%q;\n", o)
	}
	b.WriteString("};\n")
	if rebootWindow != "" {
		b.WriteString("Unattended-Upgrade::Automatic-Reboot \"true\";\n")
		fmt.Fprintf(&b, "Unattended-Upgrade::Automatic-Reboot-Time %q;\n", rebootWindow)
	}
	return b.String()
}

// sanitizeComment keeps text from a host file from ending a comment line.
func sanitizeComment(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return -1
		}
		return r
	}, s)
	s = strings.ReplaceAll(s, "*/", "* /")
	if len(s) > 80 {
		s = s[:80]
	}
	return s
}

// enableUnit returns what enabling unit (WantedBy=target) takes under root,
// as systemctl enable would do it: remove a mask, link the unit into
// target.wants. It returns a note when the unit is not installed.
func enableUnit(root, unit, target string) ([]File, string) {
	var files []File
	etc := path.Join("/etc/systemd/system", unit)
	if t, err := os.Readlink(hostPath(root, etc)); err == nil && t == "/dev/null" {
		files = append(files, File{Path: etc, Remove: true})
	}
	for _, d := range dirsOf(root, "/etc/systemd/system") {
		if strings.HasSuffix(d, ".wants") || strings.HasSuffix(d, ".requires") {
			if _, err := os.Lstat(hostPath(root, path.Join("/etc/systemd/system", d, unit))); err == nil {
				return files, ""
			}
		}
	}
	file := ""
	for _, d := range unitDirs[1:] {
		if st, err := os.Stat(hostPath(root, path.Join(d, unit))); err == nil && st.Mode().IsRegular() {
			file = path.Join(d, unit)
			break
		}
	}
	if file == "" {
		return files, unit + " is not installed: nothing to enable"
	}
	return append(files, File{Path: path.Join("/etc/systemd/system", target+".wants", unit), Link: file}), ""
}

func dirsOf(root, dir string) []string {
	ents, err := os.ReadDir(hostPath(root, dir))
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}
