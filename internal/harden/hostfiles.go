package harden

import (
	"bytes"
	"strings"
)

// The parsers and editors of host files the areas read and change. Each
// keeps every byte it does not mean to change, so a diff shows only the
// fix, and each takes hostile input (an image under --root) without
// panicking: FuzzHostFiles runs them.

// ParseOSRelease reads os-release(5): KEY=value lines, values optionally in
// single or double quotes with backslash escapes in double quotes; comments
// and malformed lines are ignored.
func ParseOSRelease(b []byte) map[string]string {
	out := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || l[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" || strings.ContainsAny(k, " \t\"'") {
			continue
		}
		out[k] = unquoteShell(v)
	}
	return out
}

func unquoteShell(v string) string {
	if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
		return v[1 : len(v)-1]
	}
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
		var sb strings.Builder
		for i := 0; i < len(v); i++ {
			if v[i] == '\\' && i+1 < len(v) && strings.IndexByte("\"\\`$", v[i+1]) >= 0 {
				i++
			}
			sb.WriteByte(v[i])
		}
		return sb.String()
	}
	return v
}

// LockEmptyPasswords returns shadow(5) content with every account whose
// password field is empty locked ("!", as passwd -l does to an empty
// password) and the names locked. Other lines are kept byte for byte.
func LockEmptyPasswords(b []byte) ([]byte, []string) {
	var locked []string
	lines := bytes.SplitAfter(b, []byte("\n"))
	var out bytes.Buffer
	for _, l := range lines {
		body := bytes.TrimRight(l, "\r\n")
		f := bytes.SplitN(body, []byte(":"), 3)
		if len(f) == 3 && len(f[0]) > 0 && len(f[1]) == 0 && f[0][0] != '#' && f[0][0] != '+' && f[0][0] != '-' {
			locked = append(locked, string(f[0]))
			out.Write(f[0])
			out.WriteString(":!:")
			out.Write(f[2])
			out.Write(l[len(body):])
			continue
		}
		out.Write(l)
	}
	return out.Bytes(), locked
}

// KV is one key and value to set in a key = value file.
type KV struct{ Key, Value string }

// ParseKeyValues reads a "key = value" file (auditd.conf(5)): keys are
// matched without case, later lines win, # starts a comment line.
func ParseKeyValues(b []byte) map[string]string {
	out := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || l[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			continue
		}
		out[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
	}
	return out
}

// SetKeyValues returns b with each key set to its value: the last line
// assigning the key (the one in force) is rewritten in place as
// "key = value", earlier ones are left alone, and keys not present are
// appended. The second result is false when nothing changed.
func SetKeyValues(b []byte, set []KV) ([]byte, bool) {
	lines := strings.SplitAfter(string(b), "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	changed := false
	var add []string
	for _, kv := range set {
		last := -1
		for i, l := range lines {
			t := strings.TrimSpace(l)
			if t == "" || t[0] == '#' {
				continue
			}
			k, _, ok := strings.Cut(t, "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), kv.Key) {
				last = i
			}
		}
		want := kv.Key + " = " + kv.Value
		if last < 0 {
			add = append(add, want+"\n")
			changed = true
			continue
		}
		_, v, _ := strings.Cut(strings.TrimSpace(lines[last]), "=")
		if strings.TrimSpace(v) == kv.Value {
			continue
		}
		eol := "\n"
		if !strings.HasSuffix(lines[last], "\n") {
			eol = ""
		}
		lines[last] = want + eol
		changed = true
	}
	if len(add) > 0 && len(lines) > 0 && !strings.HasSuffix(lines[len(lines)-1], "\n") {
		lines[len(lines)-1] += "\n"
	}
	return []byte(strings.Join(append(lines, add...), "")), changed
}

// ParseUnitINI reads a systemd configuration file (journald.conf(5)):
// [Section] headers and Key=Value lines, # and ; comments; later
// assignments win. Keys keep their case, as systemd's do.
func ParseUnitINI(b []byte) map[string]map[string]string {
	out := map[string]map[string]string{}
	sec := ""
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || l[0] == '#' || l[0] == ';' {
			continue
		}
		if l[0] == '[' && l[len(l)-1] == ']' {
			sec = l[1 : len(l)-1]
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			continue
		}
		if out[sec] == nil {
			out[sec] = map[string]string{}
		}
		out[sec][strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out
}
