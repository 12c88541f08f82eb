package logsource

import (
	"errors"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// watcher tells which directory entries changed. inotify provides it; a
// test can put a failing one in its place.
type watcher interface {
	Add(dir string) error
	events() <-chan fsEvent
	errors() <-chan error
	Close() error
}

// newFSWatcher starts an inotify instance.
func newFSWatcher() (watcher, error) {
	w, err := newInotify()
	if err != nil {
		return nil, err
	}
	return w, nil
}

// eventlessFS reports whether dir is on a filesystem where inotify sees only
// the changes made by this host (network and FUSE filesystems): files there
// are polled.
func eventlessFS(dir string) (string, bool) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return "", false
	}
	switch uint32(st.Type) {
	case unix.NFS_SUPER_MAGIC:
		return "nfs", true
	case unix.SMB_SUPER_MAGIC, unix.SMB2_SUPER_MAGIC, unix.CIFS_SUPER_MAGIC:
		return "smb", true
	case unix.FUSE_SUPER_MAGIC:
		return "fuse", true
	case unix.V9FS_MAGIC:
		return "9p", true
	case unix.CEPH_SUPER_MAGIC:
		return "ceph", true
	case unix.AFS_SUPER_MAGIC, unix.CODA_SUPER_MAGIC, unix.OCFS2_SUPER_MAGIC:
		return "network", true
	}
	return "", false
}

// watchLimit reports whether err means inotify ran out of instances or
// watches, so that polling must take over.
func watchLimit(err error) bool {
	return errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EMFILE) || errors.Is(err, unix.ENFILE) || errors.Is(err, unix.ENOMEM)
}

// staticDir returns the directory part of pattern when it holds no glob
// metacharacters, so it can be watched before any file matches.
func staticDir(pattern string) (string, bool) {
	dir := filepath.Dir(pattern)
	if strings.ContainsAny(dir, `*?[\`) {
		return "", false
	}
	return dir, true
}

// compressed reports whether path names a rotated, compressed log, which a
// broad pattern such as auth.log* would otherwise match: it is not text and
// is never followed.
func compressed(path string) bool {
	switch filepath.Ext(path) {
	case ".gz", ".bz2", ".xz", ".zst", ".lz4", ".lzma", ".zip", ".Z":
		return true
	}
	return false
}
