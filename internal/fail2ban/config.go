package fail2ban

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Config is a set of Fail2ban files merged the way Fail2ban merges them:
// [INCLUDES] before/after, .local overrides, and KNOWN/ copies of values
// that a later file replaced (for %(known/x)s).
type Config struct {
	defaults *section
	sections map[string]*section
	files    []string
}

// maxIncludeDepth bounds include chains (Fail2ban's own are 2 deep).
const maxIncludeDepth = 16

// LoadConfig reads base ("filter.d/sshd" without extension, relative to dir)
// like Fail2ban does: base.conf, base.d/*.conf, base.local, base.d/*.local,
// each with its includes. A missing base.conf and base.local is an error.
func LoadConfig(dir, base string) (*Config, error) {
	p := filepath.Join(dir, base)
	names := []string{p + ".conf"}
	if m, _ := filepath.Glob(filepath.Join(p+".d", "*.conf")); len(m) > 0 {
		sort.Strings(m)
		names = append(names, m...)
	}
	names = append(names, p+".local")
	if m, _ := filepath.Glob(filepath.Join(p+".d", "*.local")); len(m) > 0 {
		sort.Strings(m)
		names = append(names, m...)
	}
	c := &Config{defaults: newSection(), sections: map[string]*section{}}
	found := false
	for i, n := range names {
		if _, err := os.Stat(n); err != nil {
			if i == 0 && errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, err
		}
		found = true
		if err := c.readWithIncludes(n, nil); err != nil {
			return nil, err
		}
	}
	if !found {
		return nil, fmt.Errorf("%s.conf: %w", p, fs.ErrNotExist)
	}
	return c, nil
}

// LoadFile reads one file (with its includes) into a new Config.
func LoadFile(path string) (*Config, error) {
	c := &Config{defaults: newSection(), sections: map[string]*section{}}
	if err := c.readWithIncludes(path, nil); err != nil {
		return nil, err
	}
	return c, nil
}

// Files lists the files read, in order.
func (c *Config) Files() []string { return c.files }

func (c *Config) readWithIncludes(path string, seen []string) error {
	if len(seen) > maxIncludeDepth {
		return fmt.Errorf("%s: includes nested deeper than %d (%s)", path, maxIncludeDepth, strings.Join(seen, " -> "))
	}
	for _, s := range seen {
		if s == path {
			return nil // Fail2ban ignores include loops silently
		}
	}
	f, err := readINIFile(path)
	if err != nil {
		return err
	}
	var before, after []string
	if inc, ok := f.sections["INCLUDES"]; ok {
		for _, k := range []string{"before", "after"} {
			v, ok := inc.vals[k]
			if !ok {
				continue
			}
			for _, r := range strings.Split(v.text, "\n") {
				r = strings.TrimSpace(r)
				if r == "" {
					continue
				}
				if !filepath.IsAbs(r) {
					r = filepath.Join(filepath.Dir(path), r)
				}
				if k == "before" {
					before = append(before, r)
				} else {
					after = append(after, r)
				}
			}
		}
	}
	next := append(append([]string(nil), seen...), path)
	for _, r := range withLocal(before) {
		if err := c.readOptional(r, next); err != nil {
			return err
		}
	}
	c.merge(f)
	for _, r := range withLocal(after) {
		if err := c.readOptional(r, next); err != nil {
			return err
		}
	}
	return nil
}

// readOptional reads an included file if it exists (Fail2ban skips missing
// includes such as common.local).
func (c *Config) readOptional(path string, seen []string) error {
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	return c.readWithIncludes(path, seen)
}

// withLocal adds X.local after each X.conf, as Fail2ban does for includes.
func withLocal(names []string) []string {
	var out []string
	for _, n := range names {
		out = append(out, n)
		if strings.HasSuffix(n, ".conf") {
			l := strings.TrimSuffix(n, ".conf") + ".local"
			if _, err := os.Stat(l); err == nil {
				out = append(out, l)
			}
		}
	}
	return out
}

func (c *Config) merge(f *iniFile) {
	c.files = append(c.files, f.path)
	for _, k := range f.defaults.keys {
		c.defaults.set(k, f.defaults.vals[k])
	}
	for _, name := range f.order {
		if name == "INCLUDES" {
			continue
		}
		s := f.sections[name]
		dst, ok := c.sections[name]
		if !ok {
			dst = newSection()
			c.sections[name] = dst
		} else {
			known := c.section("KNOWN/" + name)
			for _, k := range s.keys {
				if old, ok := dst.vals[k]; ok {
					known.set(k, old)
				}
			}
		}
		for _, k := range s.keys {
			dst.set(k, s.vals[k])
		}
	}
}

func (c *Config) section(name string) *section {
	s, ok := c.sections[name]
	if !ok {
		s = newSection()
		c.sections[name] = s
	}
	return s
}

// HasSection reports whether the merged configuration has section name.
func (c *Config) HasSection(name string) bool { _, ok := c.sections[name]; return ok }

