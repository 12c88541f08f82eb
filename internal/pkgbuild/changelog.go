package pkgbuild

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"strings"
	"time"
)

// Change is one line of the changelog: a commit subject.
type Change struct {
	Hash    string
	Subject string
}

// Changelog renders a Debian changelog with one entry for version: the
// commit it was built from and the subjects of changes (newest first), each
// wrapped to fit lintian's 80 columns.
func Changelog(pkg, version, maintainer, commit string, date time.Time, changes []Change) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s (%s) unstable; urgency=medium\n\n", pkg, version)
	fmt.Fprintf(&b, "  * Built from git commit %s.\n", commit)
	for _, c := range changes {
		wrapItem(&b, c.Subject+" ("+c.Hash+")")
	}
	fmt.Fprintf(&b, "\n -- %s  %s\n", maintainer, date.UTC().Format("Mon, 02 Jan 2006 15:04:05 -0700"))
	return b.Bytes()
}

// wrapItem writes "  * text" wrapped at 78 columns with 4-space continuation lines.
func wrapItem(b *bytes.Buffer, text string) {
	const width = 78
	prefix := "  * "
	line := prefix
	for _, w := range strings.Fields(text) {
		if len(line) > len(prefix) && len(line)+1+len(w) > width {
			b.WriteString(strings.TrimRight(line, " ") + "\n")
			line = "    "
			prefix = line
		}
		if len(line) > len(prefix) {
			line += " "
		}
		line += w
	}
	b.WriteString(line + "\n")
}

// Gzip compresses data at the best level with no name and no time in the
// header, as `gzip -9n` does, so the output depends on data alone.
func Gzip(data []byte) ([]byte, error) {
	var b bytes.Buffer
	w, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(data); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
