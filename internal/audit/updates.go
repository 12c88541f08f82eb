package audit

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"time"
)

func updatesChecks() []Check {
	return []Check{
		{
			ID: "updates.unattended-installed", Area: AreaUpdates, Severity: High,
			Title:       "unattended-upgrades is installed",
			Reads:       "/var/lib/dpkg/status (the package's state, not merely a binary on disk)",
			Why:         "Security fixes only protect hosts that install them; most intrusions use holes already patched.",
			Remediation: "apt-get install unattended-upgrades && dpkg-reconfigure -plow unattended-upgrades",
			Run: func(ctx context.Context, e *Env) Result {
				pk, err := e.dpkgPackages(ctx)
				if err != nil {
					return e.readErr(err)
				}
				if p, ok := pk["unattended-upgrades"]; ok && p.installed() {
					return pass("unattended-upgrades %s installed", p.Version)
				}
				return fail("unattended-upgrades is not installed")
			},
		},
		{
			ID: "updates.periodic", Area: AreaUpdates, Severity: High,
			Title:       "APT's periodic list update and unattended upgrade are switched on",
			Reads:       "`apt-config dump` (live) or /etc/apt/apt.conf.d (--root): APT::Periodic::Enable, Update-Package-Lists, Unattended-Upgrade",
			Why:         "Installing the package is not enough: with the periodic settings at 0 (the disabled variant of 20auto-upgrades) nothing runs.",
			Remediation: "printf 'APT::Periodic::Update-Package-Lists \"1\";\\nAPT::Periodic::Unattended-Upgrade \"1\";\\n' > /etc/apt/apt.conf.d/20auto-upgrades",
			Run:         checkAptPeriodic,
		},
		{
			ID: "updates.security-origin", Area: AreaUpdates, Severity: High,
			Title:       "Unattended upgrades include the security archive",
			Reads:       "Unattended-Upgrade::Origins-Pattern and Allowed-Origins from the APT configuration",
			Why:         "An origins list without the -security suite upgrades everything except the fixes that matter.",
			Remediation: "add \"origin=Debian,codename=${distro_codename}-security,label=Debian-Security\"; to Unattended-Upgrade::Origins-Pattern in /etc/apt/apt.conf.d/50unattended-upgrades",
			Run:         checkSecurityOrigin,
		},
		{
			ID: "updates.timers", Area: AreaUpdates, Severity: Medium,
			Title:       "apt-daily.timer and apt-daily-upgrade.timer are enabled",
			Reads:       "symlinks in /etc/systemd/system/*.wants, masks in /etc/systemd/system",
			Why:         "These timers start the periodic run; masked or disabled timers mean the settings are never acted on.",
			Remediation: "systemctl unmask apt-daily.timer apt-daily-upgrade.timer && systemctl enable --now apt-daily.timer apt-daily-upgrade.timer",
			Run: func(ctx context.Context, e *Env) Result {
				var bad, good []string
				for _, u := range []string{"apt-daily.timer", "apt-daily-upgrade.timer"} {
					if s := e.unitState(u); s == "enabled" {
						good = append(good, u)
					} else {
						bad = append(bad, u+" "+s)
					}
				}
				if len(bad) > 0 {
					return fail("%s", strings.Join(bad, ", "))
				}
				return pass("%s enabled", strings.Join(good, ", "))
			},
		},
		{
			ID: "updates.last-run", Area: AreaUpdates, Severity: Medium,
			Title:       "Unattended upgrades ran in the last 3 days",
			Reads:       "mtime of /var/lib/apt/periodic/unattended-upgrades-stamp, else /var/log/unattended-upgrades/unattended-upgrades.log",
			Why:         "Settings can be right and the job still broken (a held lock, a full disk); only a recent run proves it works.",
			Remediation: "unattended-upgrade -d   # read the errors, then check systemctl status apt-daily-upgrade.service",
			Run: func(ctx context.Context, e *Env) Result {
				return recent(e, 72*time.Hour, "/var/lib/apt/periodic/unattended-upgrades-stamp", "/var/log/unattended-upgrades/unattended-upgrades.log")
			},
		},
		{
			ID: "updates.lists-fresh", Area: AreaUpdates, Severity: Medium,
			Title:       "Package lists were refreshed in the last 7 days",
			Reads:       "mtime of /var/lib/apt/periodic/update-success-stamp and /var/lib/apt/lists/*Release",
			Why:         "With stale lists APT does not know a fix exists, so nothing gets installed and the pending count looks clean.",
			Remediation: "apt-get update",
			Run: func(ctx context.Context, e *Env) Result {
				files, _ := e.Glob("/var/lib/apt/lists/*Release")
				files = append([]string{"/var/lib/apt/periodic/update-success-stamp"}, files...)
				return recent(e, 7*24*time.Hour, files...)
			},
		},
		{
			ID: "updates.pending-security", Area: AreaUpdates, Severity: High,
			Title:       "No security update is waiting to be installed",
			Reads:       "installed versions (/var/lib/dpkg/status) against APT's indexes of the security archive (/var/lib/apt/lists/*security*_Packages*, decompressed with apt-helper when not gzip); no root needed, no resolver run",
			Why:         "Each pending security update is a published hole on this host.",
			Remediation: "apt-get update && apt-get upgrade",
			Run:         checkPendingSecurity,
		},
		{
			ID: "updates.kernel-current", Area: AreaUpdates, Severity: Medium,
			Title:       "The running kernel is the newest installed",
			Reads:       "/proc/sys/kernel/osrelease against /boot/vmlinuz-*",
			Why:         "An upgraded but not rebooted kernel keeps running the vulnerable code.",
			Remediation: "reboot into the new kernel (plan a window; needrestart -k shows the status)",
			Run:         checkKernelCurrent,
		},
		{
			ID: "updates.reboot-required", Area: AreaUpdates, Severity: Medium,
			Title:       "No upgrade is waiting for a reboot",
			Reads:       "/run/reboot-required and /run/reboot-required.pkgs",
			Why:         "Packages that request a reboot (kernel, libc, systemd) are not fixed until it happens.",
			Remediation: "reboot (the packages that asked are in /run/reboot-required.pkgs)",
			Run: func(ctx context.Context, e *Env) Result {
				for _, p := range []string{"/run/reboot-required", "/var/run/reboot-required"} {
					if e.exists(p) {
						pkgs := ""
						if b, err := e.ReadFile(p + ".pkgs"); err == nil {
							pkgs = ": " + strings.Join(strings.Fields(string(b)), ", ")
						}
						return fail("%s exists%s", p, pkgs)
					}
				}
				return pass("no /run/reboot-required")
			},
		},
	}
}

