package filter

import (
	"fmt"
	"strings"
)

// ParseSpec splits a filter reference in Fail2ban's jail syntax,
// `name[key=value, key2="value 2"]`, into the name and its options.
func ParseSpec(s string) (name string, opts map[string]string, err error) {
	s = strings.TrimSpace(s)
	i := strings.IndexByte(s, '[')
	if i < 0 {
		if s == "" {
			return "", nil, fmt.Errorf("empty filter name")
		}
		return s, nil, nil
	}
	if !strings.HasSuffix(s, "]") {
		return "", nil, fmt.Errorf("filter %q: options must end with ']'", s)
	}
	name = strings.TrimSpace(s[:i])
	if name == "" {
		return "", nil, fmt.Errorf("filter %q: missing name before '['", s)
	}
	body := s[i+1 : len(s)-1]
	opts = map[string]string{}
	for len(strings.TrimSpace(body)) > 0 {
		body = strings.TrimLeft(body, " \t,")
		eq := strings.IndexByte(body, '=')
		if eq <= 0 {
			return "", nil, fmt.Errorf("filter %q: option %q is not key=value", s, body)
		}
		key := strings.TrimSpace(body[:eq])
		body = strings.TrimLeft(body[eq+1:], " \t")
		var val string
		if len(body) > 0 && (body[0] == '"' || body[0] == '\'') {
			q := body[0]
			end := strings.IndexByte(body[1:], q)
			if end < 0 {
				return "", nil, fmt.Errorf("filter %q: unterminated quote in option %q", s, key)
			}
			val = body[1 : 1+end]
			body = body[end+2:]
		} else {
			end := strings.IndexByte(body, ',')
			if end < 0 {
				end = len(body)
			}
			val = strings.TrimSpace(body[:end])
			body = body[end:]
		}
		opts[strings.ToLower(key)] = val
		body = strings.TrimLeft(body, " \t")
		if len(body) > 0 && body[0] != ',' {
			return "", nil, fmt.Errorf("filter %q: expected ',' after option %q", s, key)
		}
	}
	return name, opts, nil
}
