package pkgbuild

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rampart-ids/rampart/internal/netns"
)

// The throw-away root: Debian's essential packages, apt, and what the
// package's scripts call (nft, iptables and ipset for the firewall state on
// removal, procps for the unit's /bin/kill), made by mmdebstrap from Debian's packages and kept as
// a tarball under chrootCache, keyed by a hash of this list and the host's
// apt sources. A cold cache costs one mmdebstrap run (1 to 5 minutes here,
// depending on the mirror and the machine's load); then each run unpacks
// the tarball (a few seconds).
var (
	chrootSuite    = "bookworm"
	chrootVariant  = "apt"
	chrootPackages = []string{"nftables", "iptables", "ipset", "procps"}
)

const chrootCache = "/var/cache/rampart-test"

// aptSources is the host's list of Debian mirrors, handed to mmdebstrap so
// the chroot comes from the same place as the host's packages.
func aptSources(t *testing.T) string {
	for _, p := range []string{"/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list"} {
		if fi, err := os.Stat(p); err == nil && fi.Size() > 0 {
			return p
		}
	}
	t.Skip("skipping: no apt sources on this host for mmdebstrap")
	return ""
}

// chrootTarball returns the cached root tarball, building it on a miss.
func chrootTarball(t *testing.T) string {
	t.Helper()
	sources := aptSources(t)
	src, err := os.ReadFile(sources)
	if err != nil {
		t.Fatal(err)
	}
	key := sha256.Sum256([]byte(chrootSuite + "\n" + chrootVariant + "\n" + strings.Join(chrootPackages, ",") + "\n" + string(src)))
	path := filepath.Join(chrootCache, fmt.Sprintf("chroot-%s-%x.tar", chrootSuite, key[:8]))
	if _, err := os.Stat(path); err == nil {
		return path
	}
	if err := os.MkdirAll(chrootCache, 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := fmt.Sprintf("%s.tmp%d", path, os.Getpid())
	start := time.Now()
	cmd := exec.Command("mmdebstrap", "--variant="+chrootVariant, "--include="+strings.Join(chrootPackages, ","),
		"--mode=root", "--format=tar", chrootSuite, tmp, sources)
	if out, err := cmd.CombinedOutput(); err != nil {
		os.Remove(tmp)
		t.Fatalf("mmdebstrap: %v\n%s", err, out)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	t.Logf("cold cache: mmdebstrap built %s in %s", path, time.Since(start).Round(time.Second))
	return path
}

// chroot is an unpacked root whose commands run in a network namespace of
// their own, so nft in the package's scripts never touches the host's firewall.
type chroot struct {
	t    *testing.T
	root string
	ns   *netns.NS
}

func (c *chroot) sh(script string) (string, error) {
	cmd := c.ns.Command(c.t.Context(), "chroot", c.root, "/usr/bin/env", "-i",
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND=noninteractive", "LANG=C",
		"/bin/sh", "-c", script)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (c *chroot) must(script string) string {
	c.t.Helper()
	out, err := c.sh(script)
	if err != nil {
		c.t.Fatalf("in the chroot: %s: %v\n%s", script, err, out)
	}
	return out
}

func (c *chroot) path(p string) string { return filepath.Join(c.root, p) }

func (c *chroot) exists(p string) bool {
	_, err := os.Lstat(c.path(p))
	return err == nil
}

func (c *chroot) read(p string) string {
	c.t.Helper()
	b, err := os.ReadFile(c.path(p))
	if err != nil {
		c.t.Fatal(err)
	}
	return string(b)
}

// files lists every path of the root but the ones dpkg, apt and the test
// change as a matter of course (dpkg's database, logs, apt's scratch
// directory for local packages, /tmp).
func (c *chroot) files() []string {
	c.t.Helper()
	var out []string
	skip := map[string]bool{"proc": true, "sys": true, "dev": true, "tmp": true, "var/log": true, "var/cache": true,
		"var/lib/apt/lists/auxfiles": true}
	err := filepath.WalkDir(c.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(c.root, p)
		if skip[rel] {
			return fs.SkipDir
		}
		if strings.HasPrefix(rel, "var/lib/dpkg/") && !strings.HasPrefix(rel, "var/lib/dpkg/info") {
			return nil // status, available, their -old copies, locks, triggers
		}
		out = append(out, rel)
		return nil
	})
	if err != nil {
		c.t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// stubSystemctl stands in for systemctl, which the chroot lacks: with
// /run/systemd/system present the maintainer scripts believe systemd runs,
// and deb-systemd-invoke's calls land in a log instead of a service manager.
// It sits in /usr/sbin, on the PATH apt gives dpkg (DPkg::Path), where
// deb-systemd-helper, which looks for /bin/systemctl and /usr/bin/systemctl
// only, does not see it and keeps its own enable logic.
const stubSystemctl = `#!/bin/sh
echo "$*" >> /var/log/systemctl.log
case " $* " in
*" is-enabled "*) echo enabled ;;
*" is-active "*) exit 3 ;;
esac
exit 0
`

// TestChrootLifecycle installs, upgrades, reinstalls, removes and purges
// the package in a fresh Debian root: the unit gets enabled, the config is
// a conffile the upgrade keeps, bans (the store) survive the upgrade and
// the removal, removal deletes rampart's nftables table, a [baseline]
// configuration is not started, and purge leaves nothing behind.
func TestChrootLifecycle(t *testing.T) {
	netns.SkipUnlessRoot(t)
	needTools(t, "mmdebstrap", "chroot", "tar")
	tarball := chrootTarball(t)
	b := pkg(t)
	t.Parallel()
	start := time.Now()
	dir := t.TempDir()
	upgrade, err := stage(t, dir, "2")
	if err != nil {
		t.Fatal(err)
	}
	deb2, err := upgrade.Deb("amd64", filepath.Join(dir, "out"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("upgrade package %s built in %s", filepath.Base(deb2), time.Since(start).Round(time.Second))

	start = time.Now()
	c := &chroot{t: t, root: filepath.Join(dir, "root"), ns: netns.New(t, "pkg")}
	if err := os.MkdirAll(c.root, 0o755); err != nil {
		t.Fatal(err)
	}
	run(t, "tar", "-C", c.root, "-xf", tarball)
	t.Logf("chroot unpacked in %s", time.Since(start).Round(100*time.Millisecond))
	for p, data := range map[string]string{"usr/sbin/systemctl": stubSystemctl, "tmp/v1.deb": "", "tmp/v2.deb": ""} {
		if data == "" {
			continue
		}
		if err := os.WriteFile(c.path(p), []byte(data), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	run(t, "cp", b.deb, c.path("tmp/v1.deb"))
	run(t, "cp", deb2, c.path("tmp/v2.deb"))
	if err := os.MkdirAll(c.path("run/systemd/system"), 0o755); err != nil {
		t.Fatal(err)
	}
	before := c.files()
	phases := time.Now()

	// Install, as the README says: apt with the package file (no network here).
	out := c.must("apt-get install -y --no-install-recommends /tmp/v1.deb 2>&1")
	t.Logf("apt-get install %s:\n%s", filepath.Base(b.deb), out)
	link, err := os.Readlink(c.path("etc/systemd/system/multi-user.target.wants/rampart.service"))
	if err != nil || link != "/lib/systemd/system/rampart.service" {
		t.Errorf("unit not enabled: multi-user.target.wants/rampart.service -> %q, %v", link, err)
	}
	if got := c.must("dpkg-query -W -f '${Conffiles}' rampart"); !strings.Contains(got, "/etc/rampart/rampart.toml ") {
		t.Errorf("rampart.toml is not a conffile: %q", got)
	}
	if fi, err := os.Stat(c.path("var/lib/rampart")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("state directory: %v, %v; want mode 0700", fi, err)
	}
	if log := c.read("var/log/systemctl.log"); !strings.Contains(log, "start rampart.service") {
		t.Errorf("postinst did not start the unit; systemctl calls:\n%s", log)
	}
	c.must("rampart config check >/dev/null && rampart version")

	// The admin edits the conffile; the daemon has bans in its store.
	edited := c.read("etc/rampart/rampart.toml") + "\n[defaults]\nbantime = \"1h\"\n"
	if err := os.WriteFile(c.path("etc/rampart/rampart.toml"), []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.path("var/lib/rampart/rampart.db"), []byte("bans"), 0o600); err != nil {
		t.Fatal(err)
	}

	// Upgrade: dpkg keeps the edited conffile without asking, the store stays, the daemon restarts.
	os.WriteFile(c.path("var/log/systemctl.log"), nil, 0o644)
	out = c.must("dpkg -i /tmp/v2.deb </dev/null")
	t.Logf("dpkg -i %s (upgrade):\n%s", filepath.Base(deb2), out)
	if got := strings.TrimSpace(c.must("dpkg-query -W -f '${Version}' rampart")); got != upgrade.Version {
		t.Errorf("after upgrade version %q, want %q", got, upgrade.Version)
	}
	if c.read("etc/rampart/rampart.toml") != edited {
		t.Error("upgrade replaced the admin's rampart.toml")
	}
	if c.exists("etc/rampart/rampart.toml.dpkg-dist") || c.exists("etc/rampart/rampart.toml.dpkg-new") {
		t.Error("upgrade left a .dpkg-dist/.dpkg-new beside the admin's conffile")
	}
	if c.read("var/lib/rampart/rampart.db") != "bans" {
		t.Error("upgrade lost the ban store")
	}
	if log := c.read("var/log/systemctl.log"); !strings.Contains(log, "restart rampart.service") || strings.Contains(log, "stop rampart.service") {
		t.Errorf("upgrade should restart, not stop, the daemon; systemctl calls:\n%s", log)
	}

	// A configuration with a baseline firewall is not started by the package.
	if err := os.WriteFile(c.path("etc/rampart/rampart.d/baseline.toml"), []byte("[baseline]\nenabled = true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(c.path("var/log/systemctl.log"), nil, 0o644)
	out = c.must("dpkg -i /tmp/v2.deb </dev/null 2>&1")
	if !strings.Contains(out, "not starting rampart.service") || !strings.Contains(out, "baseline.toml enables [baseline]") {
		t.Errorf("reinstall with [baseline] enabled did not refuse to start:\n%s", out)
	}
	if log := c.read("var/log/systemctl.log"); strings.Contains(log, "start rampart.service") {
		t.Errorf("postinst (re)started rampart with [baseline] enabled; systemctl calls:\n%s", log)
	}
	os.Remove(c.path("etc/rampart/rampart.d/baseline.toml"))

	// Remove: the daemon stops and its firewall state leaves the
	// (namespace's) kernel, as the nftables backend and the iptables
	// backend leave it; config and bans stay.
	c.must("nft add table inet rampart && nft add chain inet rampart input '{ type filter hook input priority 0; }'")
	c.must("ipset create rampart-ban-sshd-4 hash:net timeout 0 && iptables -w -N rampart-bans && " +
		"iptables -w -A rampart-bans -m set --match-set rampart-ban-sshd-4 src -j DROP && " +
		"iptables -w -I INPUT 1 -j rampart-bans && iptables -w -I INPUT 1 -j rampart-bans && iptables -w -I FORWARD 1 -j rampart-bans && " +
		"ip6tables -w -N rampart-bans && ip6tables -w -I INPUT 1 -j rampart-bans && " +
		// the layout before the ban/policy split
		"ipset create rampart-sshd-4 hash:ip && iptables -w -N rampart && iptables -w -I INPUT 1 -j rampart")
	os.WriteFile(c.path("var/log/systemctl.log"), nil, 0o644)
	out = c.must("dpkg -r rampart")
	t.Logf("dpkg -r rampart:\n%s", out)
	if _, err := c.sh("nft list table inet rampart"); err == nil {
		t.Error("removal left the nftables table inet rampart")
	}
	for _, probe := range []string{"iptables -w -n -L rampart-bans", "ip6tables -w -n -L rampart-bans", "iptables -w -n -L rampart", "ipset list -n | grep -q rampart-"} {
		if out, err := c.sh(probe); err == nil {
			t.Errorf("removal left iptables/ipset state: %s:\n%s", probe, out)
		}
	}
	if out := c.must("iptables -w -S INPUT; iptables -w -S FORWARD; ip6tables -w -S INPUT"); strings.Contains(out, "-j rampart") {
		t.Errorf("removal left a jump to the rampart chain:\n%s", out)
	}
	if log := c.read("var/log/systemctl.log"); !strings.Contains(log, "stop rampart.service") {
		t.Errorf("prerm did not stop the unit; systemctl calls:\n%s", log)
	}
	if c.exists("usr/sbin/rampart") || !c.exists("etc/rampart/rampart.toml") || !c.exists("var/lib/rampart/rampart.db") {
		t.Error("after remove: want the binary gone, the conffile and the store kept")
	}

	// Purge: nothing of rampart is left.
	out = c.must("dpkg -P rampart")
	t.Logf("dpkg -P rampart:\n%s", out)
	after := c.files()
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("purge left files behind (-before install +after purge):\n%s", diff)
	}
	t.Logf("install, upgrade, reinstall, remove and purge took %s", time.Since(phases).Round(100*time.Millisecond))
}
