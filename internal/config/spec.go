package config

import (
	"fmt"
	"regexp"
	"strings"
)

var (
	filterNameRE = regexp.MustCompile(`^[A-Za-z0-9_./@-]+$`)
	optionKeyRE  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)
	journalKeyRE = regexp.MustCompile(`^[A-Z0-9_]+$`)
)

// ParseFilterSpec splits Fail2ban's filter syntax "name[key=value, ...]"
// into the name and its options. Values may be quoted with " or '.
func ParseFilterSpec(s string) (name string, opts map[string]string, err error) {
	s = strings.TrimSpace(s)
	name, rest, hasOpts := strings.Cut(s, "[")
	name = strings.TrimSpace(name)
	if !filterNameRE.MatchString(name) {
		return "", nil, fmt.Errorf("%q: a filter name is letters, digits and _ . / @ - (e.g. \"sshd\" or \"sshd[mode=aggressive]\")", s)
	}
	if !hasOpts {
		return name, nil, nil
	}
	if !strings.HasSuffix(rest, "]") {
		return "", nil, fmt.Errorf("%q: options must end with ] (e.g. \"sshd[mode=aggressive]\")", s)
	}
	rest = rest[:len(rest)-1]
	opts = map[string]string{}
	for len(strings.TrimSpace(rest)) > 0 {
		k, after, ok := strings.Cut(rest, "=")
		k = strings.TrimSpace(k)
		if !ok || !optionKeyRE.MatchString(k) {
			return "", nil, fmt.Errorf("%q: expected key=value options separated by commas", s)
		}
		after = strings.TrimLeft(after, " \t")
		var v string
		if after != "" && (after[0] == '"' || after[0] == '\'') {
			end := strings.IndexByte(after[1:], after[0])
			if end < 0 {
				return "", nil, fmt.Errorf("%q: unterminated quote in option %s", s, k)
			}
			v, rest = after[1:1+end], strings.TrimLeft(after[2+end:], " \t")
			if rest != "" && rest[0] != ',' {
				return "", nil, fmt.Errorf("%q: expected a comma after option %s", s, k)
			}
		} else {
			v, rest, _ = strings.Cut(after, ",")
			v = strings.TrimSpace(v)
			rest = "," + rest
		}
		if _, dup := opts[k]; dup {
			return "", nil, fmt.Errorf("%q: option %s given twice", s, k)
		}
		opts[k] = v
		rest = strings.TrimPrefix(rest, ",")
	}
	return name, opts, nil
}

// ParseJournalMatch splits journalmatch into journalctl terms: FIELD=value
// matches, with "+" between alternatives, as Fail2ban writes it:
// "_SYSTEMD_UNIT=sshd.service + _COMM=sshd".
func ParseJournalMatch(s string) ([]string, error) {
	const hint = `use FIELD=value terms separated by spaces and "+" between alternatives, e.g. "_SYSTEMD_UNIT=ssh.service + _COMM=sshd"`
	terms := strings.Fields(s)
	if len(terms) == 0 {
		return nil, nil
	}
	for i, t := range terms {
		if t == "+" {
			if i == 0 || i == len(terms)-1 || terms[i-1] == "+" {
				return nil, fmt.Errorf("%q: a \"+\" must stand between two matches (%s)", s, hint)
			}
			continue
		}
		k, _, ok := strings.Cut(t, "=")
		if !ok || !journalKeyRE.MatchString(k) {
			return nil, fmt.Errorf("%q is not a journal match (%s)", t, hint)
		}
	}
	return terms, nil
}
