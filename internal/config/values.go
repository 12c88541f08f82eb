package config

import (
	"fmt"
	"math"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// typeName names a decoded TOML value's type for error messages.
func typeName(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case []map[string]any:
		return "an array of tables"
	case nil:
		return "a table"
	}
	return "a date or time"
}

// show writes a value short enough for an error message.
func show(v any) string {
	s := fmt.Sprintf("%v", v)
	if str, ok := v.(string); ok {
		s = strconv.Quote(str)
	}
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}

func (d *decoder) wrongType(n *node, want string) {
	if n.kids != nil {
		d.fail(n, "must be %s, not a table", want)
		return
	}
	d.fail(n, "must be %s, not %s (%s)", want, typeName(n.val), show(n.val))
}

func (d *decoder) str(n *node) (string, bool) {
	s, ok := n.val.(string)
	if !ok || n.kids != nil {
		d.wrongType(n, "a string")
	}
	return s, ok && n.kids == nil
}

func (d *decoder) boolean(n *node) (bool, bool) {
	b, ok := n.val.(bool)
	if !ok || n.kids != nil {
		d.wrongType(n, "true or false")
	}
	return b, ok && n.kids == nil
}

func (d *decoder) integer(n *node, lo, hi int64) (int64, bool) {
	v, ok := n.val.(int64)
	if !ok || n.kids != nil {
		d.wrongType(n, "an integer")
		return 0, false
	}
	if v < lo || v > hi {
		d.fail(n, "%d is out of range (use %d to %d)", v, lo, hi)
		return 0, false
	}
	return v, true
}

func (d *decoder) number(n *node) (float64, bool) {
	switch v := n.val.(type) {
	case int64:
		return float64(v), true
	case float64:
		return v, true
	}
	d.wrongType(n, "a number")
	return 0, false
}

// numbers reads an array of numbers, or Fail2ban's space-separated string.
func (d *decoder) numbers(n *node) ([]float64, bool) {
	var items []any
	switch v := n.val.(type) {
	case string:
		for _, f := range strings.Fields(v) {
			items = append(items, f)
		}
	case []any:
		items = v
	default:
		d.wrongType(n, "an array of numbers, e.g. [1, 2, 4, 8]")
		return nil, false
	}
	out := make([]float64, 0, len(items))
	for _, it := range items {
		var f float64
		switch x := it.(type) {
		case int64:
			f = float64(x)
		case float64:
			f = x
		case string:
			var err error
			if f, err = strconv.ParseFloat(x, 64); err != nil {
				d.fail(n, "%q is not a number (use e.g. [1, 2, 4, 8])", x)
				return nil, false
			}
		default:
			d.fail(n, "must hold numbers, not %s (%s)", typeName(it), show(it))
			return nil, false
		}
		if f <= 0 || math.IsInf(f, 0) || math.IsNaN(f) {
			d.fail(n, "multipliers must be above 0 (got %v)", f)
			return nil, false
		}
		out = append(out, f)
	}
	if len(out) == 0 {
		d.fail(n, "must not be empty (e.g. [1, 2, 4, 8]); remove the key to use formula")
		return nil, false
	}
	return out, true
}

// list reads a string or an array of strings. With split, strings are also
// split on spaces and commas, as Fail2ban writes ignoreip and protocol.
func (d *decoder) list(n *node, split bool) ([]string, bool) {
	var raw []string
	switch v := n.val.(type) {
	case string:
		raw = []string{v}
	case []any:
		for _, it := range v {
			s, ok := it.(string)
			if !ok {
				d.fail(n, "must hold strings, not %s (%s)", typeName(it), show(it))
				return nil, false
			}
			raw = append(raw, s)
		}
	default:
		d.wrongType(n, "a string or an array of strings")
		return nil, false
	}
	if n.kids != nil {
		d.wrongType(n, "a string or an array of strings")
		return nil, false
	}
	var out []string
	for _, s := range raw {
		if split {
			out = append(out, strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })...)
			continue
		}
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out, true
}

func (d *decoder) oneOf(n *node, choices ...string) (string, bool) {
	s, ok := d.str(n)
	if !ok {
		return "", false
	}
	for _, c := range choices {
		if strings.EqualFold(s, c) {
			return c, true
		}
	}
	d.fail(n, "%q is not allowed (use %s)", s, strings.Join(choices, ", "))
	return "", false
}

func (d *decoder) absPath(n *node) (string, bool) {
	s, ok := d.str(n)
	if !ok {
		return "", false
	}
	if !filepath.IsAbs(s) {
		d.fail(n, "%q must be an absolute path", s)
		return "", false
	}
	return filepath.Clean(s), true
}

