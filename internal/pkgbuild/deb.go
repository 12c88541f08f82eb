package pkgbuild

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/deb"
	"github.com/goreleaser/nfpm/v2/files"
)

// Installed paths (Debian policy: a daemon admins run as root lives in
// /usr/sbin; bookworm's systemd units are under /lib/systemd/system).
const (
	BinPath      = "/usr/sbin/rampart"
	UnitPath     = "/lib/systemd/system/rampart.service"
	ConfPath     = "/etc/rampart/rampart.toml"
	DropInDir    = "/etc/rampart/rampart.d"
	ManPath      = "/usr/share/man/man8"
	BashCompPath = "/usr/share/bash-completion/completions/rampart"
	ZshCompPath  = "/usr/share/zsh/vendor-completions/_rampart"
	FishCompPath = "/usr/share/fish/vendor_completions.d/rampart.fish"
	DocDir       = "/usr/share/doc/rampart"
	LintianPath  = "/usr/share/lintian/overrides/rampart"
)

// Description is the package's Description field: a synopsis and a long
// description.
const Description = `host intrusion prevention: Fail2ban-compatible bans over nftables
rampart watches service logs (files and the journal), recognises brute force
with Fail2ban-compatible filters and bans the source addresses in nftables
sets over netlink (iptables and ipset on hosts without nftables). Bans are
kept in SQLite and restored at start. It reads an existing Fail2ban
configuration as it is, and "rampart audit" checks a host's defence in
depth (firewall, SSH, updates, auditd, users, backups).
.
The package installs a hardened systemd unit, enables it, and starts it on
the built-in configuration (the sshd jail), which has no baseline firewall
and cannot lock anyone out.`

// DebArch maps GOARCH to Debian's architecture names.
func DebArch(goarch string) string {
	if goarch == "386" {
		return "i386"
	}
	return goarch
}

// DebName is the file name of the package for arch: rampart_VERSION_ARCH.deb.
func (r *Release) DebName(arch string) string {
	return fmt.Sprintf("%s_%s_%s.deb", PkgName, r.Version, DebArch(arch))
}

// contents lists what the package (and the tarball) install: destination ->
// source file under the release's staging tree.
func (r *Release) contents(arch string) (files.Contents, error) {
	mtime := r.Epoch
	file := func(src, dst string, mode os.FileMode, typ string) *files.Content {
		return &files.Content{Source: src, Destination: dst, Type: typ,
			FileInfo: &files.ContentFileInfo{Owner: "root", Group: "root", Mode: mode, MTime: mtime}}
	}
	c := r.Common
	out := files.Contents{
		file(r.Binaries[arch], BinPath, 0o755, ""),
		file(filepath.Join(c, UnitFile), UnitPath, 0o644, ""),
		file(filepath.Join(c, ConfFile), ConfPath, 0o644, files.TypeConfig),
		{Destination: DropInDir, Type: files.TypeDir, FileInfo: &files.ContentFileInfo{Owner: "root", Group: "root", Mode: 0o755, MTime: mtime}},
		file(filepath.Join(c, BashComp), BashCompPath, 0o644, ""),
		file(filepath.Join(c, ZshComp), ZshCompPath, 0o644, ""),
		file(filepath.Join(c, FishComp), FishCompPath, 0o644, ""),
		file(filepath.Join(c, CopyFile), DocDir+"/copyright", 0o644, ""),
		file(filepath.Join(c, ChangesFile), DocDir+"/changelog.Debian.gz", 0o644, ""),
		file(filepath.Join(r.root, "dist", "debian", "lintian-overrides"), LintianPath, 0o644, ""),
	}
	pages, err := filepath.Glob(filepath.Join(c, ManDir, "*.8.gz"))
	if err != nil {
		return nil, err
	}
	sort.Strings(pages)
	for _, p := range pages {
		out = append(out, file(p, ManPath+"/"+filepath.Base(p), 0o644, ""))
	}
	return out, nil
}

// Deb builds the Debian package for arch with nfpm into dir and returns its path.
func (r *Release) Deb(arch, dir string) (string, error) {
	contents, err := r.contents(arch)
	if err != nil {
		return "", err
	}
	scripts := filepath.Join(r.root, "dist", "debian")
	info := &nfpm.Info{
		Name:          PkgName,
		Arch:          DebArch(arch),
		Platform:      "linux",
		Version:       r.Upstream,
		VersionSchema: "none", // the version is Debian's already; no semver rewriting
		Release:       strings.TrimPrefix(r.Version, r.Upstream+"-"),
		Section:       "net",
		Priority:      "optional",
		Maintainer:    Maintainer,
		Description:   Description,
		Homepage:      Homepage,
		MTime:         r.Epoch,
		Overridables: nfpm.Overridables{
			// The unit reloads with /bin/kill (procps). nft deletes
			// rampart's table when the package is removed; the daemon
			// itself talks netlink and needs no tool.
			Depends:    []string{"procps"},
			Recommends: []string{"nftables"},
			Suggests:   []string{"iptables", "ipset"},
			Contents:   contents,
			Scripts: nfpm.Scripts{
				PostInstall: filepath.Join(scripts, "postinst"),
				PreRemove:   filepath.Join(scripts, "prerm"),
				PostRemove:  filepath.Join(scripts, "postrm"),
			},
			// gzip: every dpkg reads it, and xz took 15 s more for 1 MB less.
			Deb: nfpm.Deb{Compression: "gzip"},
		},
	}
	info = nfpm.WithDefaults(info)
	info.MTime = r.Epoch
	var b bytes.Buffer
	if err := deb.Default.Package(info, &b); err != nil {
		return "", fmt.Errorf("nfpm deb %s: %w", arch, err)
	}
	path := filepath.Join(dir, r.DebName(arch))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return "", err
	}
	fmt.Fprintf(r.log, "mkdist: wrote %s\n", path)
	return path, nil
}
