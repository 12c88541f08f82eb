package fleet

import (
	"net/netip"
	"testing"
	"time"
)

func TestCaps(t *testing.T) {
	cfg := Config{Enabled: true, Servers: []string{"nats://x:4222"}, Node: "me", AcceptFrom: []string{"web-*"}, MaxPerMinute: 3}.WithDefaults()
	ign := netip.MustParsePrefix("192.0.2.128/25")
	c := newCaps(cfg, func(p netip.Prefix) bool { return ign.Overlaps(p) })
	now := time.Unix(1_800_000_000, 0)
	ban := func(s string) Message {
		return Message{Op: OpBan, Jail: "sshd", Prefix: netip.MustParsePrefix(s), Since: now}
	}
	cases := []struct {
		node, prefix string
		at           time.Duration
		want         string
	}{
		{"db-1", "192.0.2.1/32", 0, RejectNode},
		{"web-1", "198.18.0.0/15", 0, RejectPrefix},
		{"web-1", "2001:db8::/31", 0, RejectPrefix},
		{"web-1", "2001:db8::/32", 0, ""},
		{"web-1", "192.0.2.200/32", 0, RejectIgnored},
		{"web-1", "192.0.2.0/24", 0, RejectIgnored}, // covers an ignored address
		{"web-1", "192.0.2.1/32", 0, ""},
		{"web-1", "192.0.2.2/32", time.Second, ""},
		{"web-1", "192.0.2.3/32", 2 * time.Second, RejectRate},
		{"web-2", "192.0.2.3/32", 2 * time.Second, ""},  // per node
		{"web-1", "192.0.2.3/32", 61 * time.Second, ""}, // a new minute
	}
	for _, tc := range cases {
		if got := c.check(tc.node, ban(tc.prefix), now.Add(tc.at)); got != tc.want {
			t.Errorf("check(%s, %s) = %q, want %q", tc.node, tc.prefix, got, tc.want)
		}
	}
	// Unbans never count against the rate.
	for range 10 {
		if got := c.check("web-1", Message{Op: OpUnban, Jail: "sshd", Prefix: netip.MustParsePrefix("192.0.2.9/32")}, now.Add(62*time.Second)); got != "" {
			t.Fatalf("unban refused: %s", got)
		}
	}
}

func TestOutbox(t *testing.T) {
	o := newOutbox(3)
	for i := range 5 {
		o.push(Message{Count: i})
	}
	if o.len() != 3 || o.dropped != 2 {
		t.Fatalf("len %d dropped %d, want 3 and 2", o.len(), o.dropped)
	}
	got := o.peek(10)
	if len(got) != 3 || got[0].Count != 2 || got[2].Count != 4 {
		t.Fatalf("peek = %+v, want the newest three in order", got)
	}
	o.pop(2)
	if p := o.peek(10); len(p) != 1 || p[0].Count != 4 {
		t.Fatalf("after pop: %+v", p)
	}
}
