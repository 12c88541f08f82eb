// Package filterload turns what a user names as a filter — a built-in name,
// a rampart definition file, or a Fail2ban filter.d file, each optionally
// with `[key=value,…]` options — into a compiled filter. The CLI's
// `filter test`, the daemon and the compatibility tests all load through it.
package filterload

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/rampart-ids/rampart/internal/fail2ban"
	"github.com/rampart-ids/rampart/internal/filter"
	"github.com/rampart-ids/rampart/internal/filter/builtin"
)

// Kind says where a filter came from.
type Kind string

// Kinds of filter sources.
const (
	Builtin  Kind = "builtin"
	Rampart  Kind = "rampart"
	Fail2ban Kind = "fail2ban"
)

// Loaded is a compiled filter with its origin.
type Loaded struct {
	Filter *filter.Filter
	Kind   Kind
	Source string // file path, or builtin:NAME
}

// Definition resolves spec to a definition without compiling it.
// fail2banDir, when set, is a Fail2ban configuration directory: a name with
// a NAME.conf or NAME.local in its filter.d is that filter (the admin's own
// filters and .local changes win over the built-in of the same name).
func Definition(spec, fail2banDir string) (*filter.Definition, Kind, error) {
	name, opts, err := filter.ParseSpec(spec)
	if err != nil {
		return nil, "", err
	}
	isPath := strings.ContainsRune(name, '/') || strings.HasSuffix(name, ".conf") || strings.HasSuffix(name, ".toml") || strings.HasSuffix(name, ".local")
	if isPath {
		if _, err := os.Stat(name); err != nil {
			return nil, "", fmt.Errorf("filter %q: %w", name, err)
		}
		switch filepath.Ext(name) {
		case ".toml":
			data, err := readLimited(name)
			if err != nil {
				return nil, "", err
			}
			def, err := filter.ParseDefinition(strings.TrimSuffix(filepath.Base(name), ".toml"), name, data, opts)
			return def, Rampart, err
		default:
			def, err := fail2ban.ReadFilterFile(name, opts)
			return def, Fail2ban, err
		}
	}
	if fail2banDir != "" && inFilterD(fail2banDir, name) {
		def, err := fail2ban.ReadFilter(fail2banDir, name, opts)
		return def, Fail2ban, err
	}
	if data, err := fs.ReadFile(builtin.FS(), name+".toml"); err == nil {
		def, err := filter.ParseDefinition(name, "builtin:"+name, data, opts)
		return def, Builtin, err
	}
	names := builtin.Names()
	sort.Strings(names)
	return nil, "", fmt.Errorf("unknown filter %q: not a built-in filter (%s) nor a file path (use ./%s.conf for a file in this folder)", name, strings.Join(names, ", "), name)
}

// inFilterD reports whether Fail2ban's filter.d in dir has NAME.conf or
// NAME.local (a .local alone is a filter too).
func inFilterD(dir, name string) bool {
	for _, ext := range []string{".conf", ".local"} {
		if _, err := os.Stat(filepath.Join(dir, "filter.d", name+ext)); err == nil {
			return true
		}
	}
	return false
}

// Load resolves and compiles spec.
func Load(spec, fail2banDir string, opts filter.Options) (*Loaded, error) {
	def, kind, err := Definition(spec, fail2banDir)
	if err != nil {
		return nil, err
	}
	f, err := filter.Compile(def, opts)
	if err != nil {
		return nil, err
	}
	return &Loaded{Filter: f, Kind: kind, Source: def.Source}, nil
}

// maxDefinitionBytes bounds a definition file.
const maxDefinitionBytes = 4 << 20

func readLimited(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	if st.Size() > maxDefinitionBytes {
		return nil, fmt.Errorf("%s: %d bytes is too large for a filter definition", path, st.Size())
	}
	return os.ReadFile(path)
}
