package audit

import (
	"context"
	"strings"
)

// aptConfig is APT's merged configuration: lowercase keys to values; list
// elements accumulate, scalars keep the last assignment.
type aptConfig struct {
	Source string
	Values map[string][]string
}

func (a *aptConfig) get(k string) string {
	v := a.Values[strings.ToLower(k)]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

// aptConf reads `apt-config dump` on a live host, or parses
// /etc/apt/apt.conf and /etc/apt/apt.conf.d/* under --root (shared per run).
func (e *Env) aptConf(ctx context.Context) (*aptConfig, error) {
	return load(ctx, e, "apt-config", func(ctx context.Context) (*aptConfig, error) {
		if e.live() {
			out, err := e.run(ctx, "apt-config", "dump")
			if err == nil {
				return &aptConfig{Source: "apt-config dump", Values: parseAptDump(string(out))}, nil
			}
		}
		files, err := e.Glob("/etc/apt/apt.conf.d/*")
		if err != nil {
			return nil, err
		}
		files = append(files, "/etc/apt/apt.conf")
		c := &aptConfig{Source: "parsed /etc/apt/apt.conf.d", Values: map[string][]string{}}
		for _, f := range files {
			b, err := e.ReadFile(f)
			if err != nil {
				if notExist(err) {
					continue
				}
				return nil, err
			}
			parseAptConf(string(b), c.Values)
		}
		return c, nil
	})
}

// parseAptDump reads `apt-config dump`: `Key "value";` per line, list
// elements as `Key:: "value";`.
func parseAptDump(s string) map[string][]string {
	out := map[string][]string{}
	for _, l := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(l), " ")
		if !ok {
			continue
		}
		v = strings.TrimSuffix(strings.TrimSpace(v), ";")
		v = strings.Trim(v, `"`)
		k = strings.ToLower(k)
		if strings.HasSuffix(k, "::") {
			k = strings.TrimSuffix(k, "::")
			out[k] = append(out[k], v)
			continue
		}
		if v == "" {
			continue // a list head
		}
		out[k] = []string{v}
	}
	return out
}

type aptTok struct {
	s      string
	quoted bool
	clear  bool // a #clear directive naming s
}

// parseAptConf parses apt.conf syntax into out: `a::b "v";`, blocks
// `a { b "v"; };`, lists `a { "x"; "y"; };`, // and /* */ comments, #clear.
func parseAptConf(s string, out map[string][]string) {
	var toks []aptTok
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case strings.HasPrefix(s[i:], "//"):
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case strings.HasPrefix(s[i:], "/*"):
			j := strings.Index(s[i+2:], "*/")
			if j < 0 {
				return
			}
			i += j + 4
		case c == '#':
			j := strings.IndexByte(s[i:], '\n')
			if j < 0 {
				j = len(s) - i
			}
			f := strings.Fields(s[i : i+j])
			if len(f) >= 2 && f[0] == "#clear" {
				for _, k := range f[1:] {
					toks = append(toks, aptTok{s: strings.ToLower(strings.TrimSuffix(k, ";")), clear: true})
				}
			}
			i += j
		case c == '{' || c == '}' || c == ';':
			toks = append(toks, aptTok{s: string(c)})
			i++
		case c == '"':
			j := strings.IndexByte(s[i+1:], '"')
			if j < 0 {
				return
			}
			toks = append(toks, aptTok{s: s[i+1 : i+1+j], quoted: true})
			i += j + 2
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\r\n{};\"", rune(s[j])) {
				j++
			}
			toks = append(toks, aptTok{s: s[i:j]})
			i = j
		}
	}
	var stack []string
	key := func(name string) string {
		return strings.ToLower(strings.Join(append(append([]string{}, stack...), name), "::"))
	}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch {
		case t.clear:
			delete(out, t.s)
		case !t.quoted && t.s == "}":
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case !t.quoted && t.s == ";":
		case t.quoted:
			// A bare value inside a block is a list element.
			k := strings.ToLower(strings.Join(stack, "::"))
			out[k] = append(out[k], t.s)
		case i+1 < len(toks) && !toks[i+1].quoted && !toks[i+1].clear && toks[i+1].s == "{":
			stack = append(stack, t.s)
			i++
		case i+1 < len(toks) && !toks[i+1].clear && (toks[i+1].quoted || (toks[i+1].s != ";" && toks[i+1].s != "}")):
			out[key(t.s)] = []string{toks[i+1].s}
			i++
		}
	}
}
