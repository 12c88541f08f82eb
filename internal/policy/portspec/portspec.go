// Package portspec parses the port specifications of the baseline policy
// ("80/tcp", "60000-61000/udp"); both internal/config and internal/policy
// use it, so it imports nothing internal.
package portspec

import (
	"fmt"
	"strconv"
	"strings"
)

// Spec is one port or port range of one transport protocol, as the
// baseline allows it: "80/tcp", "60000-61000/udp".
type Spec struct {
	Proto string `json:"proto"` // "tcp" or "udp"
	From  uint16 `json:"from"`
	To    uint16 `json:"to"` // == From for a single port
}

// String writes p as the configuration does: "80/tcp", "1000-2000/udp".
func (p Spec) String() string {
	if p.From == p.To {
		return fmt.Sprintf("%d/%s", p.From, p.Proto)
	}
	return fmt.Sprintf("%d-%d/%s", p.From, p.To, p.Proto)
}

// Contains reports whether port of proto is in p.
func (p Spec) Contains(proto string, port uint16) bool {
	return p.Proto == proto && port >= p.From && port <= p.To
}

// Parse reads "PORT/PROTO" or "FROM-TO/PROTO" where PROTO is tcp or
// udp and ports are 1 … 65535. The error says what to write instead.
func Parse(s string) (Spec, error) {
	num, proto, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Spec{}, fmt.Errorf("%q: write PORT/PROTO, e.g. \"%s/tcp\"", s, strings.TrimSpace(s))
	}
	proto = strings.ToLower(proto)
	if proto != "tcp" && proto != "udp" {
		return Spec{}, fmt.Errorf("%q: the protocol must be tcp or udp, not %q", s, proto)
	}
	lo, hi, isRange := strings.Cut(num, "-")
	from, err := parsePortNum(lo)
	if err != nil {
		return Spec{}, fmt.Errorf("%q: %v", s, err)
	}
	to := from
	if isRange {
		if to, err = parsePortNum(hi); err != nil {
			return Spec{}, fmt.Errorf("%q: %v", s, err)
		}
		if to < from {
			return Spec{}, fmt.Errorf("%q: the range ends before it starts (write %d-%d/%s)", s, to, from, proto)
		}
	}
	return Spec{Proto: proto, From: from, To: to}, nil
}

func parsePortNum(s string) (uint16, error) {
	if s == "" || len(s) > 5 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not a port number (1 … 65535)", s)
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("%q is not a port number (1 … 65535)", s)
	}
	return uint16(n), nil
}
