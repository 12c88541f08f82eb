package audit

import (
	"context"
	"fmt"
	"path"
	"strings"
)

// pkg is one package from dpkg's status database.
type pkg struct {
	Name, Status, Version string
	Conffiles             map[string]string // path -> md5 at install
}

// installed reports whether dpkg considers the package installed.
func (p pkg) installed() bool { return strings.HasSuffix(p.Status, " installed") }

// maxStatusSize allows dpkg's status file, which outgrows maxFileSize on
// large installations.
const maxStatusSize = 64 << 20

// dpkgPackages reads /var/lib/dpkg/status (shared per run).
func (e *Env) dpkgPackages(ctx context.Context) (map[string]pkg, error) {
	return load(ctx, e, "dpkg", func(ctx context.Context) (map[string]pkg, error) {
		b, err := e.readFileMax("/var/lib/dpkg/status", maxStatusSize)
		if err != nil {
			return nil, err
		}
		return parseDpkgStatus(string(b)), nil
	})
}

func parseDpkgStatus(s string) map[string]pkg {
	out := map[string]pkg{}
	for _, para := range strings.Split(s, "\n\n") {
		var p pkg
		inConf := false
		for _, l := range strings.Split(para, "\n") {
			if inConf && strings.HasPrefix(l, " ") {
				f := strings.Fields(l)
				if len(f) >= 2 {
					if p.Conffiles == nil {
						p.Conffiles = map[string]string{}
					}
					p.Conffiles[f[0]] = f[1]
				}
				continue
			}
			inConf = false
			k, v, ok := strings.Cut(l, ":")
			if !ok {
				continue
			}
			v = strings.TrimSpace(v)
			switch k {
			case "Package":
				p.Name = v
			case "Status":
				p.Status = v
			case "Version":
				p.Version = v
			case "Conffiles":
				inConf = true
			}
		}
		if p.Name != "" {
			// Multi-arch packages appear once per architecture; keep an installed one.
			if old, ok := out[p.Name]; ok && old.installed() && !p.installed() {
				continue
			}
			out[p.Name] = p
		}
	}
	return out
}

// installedAny returns the first of names dpkg has installed, or "".
func (e *Env) installedAny(ctx context.Context, names ...string) (string, error) {
	pk, err := e.dpkgPackages(ctx)
	if err != nil {
		return "", err
	}
	for _, n := range names {
		if p, ok := pk[n]; ok && p.installed() {
			return n, nil
		}
	}
	return "", nil
}

// unitState tells how systemd would treat a unit at boot, from the files
// alone: "masked", "enabled" (a symlink in an /etc/systemd/system/*.wants
// directory), "disabled" (the unit exists) or "absent".
func (e *Env) unitState(unit string) string {
	if t, err := e.Readlink("/etc/systemd/system/" + unit); err == nil && t == "/dev/null" {
		return "masked"
	}
	dirs, _ := e.ReadDir("/etc/systemd/system")
	for _, d := range dirs {
		if !strings.HasSuffix(d, ".wants") && !strings.HasSuffix(d, ".requires") {
			continue
		}
		if _, err := e.Lstat(path.Join("/etc/systemd/system", d, unit)); err == nil {
			return "enabled"
		}
	}
	for _, dir := range []string{"/etc/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"} {
		if e.exists(path.Join(dir, unit)) {
			return "disabled"
		}
	}
	return "absent"
}

// enabledUnits returns the units among names that are enabled.
func (e *Env) enabledUnits(names ...string) []string {
	var out []string
	for _, n := range names {
		if e.unitState(n) == "enabled" {
			out = append(out, n)
		}
	}
	return out
}

// service tells whether one of the daemons runs: on a live host by process
// name, under --root by enabled unit. It returns what it found, for evidence.
func (e *Env) service(ctx context.Context, procs []string, units []string) (bool, string, error) {
	if e.live() {
		ps, err := e.running(ctx, procs...)
		if err != nil {
			return false, "", err
		}
		if len(ps) > 0 {
			return true, fmt.Sprintf("%s running (pid %d)", ps[0].Comm, ps[0].PID), nil
		}
		return false, fmt.Sprintf("none of %s running", strings.Join(procs, ", ")), nil
	}
	if on := e.enabledUnits(units...); len(on) > 0 {
		return true, fmt.Sprintf("%s enabled", strings.Join(on, ", ")), nil
	}
	return false, fmt.Sprintf("none of %s enabled", strings.Join(units, ", ")), nil
}

// keyValues parses files of "KEY=value" (shell style, quotes stripped) or
// "Key value" lines; comments start with #. Later lines win. Keys keep
// their case.
func keyValues(lines []string, sep string) map[string]string {
	out := map[string]string{}
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, ";") {
			continue
		}
		var k, v string
		var ok bool
		if sep == "" {
			f := strings.Fields(l)
			if len(f) == 0 {
				continue
			}
			k, v, ok = f[0], strings.TrimSpace(strings.TrimPrefix(l, f[0])), true
		} else {
			k, v, ok = strings.Cut(l, sep)
		}
		if !ok {
			continue
		}
		k = strings.TrimSpace(k)
		v = strings.TrimSpace(v)
		if i := strings.Index(v, " #"); i >= 0 {
			v = strings.TrimSpace(v[:i])
		}
		v = strings.Trim(v, `"'`)
		out[k] = v
	}
	return out
}

// readKV reads a key/value file; a missing file gives an empty map.
func (e *Env) readKV(p, sep string) (map[string]string, error) {
	ls, err := e.lines(p)
	if err != nil {
		if notExist(err) {
			return map[string]string{}, nil
		}
		return nil, err
	}
	return keyValues(ls, sep), nil
}

// readFileMax is ReadFile with another cap.
func (e *Env) readFileMax(p string, max int64) ([]byte, error) {
	h, err := e.resolve(p)
	if err != nil {
		return nil, e.pathErr(p, err)
	}
	return readCapped(h, p, max, e.show)
}
