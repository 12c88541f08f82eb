package limits

import (
	"strings"
	"time"

	"github.com/google/nftables"
)

// The kinds of set per limit and family.
const (
	// kindBan holds the sources the kernel banned (timeout bantime).
	kindBan = "kban-"
	// kindConn counts each source's connections (ct count).
	kindConn = "lconn-"
	// kindRate holds each source's rate limit state (timeout: the rate's period).
	kindRate = "lrate-"
)

// SetName names a limit's set of a kind for a family: "kban-api-v4".
func SetName(kind, limit string, v6 bool) string {
	if v6 {
		return kind + limit + "-v6"
	}
	return kind + limit + "-v4"
}

// BanSet is the kernel's ban set of a limit.
func BanSet(limit string, v6 bool) string { return SetName(kindBan, limit, v6) }

// ownSet reports whether name is one of the layer's sets, and the limit's
// name and family of a ban set.
func ownSet(name string) (limit string, v6, isBan, ok bool) {
	for _, k := range []string{kindBan, kindConn, kindRate} {
		rest, found := strings.CutPrefix(name, k)
		if !found {
			continue
		}
		switch {
		case strings.HasSuffix(rest, "-v4"):
			return strings.TrimSuffix(rest, "-v4"), false, k == kindBan, true
		case strings.HasSuffix(rest, "-v6"):
			return strings.TrimSuffix(rest, "-v6"), true, k == kindBan, true
		}
	}
	return "", false, false, false
}

// sets returns the sets l needs.
func (l Limit) sets(t *nftables.Table) []*nftables.Set {
	var out []*nftables.Set
	for _, v6 := range []bool{false, true} {
		kt := nftables.TypeIPAddr
		if v6 {
			kt = nftables.TypeIP6Addr
		}
		out = append(out, &nftables.Set{Table: t, Name: BanSet(l.Name, v6), KeyType: kt, Dynamic: true,
			HasTimeout: true, Timeout: l.BanTime, Size: SetSize})
		if l.MaxConn > 0 {
			out = append(out, &nftables.Set{Table: t, Name: SetName(kindConn, l.Name, v6), KeyType: kt, Dynamic: true, Size: SetSize})
		}
		if l.Rate > 0 {
			out = append(out, &nftables.Set{Table: t, Name: SetName(kindRate, l.Name, v6), KeyType: kt, Dynamic: true,
				HasTimeout: true, Timeout: max(l.Per, time.Second), Size: SetSize})
		}
	}
	return out
}

// sameSet reports whether the kernel's set have is what want asks for
// (else it is deleted and created again: the kernel refuses to change a
// set's timeout in place).
func sameSet(have, want *nftables.Set) bool {
	return have.KeyType.Name == want.KeyType.Name && have.HasTimeout == want.HasTimeout &&
		have.Timeout == want.Timeout && have.Dynamic == want.Dynamic
}
