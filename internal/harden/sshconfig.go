package harden

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/rampart-ids/rampart/internal/audit"
)

// sshdDir is where sshd resolves a relative Include (OpenSSH's SSHDIR).
const sshdDir = "/etc/ssh"

// sshView reads sshd's configuration files the way sshd will see them:
// "seen" paths are what the configuration names; disk maps them to the
// file to read. Overlay holds new contents by seen path (the plan being
// checked), so the effect of a change is evaluated before it is written.
type sshView struct {
	root    string // "/" or the --root directory
	literal bool   // paths in the configuration are host paths (a live sshd -f ROOT/...)
	overlay map[string][]byte
	read    map[string]bool // seen paths read by the last walk
}

func (v *sshView) disk(seen string) string {
	if v.literal || v.root == "" || v.root == "/" {
		return seen
	}
	return filepath.Join(v.root, seen)
}

// seen returns the path sshd uses for host path p (a Proposal path).
func (v *sshView) seen(p string) string {
	if v.literal && v.root != "" && v.root != "/" {
		return filepath.Join(v.root, p)
	}
	return p
}

// host is the inverse of seen: the Proposal path of a file sshd reads.
func (v *sshView) host(seen string) (string, error) {
	if !v.literal || v.root == "" || v.root == "/" {
		return seen, nil
	}
	rel, err := filepath.Rel(v.root, seen)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("%s is outside %s: rampart only changes files under the root", seen, v.root)
	}
	return "/" + rel, nil
}

func (v *sshView) readFile(seen string) ([]byte, error) {
	if b, ok := v.overlay[seen]; ok {
		return b, nil
	}
	return os.ReadFile(v.disk(seen))
}

func (v *sshView) exists(seen string) bool {
	if _, ok := v.overlay[seen]; ok {
		return true
	}
	_, err := os.Stat(v.disk(seen))
	return err == nil
}

// glob expands an Include pattern as glob(3) does (sorted), counting
// overlay files that do not exist yet.
func (v *sshView) glob(pattern string) ([]string, error) {
	set := map[string]bool{}
	if !strings.ContainsAny(pattern, "*?[") {
		if v.exists(pattern) {
			return []string{pattern}, nil
		}
		return nil, nil
	}
	m, err := filepath.Glob(v.disk(pattern))
	if err != nil {
		return nil, fmt.Errorf("Include %q: %w", pattern, err)
	}
	for _, d := range m {
		s := d
		if !v.literal && v.root != "" && v.root != "/" {
			rel, err := filepath.Rel(v.root, d)
			if err != nil {
				continue
			}
			s = "/" + rel
		}
		if st, err := os.Stat(d); err == nil && st.Mode().IsRegular() {
			set[s] = true
		}
	}
	for s := range v.overlay {
		if ok, _ := path.Match(pattern, s); ok {
			set[s] = true
		}
	}
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	return out, nil
}

// sshLine is one directive of the configuration, in the order sshd reads
// them (Includes expanded in place).
type sshLine struct {
	File    string   // seen path
	N       int      // 1-based line number in File
	Key     string   // keyword, lower case (ChallengeResponseAuthentication folded)
	Args    []string // arguments as written
	InMatch bool     // inside a Match block: not part of the global settings
}

func (l sshLine) value() string { return strings.Join(l.Args, " ") }

// sshStream is the whole configuration as sshd reads it.
type sshStream struct {
	Main  string
	Lines []sshLine
	Files []string // every file read, in order
	// Via is, for every file read, the line of Main whose Include brought
	// it in (0 for Main itself).
	Via map[string]int
}

var errIncludeDepth = errors.New("Include nested too deeply")

// walkSSHD reads main and every file it includes.
func (v *sshView) walkSSHD(main string) (*sshStream, error) {
	s := &sshStream{Main: main, Via: map[string]int{}}
	v.read = map[string]bool{}
	if err := v.walkInto(s, main, false, 0, 0); err != nil {
		return nil, err
	}
	return s, nil
}

func (v *sshView) walkInto(s *sshStream, file string, inMatch bool, depth, via int) error {
	if depth > 16 {
		return fmt.Errorf("%s: %w", file, errIncludeDepth)
	}
	b, err := v.readFile(file)
	if err != nil {
		return err
	}
	if !v.read[file] {
		v.read[file] = true
		s.Files = append(s.Files, file)
		s.Via[file] = via
	}
	lines, err := parseSSHDLines(file, b)
	if err != nil {
		return err
	}
	for _, l := range lines {
		if l.Key == "match" {
			inMatch = true
			continue
		}
		l.InMatch = inMatch
		if l.Key == "include" {
			for _, pat := range l.Args {
				if !path.IsAbs(pat) {
					pat = path.Join(sshdDir, pat)
				}
				files, err := v.glob(pat)
				if err != nil {
					return fmt.Errorf("%s: line %d: %w", file, l.N, err)
				}
				for _, f := range files {
					// An included file starts in the context of the
					// Include line; a Match inside it ends with the file.
					w := via
					if depth == 0 {
						w = l.N
					}
					if err := v.walkInto(s, f, inMatch, depth+1, w); err != nil {
						return err
					}
				}
			}
		}
		s.Lines = append(s.Lines, l)
	}
	return nil
}

