package fail2ban

import (
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/rampart-ids/rampart/internal/filter"
)

// filterKeys are the [Definition] options a filter hands to the engine.
var filterKeys = []string{"usedns", "prefregex", "ignoreregex", "failregex", "maxlines", "datepattern", "journalmatch"}

// maxTagReplace bounds how often one <tag> is substituted in one value.
const maxTagReplace = 25

var tagRef = regexp.MustCompile(`<([^ <>]+)>`)

// ReadFilter reads filter.d/NAME.conf (and its .local, .d/ and includes)
// under dir, applying opts as the jail's filter options (`sshd[mode=ddos]`),
// and returns the definition the engine compiles. dir is the Fail2ban
// configuration directory (the one holding filter.d).
func ReadFilter(dir, name string, opts map[string]string) (*filter.Definition, error) {
	c, err := LoadConfig(dir, filepath.Join("filter.d", name))
	if err != nil {
		return nil, err
	}
	return definitionFrom(c, name, opts)
}

// ReadFilterFile reads a filter file at path (its includes relative to it).
func ReadFilterFile(path string, opts map[string]string) (*filter.Definition, error) {
	dir := filepath.Dir(filepath.Dir(path))
	name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	if filepath.Base(filepath.Dir(path)) == "filter.d" {
		return ReadFilter(dir, name, opts)
	}
	c, err := LoadFile(path)
	if err != nil {
		return nil, err
	}
	return definitionFrom(c, name, opts)
}

func definitionFrom(c *Config, name string, opts map[string]string) (*filter.Definition, error) {
	if !c.HasSection("Definition") {
		return nil, fmt.Errorf("%s: no [Definition] section: not a Fail2ban filter", c.files[0])
	}
	pOpts := map[string]string{}
	for k, v := range opts {
		pOpts[strings.ToLower(k)] = v
	}
	initOpts := map[string]string{}
	for k, v := range pOpts {
		initOpts[k] = v
	}
	// Definition options (interpolated with the jail's options as vars).
	defOpts := map[string]string{}
	for _, k := range filterKeys {
		if _, ok := pOpts[k]; ok {
			continue
		}
		v, ok, err := c.Get("Definition", k, pOpts)
		if err != nil {
			return nil, err
		}
		if ok {
			defOpts[k] = v
		}
	}
	if c.HasSection("Init") {
		for _, k := range c.Keys("Init") {
			v, _, err := c.Get("Init", k, nil)
			if err != nil {
				return nil, err
			}
			if !strings.HasPrefix(k, "known/") {
				initOpts["known/"+k] = v
			}
			if _, ok := initOpts[k]; !ok {
				initOpts[k] = v
			}
		}
	}
	combined := map[string]string{}
	for k, v := range defOpts {
		combined[k] = v
	}
	for k, v := range initOpts {
		combined[k] = v
	}
	addrepl := func(tag string) (string, bool, error) {
		return c.GetEx("Definition", tag, pOpts)
	}
	resolve := func(key string) (string, error) {
		return substituteTags(key, combined[key], combined, addrepl)
	}
	src := c.files[0]
	def := &filter.Definition{Name: name, Source: src}
	if len(c.files) > 0 {
		// The filter file itself, not the first include (common.conf).
		for _, f := range c.files {
			if strings.TrimSuffix(filepath.Base(f), filepath.Ext(f)) == name {
				def.Source = f
				break
			}
		}
	}
	where := func(key string) (string, int) {
		w := c.Where("Definition", key)
		if w == "" {
			return src, 0
		}
		i := strings.LastIndexByte(w, ':')
		n, _ := strconv.Atoi(w[i+1:])
		return w[:i], n
	}
	lines := func(key string) ([]filter.Pattern, error) {
		if _, ok := combined[key]; !ok {
			return nil, nil
		}
		v, err := resolve(key)
		if err != nil {
			return nil, err
		}
		f, l := where(key)
		var out []filter.Pattern
		for _, s := range strings.Split(v, "\n") {
			if s != "" {
				out = append(out, filter.Pattern{Expr: s, File: f, Line: l})
			}
		}
		return out, nil
	}
	var err error
	if def.FailRegex, err = lines("failregex"); err != nil {
		return nil, err
	}
	if def.IgnoreRegex, err = lines("ignoreregex"); err != nil {
		return nil, err
	}
	if _, ok := combined["prefregex"]; ok {
		v, err := resolve("prefregex")
		if err != nil {
			return nil, err
		}
		if strings.TrimSpace(v) != "" {
			f, l := where("prefregex")
			def.PrefRegex = &filter.Pattern{Expr: v, File: f, Line: l}
		}
	}
	if _, ok := combined["datepattern"]; ok {
		v, err := resolve("datepattern")
		if err != nil {
			return nil, err
		}
		def.DatePattern = v
		f, l := where("datepattern")
		def.DateWhere = filter.Pattern{Expr: v, File: f, Line: l}
	}
	if _, ok := combined["maxlines"]; ok {
		v, err := resolve("maxlines")
		if err != nil {
			return nil, err
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 {
			f, l := where("maxlines")
			return nil, fmt.Errorf("%s:%d: maxlines %q is not a positive integer", f, l, v)
		}
		def.MaxLines = n
	}
	if _, ok := combined["journalmatch"]; ok {
		v, err := resolve("journalmatch")
		if err != nil {
			return nil, err
		}
		def.JournalMatch = strings.TrimSpace(v)
	}
	if len(def.FailRegex) == 0 {
		return nil, fmt.Errorf("%s: filter %q defines no failregex (is it an include-only file such as common.conf?)", src, name)
	}
	return def, nil
}

// substituteTags replaces <tag> references in v recursively from vals, then
// from addrepl, leaving unknown tags (<HOST>, <F-USER>, …) as they are.
func substituteTags(key, v string, vals map[string]string, addrepl func(string) (string, bool, error)) (string, error) {
	counts := map[string]int{}
	// Like Fail2ban, rescan from the start until a pass changes nothing:
	// a replacement can complete a tag that began earlier (<mdre-<mode>>).
	for changed := true; changed; {
		changed = false
		pos := 0
		for {
			loc := tagRef.FindStringSubmatchIndex(v[pos:])
			if loc == nil {
				break
			}
			start, end := pos+loc[0], pos+loc[1]
			tag := v[pos+loc[2] : pos+loc[3]]
			if tag == key {
				return "", fmt.Errorf("option %q refers to itself through <%s>", key, tag)
			}
			rep, ok := vals[tag]
			if !ok {
				var err error
				rep, ok, err = addrepl(tag)
				if err != nil {
					return "", err
				}
			}
			if !ok {
				pos = end
				continue
			}
			counts[tag]++
			if counts[tag] > maxTagReplace {
				return "", fmt.Errorf("option %q: tag <%s> replaced more than %d times (recursive definition?)", key, tag, maxTagReplace)
			}
			v = strings.ReplaceAll(v, "<"+tag+">", rep)
			changed = true
			pos = min(start, len(v))
		}
	}
	return v, nil
}

// FilterNames lists the filters in dir/filter.d (without *common.conf).
func FilterNames(dir string) ([]string, error) {
	m, err := filepath.Glob(filepath.Join(dir, "filter.d", "*.conf"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range m {
		n := strings.TrimSuffix(filepath.Base(p), ".conf")
		if strings.HasSuffix(n, "common") {
			continue
		}
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}