// duration reads an integer or float number of seconds, or a string for
// ParseDuration.
func (d *decoder) duration(n *node) (time.Duration, bool) {
	switch v := n.val.(type) {
	case int64:
		if v == -1 {
			return Permanent, true
		}
		if v < 0 || v > math.MaxInt64/int64(time.Second) {
			d.fail(n, "%d is not a duration (%s; -1 means permanent)", v, durationHint)
			return 0, false
		}
		return time.Duration(v) * time.Second, true
	case float64:
		if v < 0 || v*float64(time.Second) >= math.MaxInt64 || math.IsNaN(v) {
			d.fail(n, "%v is not a duration (%s)", v, durationHint)
			return 0, false
		}
		return time.Duration(v * float64(time.Second)), true
	case string:
		t, err := ParseDuration(v)
		if err != nil {
			d.fail(n, "%q is not a duration (%s)", v, durationHint)
			return 0, false
		}
		return t, true
	}
	d.wrongType(n, "a duration")
	return 0, false
}

// checkGlob refuses log paths that cannot work.
func checkGlob(p string) error {
	if f := strings.Fields(p); len(f) > 1 && (f[len(f)-1] == "tail" || f[len(f)-1] == "head") {
		return fmt.Errorf("%q: Fail2ban's %q suffix is not used (rampart resumes from saved positions and reads a new file back as far as findtime); remove it", p, f[len(f)-1])
	}
	if !filepath.IsAbs(p) {
		return fmt.Errorf("%q must be an absolute path or glob (e.g. /var/log/auth.log)", p)
	}
	if _, err := filepath.Match(p, ""); err != nil {
		return fmt.Errorf("%q is not a valid glob (check its [ ] brackets and \\ escapes)", p)
	}
	return nil
}

// parsePorts reads port: a number, a service name, a range "1000:2000" (or
// "1000-2000"), "all", or a list of these in an array or a comma-separated
// string.
func parsePorts(v any) (all bool, out []PortRange, err error) {
	var items []string
	switch x := v.(type) {
	case int64:
		items = []string{strconv.FormatInt(x, 10)}
	case string:
		items = strings.Split(x, ",")
	case []any:
		for _, it := range x {
			switch y := it.(type) {
			case int64:
				items = append(items, strconv.FormatInt(y, 10))
			case string:
				items = append(items, strings.Split(y, ",")...)
			default:
				return false, nil, fmt.Errorf("must hold ports, not %s (%s)", typeName(it), show(it))
			}
		}
	default:
		return false, nil, fmt.Errorf("must be a port, a service name, a range or \"all\", not %s", typeName(v))
	}
	for _, it := range items {
		it = strings.TrimSpace(it)
		switch it {
		case "":
			continue
		case "all", "any", "0:65535", "1:65535", "0-65535", "1-65535":
			return true, nil, nil
		}
		lo, hi, isRange := strings.Cut(it, ":")
		if !isRange {
			lo, hi, isRange = strings.Cut(it, "-")
			if isRange && (!isDigits(lo) || !isDigits(hi)) {
				lo, isRange = it, false // a service name with a dash
			}
		}
		first, err := portNumber(lo)
		if err != nil {
			return false, nil, err
		}
		last := first
		if isRange {
			if last, err = portNumber(hi); err != nil {
				return false, nil, err
			}
			if last < first {
				return false, nil, fmt.Errorf("port range %q runs backwards (write %d:%d)", it, last, first)
			}
		}
		out = append(out, PortRange{First: first, Last: last})
	}
	if len(out) == 0 {
		return false, nil, fmt.Errorf("names no port (use e.g. \"ssh\", 22, \"http,https\", \"8000:8100\" or \"all\")")
	}
	return false, out, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func portNumber(s string) (uint16, error) {
	s = strings.TrimSpace(s)
	if isDigits(s) {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 65535 {
			return 0, fmt.Errorf("port %q is out of range (1-65535)", s)
		}
		return uint16(n), nil
	}
	if p, ok := servicePort(s); ok {
		return p, nil
	}
	return 0, fmt.Errorf("%q is not a port number or a known service name (use a number, e.g. 22)", s)
}

// servicePort knows the services Fail2ban's jails name, so results do not
// depend on the host's /etc/services; anything else is looked up there.
func servicePort(name string) (uint16, bool) {
	switch strings.ToLower(name) {
	case "ssh":
		return 22, true
	case "ftp":
		return 21, true
	case "ftp-data":
		return 20, true
	case "telnet":
		return 23, true
	case "smtp":
		return 25, true
	case "domain":
		return 53, true
	case "http", "www":
		return 80, true
	case "pop3":
		return 110, true
	case "imap", "imap2", "imap3":
		return 143, true
	case "https":
		return 443, true
	case "submissions", "smtps", "ssmtp":
		return 465, true
	case "submission":
		return 587, true
	case "imaps":
		return 993, true
	case "pop3s":
		return 995, true
	case "mysql":
		return 3306, true
	case "postgresql":
		return 5432, true
	case "sieve":
		return 4190, true
	}
	if !validHostname(name) {
		return 0, false
	}
	p, err := net.LookupPort("tcp", name)
	if err != nil || p < 1 || p > 65535 {
		return 0, false
	}
	return uint16(p), true
}

// parseIgnore reads one ignoreip entry: an address, a CIDR, or a DNS name.
func parseIgnore(s string) (netip.Prefix, string, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		a = a.Unmap().WithZone("")
		return netip.PrefixFrom(a, a.BitLen()), "", nil
	}
	if p, err := netip.ParsePrefix(s); err == nil {
		if p.Addr().Is4In6() {
			return netip.Prefix{}, "", fmt.Errorf("%q: write IPv4 networks in IPv4 form", s)
		}
		return p.Masked(), "", nil
	}
	if addr, mask, ok := strings.Cut(s, "/"); ok && strings.Contains(mask, ".") {
		// Fail2ban also takes a dotted netmask: 192.0.2.0/255.255.255.0.
		a, err1 := netip.ParseAddr(addr)
		m, err2 := netip.ParseAddr(mask)
		if err1 == nil && err2 == nil && a.Is4() && m.Is4() {
			if bits, ok := maskBits(m.As4()); ok {
				return netip.PrefixFrom(a, bits).Masked(), "", nil
			}
		}
		return netip.Prefix{}, "", fmt.Errorf("%q is not an address, a CIDR (e.g. 192.0.2.0/24) or a DNS name", s)
	}
	if strings.HasPrefix(s, "file:") {
		return netip.Prefix{}, "", fmt.Errorf("%q: Fail2ban's file: lists are not supported; list the addresses here or in a drop-in", s)
	}
	if validHostname(s) {
		return netip.Prefix{}, strings.ToLower(strings.TrimSuffix(s, ".")), nil
	}
	return netip.Prefix{}, "", fmt.Errorf("%q is not an address, a CIDR (e.g. 192.0.2.0/24) or a DNS name", s)
}

