package jail_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/rampart-ids/rampart/internal/jail"
)

// A jail that bans after 3 failures in 10 minutes, doubles the ban for
// repeat offenders, and bans IPv6 attackers by /64. Offenders would be
// seeded from store.Offenders at start.
func Example() {
	offenders := jail.NewOffenders()
	bantime, _ := jail.ParseDuration("10m")
	j, err := jail.New(jail.Config{
		Name: "sshd", MaxRetry: 3, FindTime: 10 * time.Minute, BanTime: bantime,
		Increment:  &jail.Increment{MaxTime: 24 * time.Hour},
		IPv6Prefix: 64,
		History:    offenders.History("sshd"),
	})
	if err != nil {
		panic(err)
	}
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	for i, a := range []string{"2001:db8::1", "2001:db8::2", "2001:db8::3", "2001:db8::4", "2001:db8::5"} {
		d, ok := j.Fail(netip.MustParseAddr(a), now.Add(time.Duration(i)*time.Minute))
		if ok {
			offenders.Record("sshd", d.Prefix, d.Last)
			fmt.Println("ban", d.Prefix, "for", d.Duration, "ban number", d.Count+1)
		}
	}
	fmt.Printf("%+v\n", j.Stats())
	// Output:
	// ban 2001:db8::/64 for 10m0s ban number 1
	// ban 2001:db8::/64 for 20m0s ban number 2
	// {Tracked:0 Failures:5 Ignored:0 Bans:2 Evictions:0}
}
