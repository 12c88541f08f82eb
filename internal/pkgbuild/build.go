package pkgbuild

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Package metadata that the deb control file, the changelog and the
// copyright file share.
const (
	PkgName    = "rampart"
	Maintainer = "rampart maintainers <maintainers@rampart-ids.invalid>"
	Homepage   = "https://github.com/rampart-ids/rampart"
	modulePath = "github.com/rampart-ids/rampart"
)

// Options says what to build.
type Options struct {
	Root     string    // the checkout (go.mod is here)
	Work     string    // scratch directory, removed by the caller
	Arches   []string  // GOARCH values: amd64, arm64
	Upstream string    // Debian upstream version; "" = from git describe
	Revision string    // Debian revision; "" = "1"
	Epoch    time.Time // SOURCE_DATE_EPOCH; zero = the commit's time
	Log      io.Writer // progress; nil = discard
}

// Release is a built tree, ready to package: one binary per architecture
// and the architecture-independent files (man pages, completions,
// conffile, copyright, changelog) they share.
type Release struct {
	Upstream, Version string // upstream version and the full Debian version (upstream-revision)
	Commit            string
	Epoch             time.Time
	Binaries          map[string]string // GOARCH -> path of the static binary
	Common            string            // directory of the shared files (see Stage)
	GoVersion         string
	Modules           []Module
	root, work        string
	log               io.Writer
}

// Stage builds everything a package or tarball holds under opt.Work.
func Stage(opt Options) (*Release, error) {
	if opt.Log == nil {
		opt.Log = io.Discard
	}
	r := &Release{Binaries: map[string]string{}, root: opt.Root, work: opt.Work, log: opt.Log}
	commit, err := r.git("rev-parse", "--short=7", "HEAD")
	if err != nil {
		return nil, err
	}
	r.Commit = commit
	ct, err := r.git("log", "-1", "--format=%ct")
	if err != nil {
		return nil, err
	}
	sec, err := strconv.ParseInt(ct, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("git: commit time %q: %w", ct, err)
	}
	commitTime := time.Unix(sec, 0).UTC()
	r.Epoch = opt.Epoch
	if r.Epoch.IsZero() {
		r.Epoch = commitTime
	}
	r.Upstream = opt.Upstream
	if r.Upstream == "" {
		d, err := r.git("describe", "--tags", "--long", "--always", "--dirty", "--abbrev=7", "--match", "v[0-9]*")
		if err != nil {
			return nil, err
		}
		if r.Upstream, err = UpstreamVersion(d, commitTime); err != nil {
			return nil, err
		}
	} else if err := CheckUpstream(r.Upstream); err != nil {
		return nil, err
	}
	rev := opt.Revision
	if rev == "" {
		rev = "1"
	}
	r.Version = r.Upstream + "-" + rev
	fmt.Fprintf(r.log, "mkdist: rampart %s (commit %s, SOURCE_DATE_EPOCH=%d)\n", r.Version, r.Commit, r.Epoch.Unix())

	for _, arch := range opt.Arches {
		out := filepath.Join(r.work, arch, "rampart")
		if err := r.build(arch, out); err != nil {
			return nil, err
		}
		r.Binaries[arch] = out
	}
	host, ok := r.Binaries[runtime.GOARCH]
	if !ok { // man pages and completions come from running the binary
		host = filepath.Join(r.work, "host", "rampart")
		if err := r.build(runtime.GOARCH, host); err != nil {
			return nil, err
		}
	}
	r.Common = filepath.Join(r.work, "common")
	if err := r.stageCommon(host); err != nil {
		return nil, err
	}
	return r, nil
}

// git runs git in the checkout and returns its trimmed output.
func (r *Release) git(args ...string) (string, error) {
	cmd := exec.Command("git", append([]string{"-C", r.root}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

// goEnv is the environment of every go command: static, for linux/arch,
// and no toolchain switching behind the caller's back.
func (r *Release) goEnv(arch string) []string {
	env := append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch, "GOFLAGS=-mod=readonly",
		"SOURCE_DATE_EPOCH="+strconv.FormatInt(r.Epoch.Unix(), 10))
	switch arch { // the baseline ISA, whatever the caller's environment says
	case "amd64":
		env = append(env, "GOAMD64=v1")
	case "arm64":
		env = append(env, "GOARM64=v8.0")
	}
	return env
}

// build compiles the static binary for arch: CGO off, -trimpath, no build
// ID, the version stamped into internal/cli. -buildvcs=false: Go stamps
// VCS details in a clone but not in a git worktree, which would make the
// bytes depend on how the tree was checked out; the version says the commit.
func (r *Release) build(arch, out string) error {
	fmt.Fprintf(r.log, "mkdist: go build linux/%s\n", arch)
	ld := "-s -w -buildid= -X " + modulePath + "/internal/cli.version=" + r.Version
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-ldflags", ld, "-o", out, "./cmd/rampart")
	cmd.Dir, cmd.Env = r.root, r.goEnv(arch)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build linux/%s: %w\n%s", arch, err, b)
	}
	return nil
}

// Paths of the shared files under Release.Common.
const (
	ManDir      = "man" // *.8.gz
	BashComp    = "completion/rampart.bash"
	ZshComp     = "completion/_rampart"
	FishComp    = "completion/rampart.fish"
	ConfFile    = "rampart.toml"
	CopyFile    = "copyright"
	ChangesFile = "changelog.Debian.gz"
	UnitFile    = "rampart.service"
)

func (r *Release) stageCommon(host string) error {
	c := r.Common
	raw := filepath.Join(r.work, "man-raw")
	if err := r.run(host, "gendocs", "--man", raw, "--date", strconv.FormatInt(r.Epoch.Unix(), 10), "--version", r.Version); err != nil {
		return err
	}
	pages, err := filepath.Glob(filepath.Join(raw, "*.8"))
	if err != nil || len(pages) == 0 {
		return fmt.Errorf("man pages: none written to %s", raw)
	}
	for _, p := range pages {
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		gz, err := Gzip(data)
		if err != nil {
			return err
		}
		if err := writeFile(filepath.Join(c, ManDir, filepath.Base(p)+".gz"), gz); err != nil {
			return err
		}
	}
	for _, sh := range []struct{ shell, dst string }{{"bash", BashComp}, {"zsh", ZshComp}, {"fish", FishComp}} {
		var out bytes.Buffer
		cmd := exec.Command(host, "completion", sh.shell)
		cmd.Stdout = &out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("rampart completion %s: %w", sh.shell, err)
		}
		if err := writeFile(filepath.Join(c, sh.dst), out.Bytes()); err != nil {
			return err
		}
	}
	defaults, err := os.ReadFile(filepath.Join(r.root, "internal", "config", "default.toml"))
	if err != nil {
		return fmt.Errorf("default configuration: %w", err)
	}
	if err := writeFile(filepath.Join(c, ConfFile), Conffile(defaults)); err != nil {
		return err
	}
	unit, err := os.ReadFile(filepath.Join(r.root, "dist", UnitFile))
	if err != nil {
		return err
	}
	if err := writeFile(filepath.Join(c, UnitFile), unit); err != nil {
		return err
	}
	if err := r.stageCopyright(host); err != nil {
		return err
	}
	return r.stageChangelog()
}

