package daemon_test

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/daemon"
	"github.com/rampart-ids/rampart/internal/event"
	"github.com/rampart-ids/rampart/internal/finding"
	"github.com/rampart-ids/rampart/internal/origin"
)

// probes is a new kind of finding source, as a later layer adds one: it
// reports each address twice, as a port-scan detector might.
type probes struct{ addrs []netip.Addr }

func (p probes) Run(ctx context.Context, emit func(finding.Finding)) error {
	for _, a := range p.addrs {
		for range 2 {
			emit(finding.Finding{Time: time.Now(), Addr: a, Source: "probe", Rule: "probe", Severity: finding.High})
		}
	}
	<-ctx.Done()
	return nil
}

// The seams of the pipeline: a new source kind and a new subscriber are a
// few lines each, passed in through Options, with no change to the daemon.
func TestNewSourceKindAndSubscriber(t *testing.T) {
	attackers := []netip.Addr{netip.MustParseAddr("192.0.2.5"), netip.MustParseAddr("2001:db8::5")}

	// The new source kind: applies to the jail named "probe" only.
	kind := daemon.SourceKind{Name: "probe", Sources: func(env daemon.JailEnv) ([]finding.Source, error) {
		if env.Jail.Name != "probe" {
			return nil, nil
		}
		return []finding.Source{probes{attackers}}, nil
	}}
	// The new subscriber: collects the bans it hears of.
	var mu sync.Mutex
	banned := map[netip.Prefix]string{}
	got := make(chan struct{}, 16)
	sub := daemon.Subscriber{Name: "test", Handle: func(_ context.Context, evs []event.Event) {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range evs {
			if e.Kind == event.BanAdded {
				banned[e.Prefix] = e.Origin
				got <- struct{}{}
			}
		}
	}}

	d := startTestDaemon(t, probeJail(t, 2), daemon.Options{Sources: []daemon.SourceKind{kind}, Subscribers: []daemon.Subscriber{sub}})
	for range attackers {
		select {
		case <-got:
		case <-time.After(10 * time.Second):
			t.Fatal("no ban event within 10 s")
		}
	}
	mu.Lock()
	for _, a := range attackers {
		if o := banned[netip.PrefixFrom(a, a.BitLen())]; o != "jail probe" {
			t.Errorf("ban of %s: origin %q, want \"jail probe\"", a, o)
		}
	}
	mu.Unlock()
	// The ban is in the daemon's state too, with its origin.
	bans, err := d.client.Banned(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(bans) != len(attackers) || bans[0].Origin != origin.OfJail("probe") {
		t.Errorf("banned = %+v, want %d bans of origin jail probe", bans, len(attackers))
	}
}

// probeJail is a jail "probe" (sshd off) whose findings come from a test's
// source kind: its log file never exists.
func probeJail(t *testing.T, maxretry int) string {
	log := filepath.Join(t.TempDir(), "absent.log")
	return fmt.Sprintf("[jails.sshd]\nenabled = false\n\n[jails.probe]\nenabled = true\nfilter = \"sshd\"\nlogpath = [%q]\nmaxretry = %d\n", log, maxretry)
}