// recent passes when the newest of files was modified within max.
func recent(e *Env, max time.Duration, files ...string) Result {
	var newest time.Time
	which := ""
	for _, f := range files {
		fi, err := e.Stat(f)
		if err != nil {
			if notExist(err) {
				continue
			}
			return e.readErr(err)
		}
		if fi.ModTime().After(newest) {
			newest, which = fi.ModTime(), f
		}
	}
	if which == "" {
		return fail("none of %s exists: never ran", strings.Join(files[:min(len(files), 3)], ", "))
	}
	a := e.Now.Sub(newest)
	if a > max {
		return fail("%s last changed %s ago (limit %s)", which, age(a), age(max))
	}
	return pass("%s changed %s ago", which, age(a))
}

func checkAptPeriodic(ctx context.Context, e *Env) Result {
	c, err := e.aptConf(ctx)
	if err != nil {
		return e.readErr(err)
	}
	var bad []string
	if v := c.get("APT::Periodic::Enable"); v == "0" {
		bad = append(bad, `APT::Periodic::Enable "0"`)
	}
	for _, k := range []string{"APT::Periodic::Update-Package-Lists", "APT::Periodic::Unattended-Upgrade"} {
		if v := c.get(k); v == "" || v == "0" {
			bad = append(bad, fmt.Sprintf("%s %q", k, v))
		}
	}
	if len(bad) > 0 {
		return fail("%s (%s)", strings.Join(bad, ", "), c.Source)
	}
	return pass("Update-Package-Lists %q, Unattended-Upgrade %q (%s)", c.get("APT::Periodic::Update-Package-Lists"), c.get("APT::Periodic::Unattended-Upgrade"), c.Source)
}

func checkSecurityOrigin(ctx context.Context, e *Env) Result {
	c, err := e.aptConf(ctx)
	if err != nil {
		return e.readErr(err)
	}
	var all []string
	for _, k := range []string{"unattended-upgrade::origins-pattern", "unattended-upgrade::allowed-origins"} {
		all = append(all, c.Values[k]...)
	}
	for _, o := range all {
		if strings.Contains(strings.ToLower(o), "security") {
			return pass("origin %q (%s)", o, c.Source)
		}
	}
	if len(all) == 0 {
		return fail("no Unattended-Upgrade::Origins-Pattern or Allowed-Origins (%s)", c.Source)
	}
	return fail("no security origin among %s (%s)", quoteList(all), c.Source)
}

