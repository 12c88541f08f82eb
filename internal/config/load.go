package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/BurntSushi/toml"
)

// Options adjusts how a configuration is loaded and checked.
type Options struct {
	// MissingOK accepts a missing main file: the built-in defaults and any
	// drop-ins apply alone. The CLI sets it for DefaultPath when --config
	// was not given.
	MissingOK bool
	// FilterExists reports whether a filter name is known (built-in or on
	// disk). Filters belong to the filter package, so the caller passes
	// this in; nil skips the check.
	FilterExists func(name string) bool
	// Glob and Stat look at log files; nil means filepath.Glob and os.Stat.
	Glob func(pattern string) ([]string, error)
	Stat func(name string) (fs.FileInfo, error)
	// SkipFileChecks does not look at log files at all (for checking a
	// configuration meant for another machine).
	SkipFileChecks bool
}

// layer is one configuration source: the built-in file, the main file or a
// drop-in.
type layer struct {
	name string
	src  string
}

func layersFromBuiltin() []layer { return []layer{{name: BuiltinName, src: defaultTOML}} }

// LoadWith reads the configuration at path and the drop-ins in the
// rampart.d directory beside it, layered over the built-in defaults. A
// missing main file is an error unless opt.MissingOK. On failure the error
// is an Errors listing every problem.
func LoadWith(path string, opt Options) (*Config, error) {
	layers := layersFromBuiltin()
	data, err := readConfigFile(path)
	switch {
	case err == nil:
		layers = append(layers, layer{name: path, src: string(data)})
	case errors.Is(err, fs.ErrNotExist) && opt.MissingOK:
	case errors.Is(err, fs.ErrNotExist):
		return nil, Errors{{File: path, Msg: "no such file (create it, or point --config at your configuration)"}}
	default:
		return nil, Errors{{File: path, Msg: fmt.Sprintf("cannot read: %v", err)}}
	}
	dropins, _ := filepath.Glob(filepath.Join(filepath.Dir(path), DropInDir, "*.toml"))
	sort.Strings(dropins)
	var errs Errors
	for _, f := range dropins {
		data, err := readConfigFile(f)
		if err != nil {
			errs = append(errs, Error{File: f, Msg: fmt.Sprintf("cannot read: %v", err)})
			continue
		}
		layers = append(layers, layer{name: f, src: string(data)})
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return load(layers, opt)
}

// MaxFileBytes bounds one configuration file.
const MaxFileBytes = 4 << 20

// readConfigFile reads a configuration file of at most MaxFileBytes.
func readConfigFile(path string) ([]byte, error) {
	// O_NONBLOCK: a FIFO dropped in rampart.d must not hang start-up.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil {
		return nil, err
	} else if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file (%s)", fi.Mode().Type())
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("larger than %d bytes; is this really a configuration file?", MaxFileBytes)
	}
	return data, nil
}

// LoadBytes checks one configuration document given in memory, layered over
// the built-in defaults; name is used in error messages. Log files are not
// looked at unless opt asks for it with Glob and Stat.
func LoadBytes(name string, data []byte, opt Options) (*Config, error) {
	return load(append(layersFromBuiltin(), layer{name: name, src: string(data)}), opt)
}

// load parses every layer, merges them key by key and decodes the result.
func load(layers []layer, opt Options) (*Config, error) {
	order := map[string]int{}
	var errs Errors
	root := &node{kids: map[string]*node{}}
	for i, l := range layers {
		order[l.name] = i
		var m map[string]any
		if _, err := toml.Decode(l.src, &m); err != nil {
			errs = append(errs, syntaxError(l.name, l.src, err))
			continue
		}
		merge(root, build(m, nil, l.name, keyLines(l.src)))
	}
	if len(errs) > 0 {
		return nil, sortErrors(errs, order)
	}
	d := &decoder{opt: opt}
	if d.opt.Glob == nil {
		d.opt.Glob = filepath.Glob
	}
	if d.opt.Stat == nil {
		d.opt.Stat = os.Stat
	}
	c := d.config(root)
	for _, l := range layers {
		c.Files = append(c.Files, l.name)
	}
	if len(d.errs) > 0 {
		return nil, sortErrors(d.errs, order)
	}
	c.Warnings = sortErrors(d.warns, order)
	return c, nil
}

// syntaxError turns a TOML parse error into an Error with a line. The line
// is counted from the byte offset of the offending character: the parser's
// own line number is one too high when that character is a line's newline
// (an unclosed "[table" is reported on the line after it).
func syntaxError(file, src string, err error) Error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		msg := pe.Message
		if pe.Usage != "" {
			msg += " (" + firstLine(pe.Usage) + ")"
		}
		line := max(pe.Position.Line, 1)
		if s := pe.Position.Start; s > 0 && s <= len(src) {
			line = 1 + strings.Count(src[:s], "\n")
		}
		return Error{File: file, Line: line, Msg: "TOML syntax: " + msg}
	}
	return Error{File: file, Line: 1, Msg: "TOML syntax: " + err.Error()}
}

func firstLine(s string) string {
	for i, c := range s {
		if c == '\n' {
			return s[:i]
		}
	}
	return s
}

// node is one key of the merged configuration tree with the place its
// value came from.
type node struct {
	path []string
	file string
	line int
	val  any              // the value, for keys that are not tables
	kids map[string]*node // non-nil for tables
}

// key returns the node's dotted key as written in error messages.
func (n *node) key() string { return toml.Key(n.path).String() }

// sortedKids returns the node's children in file order.
func (n *node) sortedKids() []*node {
	out := make([]*node, 0, len(n.kids))
	for _, k := range n.kids {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].line != out[j].line {
			return out[i].line < out[j].line
		}
		return out[i].key() < out[j].key()
	})
	return out
}

// build turns a decoded TOML table into nodes.
func build(m map[string]any, path []string, file string, lines map[string]int) *node {
	n := &node{path: path, file: file, line: lineOf(lines, path), kids: map[string]*node{}}
	for k, v := range m {
		p := append(append([]string(nil), path...), k)
		if sub, ok := v.(map[string]any); ok {
			n.kids[k] = build(sub, p, file, lines)
			continue
		}
		n.kids[k] = &node{path: p, file: file, line: lineOf(lines, p), val: v}
	}
	return n
}

// merge lays src over dst: tables merge key by key, any other value
// replaces what was there.
func merge(dst, src *node) {
	dst.file, dst.line = src.file, src.line
	for k, s := range src.kids {
		if d, ok := dst.kids[k]; ok && d.kids != nil && s.kids != nil {
			merge(d, s)
			continue
		}
		dst.kids[k] = s
	}
}