// parseSSHDLines splits one sshd_config file into directives. Binary data
// and malformed keywords are refused with the file and line, so a damaged
// file is never rewritten.
func parseSSHDLines(file string, b []byte) ([]sshLine, error) {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return nil, fmt.Errorf("%s: line %d: NUL byte, not an sshd configuration", file, 1+bytes.Count(b[:i], []byte("\n")))
	}
	if !utf8.Valid(b) {
		return nil, fmt.Errorf("%s: not valid UTF-8, not an sshd configuration", file)
	}
	var out []sshLine
	for n, raw := range strings.Split(string(b), "\n") {
		l := strings.TrimSpace(raw)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		key, rest := l, ""
		if i := strings.IndexAny(l, " \t="); i >= 0 {
			key, rest = l[:i], l[i:]
		}
		rest = strings.TrimLeft(rest, " \t")
		if strings.HasPrefix(rest, "=") {
			rest = strings.TrimLeft(rest[1:], " \t")
		}
		k := strings.ToLower(key)
		if !sshKeyword(k) {
			return nil, fmt.Errorf("%s: line %d: bad keyword %q", file, n+1, clip(key, 40))
		}
		if k == "challengeresponseauthentication" {
			k = "kbdinteractiveauthentication"
		}
		args, err := sshArgs(rest)
		if err != nil {
			return nil, fmt.Errorf("%s: line %d: %w", file, n+1, err)
		}
		out = append(out, sshLine{File: file, N: n + 1, Key: k, Args: args})
	}
	return out, nil
}

// sshArgs splits arguments as sshd's argv_split does: whitespace
// separated, double quotes group, a trailing # comment ends the line.
func sshArgs(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	inQ, have := false, false
	for _, r := range s {
		switch {
		case r == '"':
			inQ, have = !inQ, true
		case !inQ && (r == ' ' || r == '\t'):
			if have {
				out = append(out, cur.String())
				cur.Reset()
				have = false
			}
		case !inQ && r == '#' && !have:
			return out, nil
		default:
			cur.WriteRune(r)
			have = true
		}
	}
	if inQ {
		return nil, errors.New("unterminated quote")
	}
	if have {
		out = append(out, cur.String())
	}
	return out, nil
}

func sshKeyword(k string) bool {
	if k == "" || len(k) > 64 {
		return false
	}
	for i, r := range k {
		if !(r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// sshMulti are the keywords whose lines accumulate; every other keyword
// keeps the first value sshd reads.
var sshMulti = map[string]bool{
	"port": true, "listenaddress": true, "hostkey": true, "acceptenv": true,
	"allowusers": true, "allowgroups": true, "denyusers": true, "denygroups": true,
	"subsystem": true, "setenv": true, "include": true, "hostcertificate": true,
}

// first returns the global line that decides keyword k, or nil.
func (s *sshStream) first(k string) *sshLine {
	for i := range s.Lines {
		if l := &s.Lines[i]; !l.InMatch && l.Key == k {
			return l
		}
	}
	return nil
}

// all returns every global line of keyword k.
func (s *sshStream) all(k string) []sshLine {
	var out []sshLine
	for _, l := range s.Lines {
		if !l.InMatch && l.Key == k {
			out = append(out, l)
		}
	}
	return out
}

// get returns the effective value of single keyword k (OpenSSH's default
// when no line sets it).
func (s *sshStream) get(k string) string {
	if l := s.first(k); l != nil {
		return l.value()
	}
	return audit.SSHDDefault(k)
}

// values returns the accumulated arguments of multi keyword k.
func (s *sshStream) values(k string) []string {
	var out []string
	for _, l := range s.all(k) {
		out = append(out, l.Args...)
	}
	return out
}

// fileMode returns the permission bits of seen path p, or 0644 when it
// does not exist (new files).
func (v *sshView) fileMode(seen string) fs.FileMode {
	if st, err := os.Stat(v.disk(seen)); err == nil {
		return st.Mode().Perm()
	}
	return 0o644
}
