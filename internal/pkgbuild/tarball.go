package pkgbuild

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// TarName is the file name of the tarball for arch.
func (r *Release) TarName(arch string) string {
	return fmt.Sprintf("%s_%s_linux_%s.tar.gz", PkgName, r.Version, arch)
}

// Tarball writes rampart_VERSION_linux_ARCH.tar.gz into dir: one directory
// holding the files laid out as the package installs them (usr/sbin/rampart,
// lib/systemd/system/rampart.service, etc/rampart/rampart.toml, man pages,
// completions, copyright), SBOM.txt (go version -m of the binary) and
// SHA256SUMS of every file in it. Entries are sorted, owned by root and
// dated SOURCE_DATE_EPOCH, so the bytes depend on the inputs alone.
func (r *Release) Tarball(arch, dir string) (string, error) {
	contents, err := r.contents(arch)
	if err != nil {
		return "", err
	}
	type entry struct {
		name string
		mode int64
		data []byte
	}
	var ents []entry
	for _, c := range contents {
		if c.Type == "dir" || strings.HasPrefix(c.Destination, "/usr/share/lintian") {
			continue
		}
		data, err := os.ReadFile(c.Source)
		if err != nil {
			return "", err
		}
		ents = append(ents, entry{strings.TrimPrefix(c.Destination, "/"), int64(c.FileInfo.Mode), data})
	}
	sbom, err := exec.Command("go", "version", "-m", r.Binaries[arch]).Output()
	if err != nil {
		return "", fmt.Errorf("go version -m: %w", err)
	}
	// Its first line names the binary's path in the scratch directory.
	if _, rest, ok := bytes.Cut(sbom, []byte(": ")); ok {
		sbom = append([]byte(strings.TrimPrefix(BinPath, "/")+": "), rest...)
	}
	ents = append(ents, entry{"SBOM.txt", 0o644, sbom})
	sort.Slice(ents, func(i, j int) bool { return ents[i].name < ents[j].name })
	var sums bytes.Buffer
	for _, e := range ents {
		fmt.Fprintf(&sums, "%x  %s\n", sha256.Sum256(e.data), e.name)
	}
	ents = append(ents, entry{"SHA256SUMS", 0o644, sums.Bytes()})

	top := strings.TrimSuffix(r.TarName(arch), ".tar.gz")
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	dirs := map[string]bool{}
	hdr := func(name string, mode int64, typ byte, size int64) *tar.Header {
		return &tar.Header{Name: name, Mode: mode, Typeflag: typ, Size: size, ModTime: r.Epoch,
			Uname: "root", Gname: "root", Format: tar.FormatPAX}
	}
	for _, e := range ents {
		name := top + "/" + e.name
		var parents []string
		for d := filepath.Dir(name); d != "."; d = filepath.Dir(d) {
			parents = append([]string{d}, parents...)
		}
		for _, d := range parents {
			if !dirs[d] {
				dirs[d] = true
				if err := tw.WriteHeader(hdr(d+"/", 0o755, tar.TypeDir, 0)); err != nil {
					return "", err
				}
			}
		}
		if err := tw.WriteHeader(hdr(name, e.mode, tar.TypeReg, int64(len(e.data)))); err != nil {
			return "", err
		}
		if _, err := tw.Write(e.data); err != nil {
			return "", err
		}
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	gz, err := Gzip(tb.Bytes())
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, r.TarName(arch))
	if err := os.WriteFile(path, gz, 0o644); err != nil {
		return "", err
	}
	fmt.Fprintf(r.log, "mkdist: wrote %s\n", path)
	return path, nil
}

// WriteSums writes dir/SHA256SUMS over the named files of dir, sorted.
func WriteSums(dir string, names []string) error {
	sort.Strings(names)
	var b bytes.Buffer
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%x  %s\n", sha256.Sum256(data), n)
	}
	return os.WriteFile(filepath.Join(dir, "SHA256SUMS"), b.Bytes(), 0o644)
}