// maskBits returns the prefix length of a contiguous IPv4 netmask.
func maskBits(m [4]byte) (int, bool) {
	v := uint32(m[0])<<24 | uint32(m[1])<<16 | uint32(m[2])<<8 | uint32(m[3])
	bits := 0
	for v&(1<<31) != 0 {
		bits++
		v <<= 1
	}
	return bits, v == 0
}

// validHostname accepts DNS names: dot-separated labels of letters, digits
// and hyphens, with a last label that is not all digits.
func validHostname(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	labels := strings.Split(s, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return !isDigits(labels[len(labels)-1])
}

// parseBanAction reads banaction: "drop" or "reject", or a Fail2ban action
// name. Fail2ban's nftables and iptables actions reject by default; their
// *-allports variants and [type=allports] ban every port.
func parseBanAction(s string) (allPorts, reject bool, err error) {
	name, opts, err := ParseFilterSpec(s)
	if err != nil {
		return false, false, fmt.Errorf("banaction: %v", err)
	}
	switch strings.ToLower(name) {
	case "drop":
		return false, false, checkNoOpts(s, opts)
	case "reject":
		return false, true, checkNoOpts(s, opts)
	case "nftables", "nftables-multiport", "iptables", "iptables-multiport", "iptables-new",
		"iptables-ipset", "iptables-ipset-proto6", "iptables-ipset-proto4", "ipset":
		reject = true
	case "nftables-allports", "iptables-allports", "iptables-ipset-proto6-allports":
		allPorts, reject = true, true
	default:
		return false, false, fmt.Errorf(`%q is not a ban action (use "drop" or "reject", with port = "all" to cover every port; Fail2ban's nftables[-multiport|-allports] and iptables[-multiport|-allports] names are accepted)`, s)
	}
	for k, v := range opts {
		switch {
		case k == "type" && v == "allports":
			allPorts = true
		case k == "type" && v == "multiport":
		case k == "blocktype" && strings.EqualFold(v, "drop"):
			reject = false
		case k == "blocktype" && strings.HasPrefix(strings.ToLower(v), "reject"):
			reject = true
		default:
			return false, false, fmt.Errorf("%q: option %s=%s is not supported (only type=allports|multiport and blocktype=drop|reject)", s, k, v)
		}
	}
	return allPorts, reject, nil
}

func checkNoOpts(s string, opts map[string]string) error {
	if len(opts) > 0 {
		return fmt.Errorf("%q takes no options", s)
	}
	return nil
}

// suggest returns the known key closest to key, if it is close enough to
// be a typo.
func suggest(key string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if d := editDistance(strings.ToLower(key), k); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
