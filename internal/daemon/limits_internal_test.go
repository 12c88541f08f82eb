package daemon

import (
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/config"
	"github.com/rampart-ids/rampart/internal/finding"
	"github.com/rampart-ids/rampart/internal/jail"
	"github.com/rampart-ids/rampart/internal/limits"
	"github.com/rampart-ids/rampart/internal/resolve"
)

func limitConfig(t *testing.T, extra string) *config.Config {
	t.Helper()
	c, err := config.LoadBytes("x.toml", []byte("[jails.sshd]\nenabled = false\n[defaults.increment]\nenabled = true\n"+
		"[limits.api]\nport = \"9000/tcp\"\nrate = \"30/minute\"\nbantime = \"10m\"\nipv6_prefix = 56\n"+extra), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestLimitJails: a limit is a pseudo-jail limit-NAME banning on one hit
// for bantime, per the limit's prefixes, with [defaults] increment and the
// origin "kernel limit NAME"; a jail of the same name is refused.
func TestLimitJails(t *testing.T) {
	d := &Daemon{log: slog.New(slog.NewTextHandler(io.Discard, nil)), dns: &resolve.Resolver{}}
	jails, err := d.build(limitConfig(t, ""), jail.NewOffenders())
	if err != nil {
		t.Fatal(err)
	}
	rj := jails["limit-api"]
	if rj == nil || len(jails) != 1 {
		t.Fatalf("jails = %v, want limit-api alone", jails)
	}
	if !rj.cfg.Increment.Enabled || rj.cfg.Ports[0].First != 9000 || rj.cfg.Protocols[0] != "tcp" {
		t.Errorf("pseudo-jail config = %+v", rj.cfg)
	}
	if o := limitOrigin(rj.cfg); o.String() != "kernel limit api" {
		t.Errorf("origin = %q", o)
	}
	now := time.Now()
	dec, ok := rj.counter.BanNow(netip.MustParseAddr("2001:db8:1:2:3::4"), now)
	if until, timed := dec.Until(); !ok || dec.Prefix != netip.MustParsePrefix("2001:db8:1::/56") || !timed || until.Sub(now) != 10*time.Minute {
		t.Errorf("BanNow = %+v %v", dec, ok)
	}
	logf := filepath.Join(t.TempDir(), "auth.log")
	if err := os.WriteFile(logf, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = d.build(limitConfig(t, "[jails.limit-api]\nenabled = true\nfilter = \"sshd\"\nlogpath = [\""+logf+"\"]\n"), jail.NewOffenders())
	if err == nil || !strings.Contains(err.Error(), "rename one") {
		t.Errorf("a jail named like a limit's pseudo-jail: %v", err)
	}
}

// TestLimitHit: a logged ban goes to its limit's jail as a single-hit
// finding, once (packets in flight logged together count once); a source
// banned already, another limit's hits and unknown limits are not handed on.
func TestLimitHit(t *testing.T) {
	banned := map[netip.Prefix]bool{netip.MustParsePrefix("2001:db8:9::/64"): true}
	ll := &limitLayer{emit: map[string]func(finding.Finding){}, seen: map[netip.Prefix]time.Time{},
		current:  []limits.Limit{{Name: "api", IPv4Prefix: 32, IPv6Prefix: 64}, {Name: "db", IPv4Prefix: 32, IPv6Prefix: 64}},
		isBanned: func(jail string, p netip.Prefix) bool { return jail == "limit-api" && banned[p] }}
	var got []finding.Finding
	ll.emit["api"] = func(f finding.Finding) { got = append(got, f) }
	hit := func(limit, addr string) {
		ll.hit(limits.Hit{Limit: limit, Reason: limits.ReasonRate, Addr: netip.MustParseAddr(addr), Time: time.Now()})
	}
	hit("api", "192.0.2.1")
	hit("api", "192.0.2.1")     // in flight with the first
	hit("api", "2001:db8:9::5") // banned already
	hit("db", "192.0.2.2")      // db's jail is not running
	hit("gone", "192.0.2.3")    // not configured
	hit("api", "2001:db8:7::1") // a second source
	if len(got) != 2 || got[0].Addr != netip.MustParseAddr("192.0.2.1") || !got[0].SingleHit || got[1].Addr != netip.MustParseAddr("2001:db8:7::1") {
		t.Fatalf("findings = %+v, want 192.0.2.1 and 2001:db8:7::1, single-hit", got)
	}
	if !strings.Contains(got[0].Evidence, "rate of limit api") {
		t.Errorf("evidence %q", got[0].Evidence)
	}
}