// Sections lists section names in sorted order.
func (c *Config) Sections() []string {
	var out []string
	for n := range c.sections {
		if !strings.HasPrefix(n, "KNOWN/") {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// Keys lists a section's own option names (without [DEFAULT]), in file order.
func (c *Config) Keys(sec string) []string {
	s, ok := c.sections[sec]
	if !ok {
		return nil
	}
	return append([]string(nil), s.keys...)
}

// raw looks key up in sec then [DEFAULT], without interpolation.
func (c *Config) raw(sec, key string) (value, bool) {
	if s, ok := c.sections[sec]; ok {
		if v, ok := s.vals[key]; ok {
			return v, true
		}
	}
	v, ok := c.defaults.vals[key]
	return v, ok
}

// Where returns file:line of an option, for messages.
func (c *Config) Where(sec, key string) string {
	v, ok := c.raw(sec, strings.ToLower(key))
	if !ok {
		return ""
	}
	return fmt.Sprintf("%s:%d", v.file, v.line)
}

// maxInterpolationDepth is Python ConfigParser's limit.
const maxInterpolationDepth = 10

// Get returns the %(name)s-interpolated value of key in sec. vars take
// precedence over the section, which takes precedence over [DEFAULT], as in
// Python's ConfigParser.get(section, option, vars=...).
func (c *Config) Get(sec, key string, vars map[string]string) (string, bool, error) {
	key = strings.ToLower(key)
	if v, ok := vars[key]; ok {
		s, err := c.interpolate(sec, key, v, vars, 1)
		return s, true, err
	}
	v, ok := c.raw(sec, key)
	if !ok {
		return "", false, nil
	}
	s, err := c.interpolate(sec, key, v.text, vars, 1)
	if err != nil {
		return "", true, fmt.Errorf("%s:%d: %s: %w", v.file, v.line, key, err)
	}
	return s, true, nil
}

// GetEx is Get that also understands "section/option", "known/option" and
// "default/option" names (Fail2ban's get_ex).
func (c *Config) GetEx(sec, key string, vars map[string]string) (string, bool, error) {
	if i := strings.IndexByte(key, '/'); i > 0 {
		s, opt := key[:i], strings.ToLower(key[i+1:])
		var cands []string
		switch strings.ToLower(s) {
		case "known":
			cands = []string{"KNOWN/" + sec, sec}
		case "default":
			cands = []string{"DEFAULT"}
		default:
			cands = []string{s}
		}
		for _, cs := range cands {
			if cs == "DEFAULT" {
				if v, ok := c.defaults.vals[opt]; ok {
					r, err := c.interpolate(sec, opt, v.text, vars, 1)
					return r, true, err
				}
				continue
			}
			if sc, ok := c.sections[cs]; ok {
				if v, ok := sc.vals[opt]; ok {
					r, err := c.interpolate(cs, opt, v.text, vars, 1)
					return r, true, err
				}
			}
		}
	}
	return c.Get(sec, key, vars)
}

func (c *Config) interpolate(sec, key, s string, vars map[string]string, depth int) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	if depth > maxInterpolationDepth {
		return "", fmt.Errorf("interpolation of %q nested deeper than %d (a value refers to itself?)", key, maxInterpolationDepth)
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '%')
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		b.WriteString(s[:i])
		s = s[i:]
		if strings.HasPrefix(s, "%%") {
			b.WriteByte('%')
			s = s[2:]
			continue
		}
		if !strings.HasPrefix(s, "%(") {
			return "", fmt.Errorf("'%%' must be followed by '%%' or '(', found %q", truncate(s, 20))
		}
		end := strings.Index(s, ")s")
		if end < 0 {
			return "", fmt.Errorf("bad interpolation syntax in %q", truncate(s, 40))
		}
		name := strings.ToLower(s[2:end])
		s = s[end+2:]
		rep, err := c.lookupInterp(sec, name, vars, depth)
		if err != nil {
			return "", err
		}
		b.WriteString(rep)
	}
}

func (c *Config) lookupInterp(sec, name string, vars map[string]string, depth int) (string, error) {
	if name == "__name__" {
		return sec, nil
	}
	if v, ok := vars[name]; ok {
		return c.interpolate(sec, name, v, vars, depth+1)
	}
	if v, ok := c.raw(sec, name); ok {
		return c.interpolate(sec, name, v.text, vars, depth+1)
	}
	if i := strings.IndexByte(name, '/'); i > 0 {
		s, opt := name[:i], name[i+1:]
		var v value
		ok := false
		switch s {
		case "known":
			if ks, has := c.sections["KNOWN/"+sec]; has {
				v, ok = ks.vals[opt]
			}
		case "default":
		default:
			for n, sc := range c.sections {
				if strings.EqualFold(n, s) {
					v, ok = sc.vals[opt]
					break
				}
			}
		}
		if !ok {
			v, ok = c.defaults.vals[opt]
		}
		if ok {
			return c.interpolate(sec, opt, v.text, vars, depth+1)
		}
	}
	return "", fmt.Errorf("%%(%s)s refers to an option that is not defined in [%s] or [DEFAULT]", name, sec)
}
