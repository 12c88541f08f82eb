package filter

import (
	"fmt"
	"regexp"
	"strings"
)

// Address regexes, in Python syntax (translated like any other pattern).
// IPv6 ends in a hex group or in "::": Fail2ban writes the latter with a
// lookbehind, which is redundant because every repeated unit ends in ':'.
const (
	reIP4    = `(?:\d{1,3}\.){3}\d{1,3}`
	reIP6    = `(?:[0-9a-fA-F]{1,4}::?|::){1,7}(?:[0-9a-fA-F]{1,4}|:)`
	reIP4G   = `(?:::f{4,6}:)?(?P<ip4>` + reIP4 + `)`
	reIP6G   = `(?P<ip6>` + reIP6 + `)`
	reDNSG   = `(?P<dns>[\w\-.^_]*\w)`
	reAddr   = `\[?(?:` + reIP4G + `|` + reIP6G + `)\]?`
	reHost   = `(?:` + reAddr + `|` + reDNSG + `)`
	reCIDRG  = `(?P<cidr>\d+)`
	reSubnet = `\[?(?:` + reIP4G + `|` + reIP6G + `)(?:/` + reCIDRG + `)?\]?`
)

var tagRE = regexp.MustCompile(`</?[\w\-]+/?>`)

// staticTags are replaced by fixed regexes.
func staticTag(name string, useDNS bool) (string, bool) {
	switch name {
	case "HOST":
		if useDNS {
			return reHost, true
		}
		return reAddr, true
	case "ADDR", "F-ADDR/":
		return reAddr, true
	case "IP4", "F-IP4/":
		return reIP4G, true
	case "IP6", "F-IP6/":
		return reIP6G, true
	case "DNS", "F-DNS/":
		return reDNSG, true
	case "CIDR", "F-CIDR/":
		return reCIDRG, true
	case "SUBNET", "F-SUBNET/":
		return reSubnet, true
	case "F-ID/":
		return `(?P<fid>\S+)`, true
	case "F-PORT/":
		return `(?P<fport>\w+)`, true
	}
	return "", false
}

// groupName maps an F-tag name to its capture group name.
func groupName(tag string) string {
	n := strings.ToLower(tag)
	switch n {
	case "id":
		return "fid"
	case "port":
		return "fport"
	}
	return strings.ReplaceAll(n, "-", "_")
}

// expandTags replaces Fail2ban's tags (<HOST>, <F-USER>…</F-USER>, …) and
// rampart's <PREFIX> in a pattern. prefix is the regex for <PREFIX>.
func expandTags(p string, useDNS bool, prefix string) (string, error) {
	open := map[string]bool{}
	skip := 0
	var err error
	out := tagRE.ReplaceAllStringFunc(p, func(tag string) string {
		name := tag[1 : len(tag)-1]
		if s, ok := staticTag(name, useDNS); ok {
			return s
		}
		if name == "PREFIX" {
			return prefix
		}
		if name == "SKIPLINES" {
			s := fmt.Sprintf(`\n(?P<skiplines%d>(?:(?:.*\n)*?))`, skip)
			skip++
			return s
		}
		closing := strings.HasPrefix(name, "/")
		if closing {
			name = name[1:]
		}
		if !strings.HasPrefix(name, "F-") || strings.HasSuffix(name, "/") {
			return tag
		}
		fn := name[2:]
		if fn == "" {
			return tag
		}
		for _, r := range fn {
			if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
				return tag
			}
		}
		if closing {
			if open[fn] {
				return ")"
			}
			return tag
		}
		if open[fn] && err == nil {
			err = fmt.Errorf("tag <%s> is opened twice", name)
		}
		open[fn] = true
		return "(?P<" + groupName(fn) + ">"
	})
	return out, err
}