// securityLists are APT's downloaded indexes of the security archive.
func (e *Env) securityLists() ([]string, error) {
	all, err := e.Glob("/var/lib/apt/lists/*_Packages*")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, f := range all {
		if strings.Contains(path.Base(f), "security") {
			out = append(out, f)
		}
	}
	return out, nil
}

// readList reads an index, decompressing gzip itself and anything else
// (lz4, xz, zstd) with apt-helper on a live host.
func (e *Env) readList(ctx context.Context, p string) ([]byte, error) {
	switch {
	case !strings.Contains(path.Base(p), "_Packages."):
		return e.readFileMax(p, maxStatusSize)
	case strings.HasSuffix(p, ".gz"):
		b, err := e.readFileMax(p, maxStatusSize)
		if err != nil {
			return nil, err
		}
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		out, err := io.ReadAll(io.LimitReader(zr, maxStatusSize))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		return out, nil
	}
	if !e.live() {
		return nil, fmt.Errorf("%s: compressed index needs apt-helper on the live host", p)
	}
	h, err := e.resolve(p)
	if err != nil {
		return nil, err
	}
	return e.run(ctx, "/usr/lib/apt/apt-helper", "cat-file", h)
}

func checkPendingSecurity(ctx context.Context, e *Env) Result {
	lists, err := e.securityLists()
	if err != nil {
		return e.readErr(err)
	}
	if len(lists) == 0 {
		return fail("no index of a security archive in /var/lib/apt/lists: security updates are not even looked for").
			fix("add the security suite to /etc/apt/sources.list.d (deb http://security.debian.org/debian-security bookworm-security main) and run apt-get update")
	}
	pk, err := e.dpkgPackages(ctx)
	if err != nil {
		return e.readErr(err)
	}
	newest := map[string]string{}
	for _, l := range lists {
		b, err := e.readList(ctx, l)
		if err != nil {
			if !e.live() {
				return skip("%v", err)
			}
			return errorf("%v", err)
		}
		for name, v := range parsePackagesIndex(string(b)) {
			if old, ok := newest[name]; !ok || compareDebVersions(v, old) > 0 {
				newest[name] = v
			}
		}
	}
	var sec []string
	for name, v := range newest {
		p, ok := pk[name]
		if ok && p.installed() && compareDebVersions(p.Version, v) < 0 {
			sec = append(sec, name)
		}
	}
	if len(sec) > 0 {
		sort.Strings(sec)
		shown := sec
		if len(shown) > 15 {
			shown = append(shown[:15:15], fmt.Sprintf("… %d more", len(sec)-15))
		}
		return fail("%d installed packages are older than the security archive: %s", len(sec), strings.Join(shown, ", "))
	}
	return pass("every installed package is at least the security archive's version (%d indexes)", len(lists))
}

// parsePackagesIndex maps package names to versions from an APT index.
func parsePackagesIndex(s string) map[string]string {
	out := map[string]string{}
	name := ""
	for _, l := range strings.Split(s, "\n") {
		switch {
		case strings.HasPrefix(l, "Package: "):
			name = strings.TrimSpace(l[len("Package: "):])
		case strings.HasPrefix(l, "Version: ") && name != "":
			v := strings.TrimSpace(l[len("Version: "):])
			if old, ok := out[name]; !ok || compareDebVersions(v, old) > 0 {
				out[name] = v
			}
		}
	}
	return out
}

func checkKernelCurrent(ctx context.Context, e *Env) Result {
	if !e.live() {
		return offline()
	}
	b, err := e.procFile("sys/kernel/osrelease")
	if err != nil {
		return errorf("%v", err)
	}
	running := strings.TrimSpace(string(b))
	images, err := e.Glob("/boot/vmlinuz-*")
	if err != nil {
		return e.readErr(err)
	}
	if len(images) == 0 {
		return skip("no kernel image in /boot: the kernel (%s) is not managed by this system (a container?)", running)
	}
	newest := ""
	for _, img := range images {
		v := strings.TrimPrefix(path.Base(img), "vmlinuz-")
		if newest == "" || compareDebVersions(v, newest) > 0 {
			newest = v
		}
	}
	if newest != running {
		return fail("running %s, newest installed %s", running, newest)
	}
	return pass("running %s, the newest of %d installed", running, len(images))
}