func (r *Release) run(bin string, args ...string) error {
	cmd := exec.Command(bin, args...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %w\n%s", filepath.Base(bin), strings.Join(args, " "), err, b)
	}
	return nil
}

// stageCopyright lists the modules linked into the binaries (go version
// -m), finds each in the module cache (go mod download -json, which reads
// the cache and asks only the Go module proxy for what is missing) and
// writes the DEP-5 copyright file.
func (r *Release) stageCopyright(host string) error {
	seen := map[string]Module{}
	bins := []string{host}
	for _, b := range r.Binaries {
		bins = append(bins, b)
	}
	for _, b := range bins {
		out, err := exec.Command("go", "version", "-m", b).Output()
		if err != nil {
			return fmt.Errorf("go version -m %s: %w", b, err)
		}
		gv, mods, err := ParseBuildInfo(out)
		if err != nil {
			return err
		}
		r.GoVersion = gv
		for _, m := range mods {
			seen[m.Path+"@"+m.Version] = m
		}
	}
	var mods []Module
	for _, m := range seen {
		mods = append(mods, m)
	}
	sort.Slice(mods, func(i, j int) bool { return mods[i].Path < mods[j].Path })
	for i := range mods {
		dir, err := r.moduleDir(mods[i])
		if err != nil {
			return err
		}
		if err := ReadLicenses(&mods[i], dir); err != nil {
			return err
		}
	}
	r.Modules = mods
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		return fmt.Errorf("go env GOROOT: %w", err)
	}
	goLicense, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(goroot)), "LICENSE"))
	if err != nil {
		return fmt.Errorf("go licence: %w", err)
	}
	p := Project{Name: PkgName, Source: Homepage}
	for _, n := range []string{"LICENSE", "LICENSE.md", "COPYING"} {
		if data, err := os.ReadFile(filepath.Join(r.root, n)); err == nil {
			p.License = LicenseFile{Name: n, Text: string(data)}
			break
		}
	}
	text, err := Copyright(p, r.GoVersion, string(goLicense), mods)
	if err != nil {
		return err
	}
	return writeFile(filepath.Join(r.Common, CopyFile), text)
}

func (r *Release) moduleDir(m Module) (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", m.Path+"@"+m.Version)
	cmd.Dir = r.root
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go mod download %s@%s: %w", m.Path, m.Version, err)
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(out, &info); err != nil {
		return "", fmt.Errorf("go mod download %s@%s: %w", m.Path, m.Version, err)
	}
	if info.Error != "" || info.Dir == "" {
		return "", fmt.Errorf("go mod download %s@%s: %s", m.Path, m.Version, info.Error)
	}
	return info.Dir, nil
}

// stageChangelog writes changelog.Debian.gz: the commits since the last
// version tag (at most 30).
func (r *Release) stageChangelog() error {
	rng := "HEAD"
	if tag, err := r.git("describe", "--tags", "--abbrev=0", "--match", "v[0-9]*", "HEAD^"); err == nil && tag != "" {
		rng = tag + "..HEAD"
	}
	log, err := r.git("log", "--no-merges", "-n", "30", "--format=%h%x09%s", rng)
	if err != nil {
		return err
	}
	var changes []Change
	for _, l := range strings.Split(log, "\n") {
		if h, s, ok := strings.Cut(l, "\t"); ok {
			changes = append(changes, Change{Hash: h, Subject: s})
		}
	}
	gz, err := Gzip(Changelog(PkgName, r.Version, Maintainer, r.Commit, r.Epoch, changes))
	if err != nil {
		return err
	}
	return writeFile(filepath.Join(r.Common, ChangesFile), gz)
}

func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}
