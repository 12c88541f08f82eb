package limits

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"
)

func TestPrefixRoundTrip(t *testing.T) {
	for _, r := range []string{ReasonConn, ReasonRate} {
		l, why, err := ParsePrefix(LogPrefix("api_2-x", r))
		if err != nil || l != "api_2-x" || why != r {
			t.Errorf("ParsePrefix(LogPrefix(api_2-x, %s)) = %q %q %v", r, l, why, err)
		}
	}
	for _, bad := range []string{"", "rampart-limit", "rampart-limit api", "rampart-limit api flood", "rampart-limit a/b rate",
		"rampart-limit  rate", "rampart-portscan x", "rampart-limit " + strings.Repeat("a", 49) + " rate"} {
		if _, _, err := ParsePrefix(bad); err == nil {
			t.Errorf("ParsePrefix(%q) gave no error", bad)
		}
	}
}

func FuzzParsePrefix(f *testing.F) {
	f.Add(LogPrefix("api", ReasonRate))
	f.Add("rampart-limit x conn\x00")
	f.Add("rampart-limit \xff rate")
	f.Fuzz(func(t *testing.T, s string) {
		l, r, err := ParsePrefix(s)
		if err != nil {
			return
		}
		if checkName(l) != nil || (r != ReasonConn && r != ReasonRate) {
			t.Fatalf("ParsePrefix(%q) = %q %q: not a limit's", s, l, r)
		}
		if l2, r2, err := ParsePrefix(LogPrefix(l, r)); err != nil || l2 != l || r2 != r {
			t.Fatalf("round trip of %q: %q %q %v", s, l2, r2, err)
		}
	})
}

func TestOwnSet(t *testing.T) {
	for name, want := range map[string]struct {
		limit  string
		v6, ok bool
		ban    bool
	}{
		"kban-api-v4": {"api", false, true, true}, "lconn-a-b-v6": {"a-b", true, true, false}, "lrate-x-v4": {"x", false, true, false},
		"ban-sshd-v4": {}, "list-x-v4a": {}, "kban-api": {}, "policy-input": {},
	} {
		l, v6, ban, ok := ownSet(name)
		if ok != want.ok || (ok && (l != want.limit || v6 != want.v6 || ban != want.ban)) {
			t.Errorf("ownSet(%q) = %q %v %v %v", name, l, v6, ban, ok)
		}
	}
}

func TestLimitPrefix(t *testing.T) {
	l := Limit{IPv4Prefix: 24, IPv6Prefix: 64}
	if p := l.Prefix(netip.MustParseAddr("::ffff:192.0.2.77")); p != netip.MustParsePrefix("192.0.2.0/24") {
		t.Errorf("v4 %v", p)
	}
	if p := l.Prefix(netip.MustParseAddr("2001:db8:1:2:3::4")); p != netip.MustParsePrefix("2001:db8:1:2::/64") {
		t.Errorf("v6 %v", p)
	}
	if p := (Limit{}).Prefix(netip.MustParseAddr("2001:db8::1")); p.Bits() != 64 {
		t.Errorf("default v6 prefix %v", p)
	}
}

func TestRulesRefuseBadLimits(t *testing.T) {
	tb := &nftables.Table{Name: TableName, Family: nftables.TableFamilyINet}
	ch := &nftables.Chain{Name: ChainName, Table: tb}
	good := Limit{Name: "api", Port: 9000, Protocol: "tcp", Rate: 30, Per: time.Minute, BanTime: time.Minute}
	rs, err := good.rules(tb, ch, nil)
	if err != nil || len(rs) != 4 {
		t.Fatalf("rules = %d, %v; want 4 (ban and rate, per family)", len(rs), err)
	}
	for _, bad := range []Limit{
		{Name: "a b", Port: 1, Protocol: "tcp", Rate: 1, Per: time.Second},
		{Name: "a", Port: 1, Protocol: "sctp", Rate: 1, Per: time.Second},
		{Name: "a", Port: 0, Protocol: "tcp", Rate: 1, Per: time.Second},
		{Name: "a", Port: 1, Protocol: "tcp"},
		{Name: "a", Port: 1, Protocol: "tcp", Rate: 1, Per: 2 * time.Minute},
	} {
		if _, err := bad.rules(tb, ch, nil); err == nil {
			t.Errorf("rules(%+v) gave no error", bad)
		}
	}
}
