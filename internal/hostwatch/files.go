package hostwatch

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// maxConfigBytes bounds what is read of one configuration file.
const maxConfigBytes = 4 << 20

// configLines returns the meaningful lines of an image file: trimmed, inner
// whitespace collapsed, comments (from comment, at the line's start) and
// blank lines dropped. A missing file has none.
func configLines(env Env, p string, comment func(string) bool) ([]string, error) {
	f, err := os.Open(env.path(p))
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(io.LimitReader(f, maxConfigBytes))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		l := strings.Join(strings.Fields(sc.Text()), " ")
		if l == "" || (comment != nil && comment(l)) {
			continue
		}
		out = append(out, l)
	}
	return out, sc.Err()
}

func hashComment(l string) bool { return strings.HasPrefix(l, "#") }

// lineItems makes one item per meaningful line of each file: the key is
// "PATH: LINE", so that an added line is new and a dropped one removed.
func lineItems(env Env, files []string, comment func(string) bool) ([]Item, error) {
	var out []Item
	for _, p := range files {
		ls, err := configLines(env, p, comment)
		if err != nil {
			return nil, err
		}
		for _, l := range ls {
			out = append(out, Item{Key: p + ": " + l})
		}
	}
	return out, nil
}

// fileState describes a file for hashItems: its content hash, or a
// symlink's target.
func fileState(disk string) (string, bool) {
	fi, err := os.Lstat(disk)
	if err != nil {
		return "", false
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		t, _ := os.Readlink(disk)
		return "symlink -> " + t, true
	case fi.Mode().IsRegular():
		f, err := os.Open(disk)
		if err != nil {
			return "unreadable: " + err.Error(), true
		}
		defer f.Close()
		h := sha256.New()
		io.Copy(h, io.LimitReader(f, 64<<20))
		return "sha256:" + hex.EncodeToString(h.Sum(nil)), true
	case fi.IsDir():
		return "", false
	}
	return fi.Mode().Type().String(), true
}

// hashItems makes one item per file under the image directories dirs
// (recursively, not following symlinks) whose name keep accepts.
func hashItems(env Env, dirs []string, keep func(name string) bool) []Item {
	var out []Item
	for _, d := range dirs {
		filepath.WalkDir(env.path(d), func(disk string, de fs.DirEntry, err error) error {
			if err != nil || de.IsDir() {
				return nil
			}
			if keep != nil && !keep(de.Name()) {
				return nil
			}
			if v, ok := fileState(disk); ok {
				out = append(out, Item{Key: strings.TrimPrefix(disk, env.Root), Value: v})
			}
			return nil
		})
	}
	return out
}
