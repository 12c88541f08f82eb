// Package dpkg reads what the Debian package database says a file should
// be: the md5sums each package ships (/var/lib/dpkg/info/*.md5sums), the
// installed versions (/var/lib/dpkg/status), diversions, and the dpkg log
// of installs and upgrades (/var/log/dpkg.log). All under a root, so that a
// mounted image is read the same way as the live system.
package dpkg

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"
)

// maxLine bounds one line of a database file.
const maxLine = 1 << 20

// ParseMD5Sums reads an md5sums file ("HEX  path" per line, the path
// relative to / without a leading slash) and calls fn for each entry with
// the path made absolute. A malformed line is an error naming its number.
func ParseMD5Sums(r io.Reader, fn func(path string, sum [16]byte)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Bytes()
		if len(line) == 0 {
			continue
		}
		if len(line) < 35 || line[32] != ' ' {
			return fmt.Errorf("line %d: want a 32-digit md5 sum, two spaces and a path", n)
		}
		var sum [16]byte
		if _, err := hex.Decode(sum[:], line[:32]); err != nil {
			return fmt.Errorf("line %d: md5 sum: %v", n, err)
		}
		p := line[33:]
		if p[0] == ' ' || p[0] == '*' { // "sum  path", or md5sum's binary marker
			p = p[1:]
		}
		if len(p) == 0 {
			return fmt.Errorf("line %d: no path after the sum", n)
		}
		if p[0] != '/' {
			p = append([]byte{'/'}, p...)
		}
		fn(string(p), sum)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("line %d: %w", n+1, err)
	}
	return nil
}

// Action is one package operation of the dpkg log.
type Action struct {
	Time time.Time
	// Kind is "install", "upgrade", "remove" or "purge".
	Kind string
	// Package is the name without the architecture qualifier.
	Package, Arch string
	// Old and New are the versions; "<none>" where there is none.
	Old, New string
}

// ParseLog reads a dpkg log ("2024-05-01 10:00:00 upgrade pkg:amd64 1.2 1.3")
// and calls fn for each install, upgrade, remove and purge; times are read
// in loc (dpkg writes local time). Other lines (status, startup, conffile,
// trigproc, configure) are skipped; a line that does not start with a date
// is skipped too, counted in the return value, since logs are appended to
// by hand and by other tools.
func ParseLog(r io.Reader, loc *time.Location, fn func(Action)) (skipped int, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 3 {
			if len(f) > 0 {
				skipped++
			}
			continue
		}
		t, err := time.ParseInLocation("2006-01-02 15:04:05", f[0]+" "+f[1], loc)
		if err != nil {
			skipped++
			continue
		}
		switch f[2] {
		case "install", "upgrade", "remove", "purge":
		default:
			continue
		}
		if len(f) != 6 {
			skipped++
			continue
		}
		name, arch, _ := strings.Cut(f[3], ":")
		fn(Action{Time: t, Kind: f[2], Package: name, Arch: arch, Old: f[4], New: f[5]})
	}
	return skipped, sc.Err()
}

// Package is one stanza of the status file.
type Package struct {
	Name, Arch, Version string
	// Status is the third word of the Status field: "installed",
	// "config-files", "half-installed", ...
	Status string
}

// ParseStatus reads a dpkg status file and calls fn for each package stanza
// that names a package. Continuation lines and unknown fields are skipped.
func ParseStatus(r io.Reader, fn func(Package)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	var cur Package
	flush := func() {
		if cur.Name != "" {
			fn(cur)
		}
		cur = Package{}
	}
	for sc.Scan() {
		line := sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			flush()
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			continue
		}
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		val := string(bytes.TrimSpace(v))
		switch string(k) {
		case "Package":
			cur.Name = val
		case "Architecture":
			cur.Arch = val
		case "Version":
			cur.Version = val
		case "Status":
			if w := strings.Fields(val); len(w) == 3 {
				cur.Status = w[2]
			}
		}
	}
	flush()
	return sc.Err()
}

// Diversion is one entry of /var/lib/dpkg/diversions: From is now at To.
type Diversion struct {
	From, To string
	// By is the diverting package; ":" for a local diversion.
	By string
}

// ParseDiversions reads the diversions file: three lines per diversion.
func ParseDiversions(r io.Reader, fn func(Diversion)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	var lines []string
	n := 0
	for sc.Scan() {
		n++
		lines = append(lines, sc.Text())
		if len(lines) == 3 {
			if !strings.HasPrefix(lines[0], "/") || !strings.HasPrefix(lines[1], "/") {
				return fmt.Errorf("line %d: a diversion is two absolute paths and a package", n-2)
			}
			fn(Diversion{From: lines[0], To: lines[1], By: lines[2]})
			lines = lines[:0]
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if len(lines) != 0 {
		return fmt.Errorf("line %d: diversion cut short", n)
	}
	return nil
}
