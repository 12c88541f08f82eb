package hostwatch

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/rampart-ids/rampart/internal/fim"
)

// DefaultSUIDPaths are the trees the suid collector walks.
var DefaultSUIDPaths = []string{"/usr", "/bin", "/sbin", "/opt", "/srv", "/home", "/root", "/tmp", "/var/tmp", "/dev/shm"}

// suidCollector: files with SUID or SGID set, or a file capability
// (security.capability, as strong as SUID).
func suidCollector() Collector {
	return Collector{
		Name: "suid",
		Doc:  "SUID/SGID files and files with capabilities under host.suid_paths",
		Collect: func(ctx context.Context, env Env) ([]Item, error) {
			var out []Item
			buf := make([]byte, 256)
			for _, top := range env.SUIDPaths {
				err := filepath.WalkDir(env.path(top), func(disk string, de fs.DirEntry, err error) error {
					if err != nil {
						return nil // vanished or unreadable: nothing to report
					}
					if ctx.Err() != nil {
						return ctx.Err()
					}
					if !de.Type().IsRegular() {
						return nil
					}
					var st unix.Stat_t
					if unix.Lstat(disk, &st) != nil {
						return nil
					}
					var parts []string
					if st.Mode&(unix.S_ISUID|unix.S_ISGID) != 0 {
						parts = append(parts, fmt.Sprintf("mode %04o uid %d gid %d", st.Mode&0o7777, st.Uid, st.Gid))
					}
					// A capability acts only on exec: files no one may run are not asked.
					if st.Mode&0o111 != 0 {
						if n, err := unix.Lgetxattr(disk, "security.capability", buf); err == nil && n > 0 {
							parts = append(parts, "caps "+fim.FormatCaps(buf[:n]))
						}
					}
					if len(parts) > 0 {
						out = append(out, Item{Key: strings.TrimPrefix(disk, env.Root), Value: strings.Join(parts, " ")})
					}
					return nil
				})
				if err != nil {
					return nil, err
				}
			}
			return out, nil
		},
		Severity: func(c Change) string {
			if c.Kind == Removed {
				return "info"
			}
			return "critical"
		},
	}
}
