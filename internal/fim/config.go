// Package fim is rampart's file integrity monitor: it records the attributes
// and content hash of every file under the configured paths in a baseline,
// and reports what changed since: content, mode, SUID/SGID, owner, group,
// type, link target, file capabilities and other extended attributes.
//
// A check does not re-read a file whose inode, size, mtime and ctime are
// unchanged (any write, chmod, chown or setxattr moves ctime, which user
// space cannot set back); Options.Full re-hashes everything. Content changes
// to files a Debian package owns are told apart from tampering with the
// package database (see the dpkg sub-package).
package fim

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// DefaultBaselinePath is where the baseline is kept unless told otherwise.
const DefaultBaselinePath = "/var/lib/rampart/fim.baseline"

// Config is the [fim] section of rampart's configuration.
type Config struct {
	// Enabled turns scheduled checks on in the daemon; the CLI ignores it.
	Enabled bool `toml:"enabled"`
	// Paths are the trees to record; a path may hold shell patterns (/home/*/.ssh).
	Paths []string `toml:"paths"`
	// Exclude are patterns: with a slash they match the whole path (and the
	// subtree under a directory), without one the base name at any depth.
	Exclude []string `toml:"exclude"`
	// Realtime are the paths the watcher reports on within a second.
	Realtime []string `toml:"realtime"`
	// Schedule is how often the daemon runs a full re-check, e.g. "1h".
	Schedule string `toml:"schedule"`
	// Baseline is the file holding the baseline; empty means DefaultBaselinePath.
	Baseline string `toml:"baseline"`
}

// DefaultConfig returns the settings used when the config says nothing.
func DefaultConfig() Config {
	return Config{
		Enabled:  false,
		Paths:    []string{"/etc", "/usr/bin", "/usr/sbin", "/usr/lib/systemd", "/root/.ssh", "/home/*/.ssh"},
		Exclude:  []string{"/etc/mtab", "*.swp"},
		Realtime: []string{"/etc/passwd", "/etc/shadow", "/etc/sudoers", "/etc/sudoers.d", "/etc/ssh", "/root/.ssh"},
		Schedule: "1h",
		Baseline: DefaultBaselinePath,
	}
}

// Validate reports the first setting that cannot work, naming its key.
func (c Config) Validate() error {
	if len(c.Paths) == 0 {
		return fmt.Errorf("fim.paths: empty; name at least one directory or file to watch")
	}
	for _, key := range []struct {
		name string
		list []string
	}{{"fim.paths", c.Paths}, {"fim.realtime", c.Realtime}} {
		for _, p := range key.list {
			if !strings.HasPrefix(p, "/") {
				return fmt.Errorf("%s: %q is not absolute; write it as /%s", key.name, p, p)
			}
			if _, err := filepath.Match(p, ""); err != nil {
				return fmt.Errorf("%s: %q: bad pattern: %v", key.name, p, err)
			}
		}
	}
	for _, p := range c.Exclude {
		if p == "" {
			return fmt.Errorf("fim.exclude: empty pattern")
		}
		if _, err := path.Match(p, ""); err != nil {
			return fmt.Errorf("fim.exclude: %q: bad pattern: %v", p, err)
		}
	}
	if c.Schedule != "" {
		d, err := time.ParseDuration(c.Schedule)
		if err != nil || d <= 0 {
			return fmt.Errorf("fim.schedule: %q is not a positive duration such as \"1h\" or \"30m\"", c.Schedule)
		}
	}
	return nil
}

// excluded reports whether the image path p (absolute, "/etc/mtab") is
// matched by one of the patterns.
func excluded(patterns []string, p string) bool {
	base := path.Base(p)
	for _, pat := range patterns {
		if strings.Contains(pat, "/") {
			if ok, _ := path.Match(pat, p); ok {
				return true
			}
		} else if ok, _ := path.Match(pat, base); ok {
			return true
		}
	}
	return false
}

// under reports whether p is dir or inside it.
func under(p, dir string) bool {
	if dir == "/" {
		return true
	}
	return p == dir || (strings.HasPrefix(p, dir) && p[len(dir)] == '/')
}
