// Package dryrun is a firewall backend that changes nothing: it keeps the
// bans it would hold in memory and writes one readable line per action, for
// `rampart run --dry-run` and for golden tests of the ban flow.
package dryrun

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rampart-ids/rampart/internal/firewall"
)

var _ firewall.Backend = (*Backend)(nil)

type key struct {
	jail   string
	prefix netip.Prefix
}

// Backend records what a real backend would do.
type Backend struct {
	now func() time.Time
	w   io.Writer

	mu    sync.Mutex
	jails map[string]firewall.JailSpec
	bans  map[key]time.Time // expiry; zero = permanent
	lines []string
}

// New returns a dry-run backend that writes each action as one line to w,
// or with w nil records the lines for Text (a daemon running on it must not
// keep every line it ever wrote), and reads the time from now (nil:
// time.Now) to expire bans.
func New(w io.Writer, now func() time.Time) *Backend {
	if now == nil {
		now = time.Now
	}
	return &Backend{now: now, w: w, jails: map[string]firewall.JailSpec{}, bans: map[key]time.Time{}}
}

// Setup records the jails' rules; bans of jails no longer listed are dropped.
func (b *Backend) Setup(_ context.Context, jails []firewall.JailSpec) error {
	if err := firewall.ValidateJails(jails); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	next := make(map[string]firewall.JailSpec, len(jails))
	for _, j := range jails {
		next[j.Name] = j
		b.logf("setup jail %s: %s", j.Name, Describe(j))
	}
	var gone []string
	for name := range b.jails {
		if _, ok := next[name]; !ok {
			gone = append(gone, name)
		}
	}
	sort.Strings(gone) // map order would make the text (and its golden file) vary
	for _, name := range gone {
		b.logf("setup remove jail %s", name)
	}
	for k := range b.bans {
		if _, ok := next[k.jail]; !ok {
			delete(b.bans, k)
		}
	}
	b.jails = next
	return nil
}

// Apply records removals then additions; invalid elements are reported in a
// *firewall.BatchError, the rest applied.
func (b *Backend) Apply(_ context.Context, c firewall.Change) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	known := make(map[string]bool, len(b.jails))
	for n := range b.jails {
		known[n] = true
	}
	remove, add, failed := firewall.Check(c, known)
	for _, r := range remove {
		k := key{r.Jail, r.Prefix}
		if _, ok := b.bans[k]; ok {
			delete(b.bans, k)
			b.logf("unban %s %s", r.Jail, r.Prefix)
		}
	}
	now := b.now()
	for _, a := range add {
		var until time.Time
		how := "permanently"
		if a.Timeout > 0 {
			until = now.Add(a.Timeout)
			how = "for " + a.Timeout.String()
		}
		b.bans[key{a.Jail, a.Prefix}] = until
		b.logf("ban %s %s %s (%s)", a.Jail, a.Prefix, how, b.jails[a.Jail].Action)
	}
	for _, f := range failed {
		b.logf("refuse %s", f.Error())
	}
	return firewall.Result(c.Len(), failed)
}

// List returns the bans not yet expired, sorted by jail and prefix.
func (b *Backend) List(context.Context) ([]firewall.Ban, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	out := make([]firewall.Ban, 0, len(b.bans))
	for k, until := range b.bans {
		var left time.Duration
		if !until.IsZero() {
			if left = until.Sub(now); left <= 0 {
				delete(b.bans, k)
				continue
			}
		}
		out = append(out, firewall.Ban{Jail: k.jail, Prefix: k.prefix, Timeout: left})
	}
	slices.SortFunc(out, func(x, y firewall.Ban) int {
		if c := strings.Compare(x.Jail, y.Jail); c != 0 {
			return c
		}
		if c := x.Prefix.Addr().Compare(y.Prefix.Addr()); c != 0 {
			return c
		}
		return x.Prefix.Bits() - y.Prefix.Bits()
	})
	return out, nil
}

// Teardown forgets every jail and ban.
func (b *Backend) Teardown(context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.jails = map[string]firewall.JailSpec{}
	b.bans = map[key]time.Time{}
	b.logf("teardown")
	return nil
}

// Text returns every line recorded so far (only when New was given no
// writer).
func (b *Backend) Text() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Join(b.lines, "")
}

// Describe renders a jail's rule: "drop tcp ports 22", "reject all traffic".
func Describe(j firewall.JailSpec) string {
	if len(j.Ports) == 0 {
		return j.Action.String() + " all traffic"
	}
	protos := j.Protocols
	if len(protos) == 0 {
		protos = firewall.DefaultProtocols()
	}
	ports := make([]string, len(j.Ports))
	for i, r := range j.Ports {
		ports[i] = r.String()
	}
	return fmt.Sprintf("%s %s ports %s", j.Action, strings.Join(protos, ","), strings.Join(ports, ","))
}

func (b *Backend) logf(format string, args ...any) {
	line := fmt.Sprintf(format, args...) + "\n"
	if b.w == nil {
		b.lines = append(b.lines, line)
		return
	}
	_, _ = io.WriteString(b.w, line)
}
