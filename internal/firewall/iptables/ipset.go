package iptables

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-ids/rampart/internal/firewall"
)

// MaxTimeout is the longest timeout ipset accepts (2,147,483 s, about 24.8
// days). Longer bans are stored without a timeout; the daemon lifts them.
const MaxTimeout = 2147483 * time.Second

// MaxTimeout implements firewall.TimeoutLimiter: longer bans are stored
// without a timeout and lifted by the daemon.
func (b *Backend) MaxTimeout() time.Duration { return MaxTimeout }

// maxSetName is ipset's limit on set names (IPSET_MAXNAMELEN - 1).
const maxSetName = 31

// SetName returns the ipset holding a jail's bans of one family:
// "rampart-sshd-4" or "rampart-sshd-6". Jail names too long for ipset's 31
// characters are shortened and suffixed with a hash of the full name.
func SetName(jail string, v6 bool) string {
	suffix := "-4"
	if v6 {
		suffix = "-6"
	}
	if len(SetPrefix)+len(jail)+len(suffix) <= maxSetName {
		return SetPrefix + jail + suffix
	}
	h := fnv.New32a()
	h.Write([]byte(jail))
	short := fmt.Sprintf("%s~%06x", jail[:maxSetName-len(SetPrefix)-len(suffix)-7], h.Sum32()&0xffffff)
	return SetPrefix + short + suffix
}

// jailOf maps a set name back to its jail: through the configured jails
// first, else by stripping prefix and suffix (shortened names of jails not
// configured now come back shortened).
func (b *Backend) jailOf(set string) (string, bool) {
	for name := range b.jails {
		if SetName(name, false) == set || SetName(name, true) == set {
			return name, true
		}
	}
	rest, ok := strings.CutPrefix(set, SetPrefix)
	if !ok {
		return "", false
	}
	jail, ok := strings.CutSuffix(rest, "-4")
	if !ok {
		jail, ok = strings.CutSuffix(rest, "-6")
	}
	return jail, ok && jail != ""
}

// setNames lists the ipsets rampart owns.
func (b *Backend) setNames(ctx context.Context) ([]string, error) {
	out, err := b.run(ctx, "", "ipset", "list", "-n")
	if err != nil {
		return nil, fmt.Errorf("iptables: list sets: %w", err)
	}
	var names []string
	for _, n := range strings.Fields(out) {
		if strings.HasPrefix(n, SetPrefix) {
			names = append(names, n)
		}
	}
	return names, nil
}

// line is one `ipset restore` command and the element it stands for.
type line struct {
	text string
	err  firewall.ElementError // reported if the line fails
}

// Apply writes removals then additions to `ipset restore -exist`, which
// makes re-adding refresh the timeout and removing an absent element a
// no-op. When restore stops at a bad line, that line is reported and the
// others are sent again (every line is idempotent), until none fails.
func (b *Backend) Apply(ctx context.Context, c firewall.Change) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	known := make(map[string]bool, len(b.jails))
	for n := range b.jails {
		known[n] = true
	}
	remove, add, failed := firewall.Check(c, known)
	lines := make([]line, 0, len(remove)+len(add))
	for _, r := range remove {
		set := SetName(r.Jail, r.Prefix.Addr().Is6())
		lines = append(lines, line{
			text: fmt.Sprintf("del %s %s\n", set, r.Prefix),
			err:  firewall.ElementError{Op: firewall.OpRemove, Ban: r},
		})
	}
	for _, a := range add {
		set := SetName(a.Jail, a.Prefix.Addr().Is6())
		lines = append(lines, line{
			text: fmt.Sprintf("add %s %s timeout %d\n", set, a.Prefix, timeoutSeconds(a.Timeout)),
			err:  firewall.ElementError{Op: firewall.OpAdd, Ban: a},
		})
	}
	for len(lines) > 0 {
		n := min(len(lines), b.opts.BatchSize)
		f, err := b.restore(ctx, lines[:n])
		failed = append(failed, f...)
		if err != nil {
			return err
		}
		lines = lines[n:]
	}
	return firewall.Result(c.Len(), failed)
}

// timeoutSeconds rounds up to ipset's whole seconds; 0 is permanent, and so
// is anything past MaxTimeout.
func timeoutSeconds(d time.Duration) int64 {
	if d <= 0 || d > MaxTimeout {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}

var errLine = regexp.MustCompile(`Error in line (\d+): (.*)`)

// restore runs `ipset restore` until every line but the refused ones went
// through. The error is for a failure that names no line.
func (b *Backend) restore(ctx context.Context, lines []line) ([]firewall.ElementError, error) {
	var failed []firewall.ElementError
	for len(lines) > 0 {
		var in strings.Builder
		for _, l := range lines {
			in.WriteString(l.text)
		}
		_, err := b.run(ctx, in.String(), "ipset", "-exist", "restore")
		if err == nil {
			return failed, nil
		}
		m := errLine.FindStringSubmatch(err.Error())
		n, _ := strconv.Atoi(safeIndex(m, 1))
		if n < 1 || n > len(lines) {
			return failed, fmt.Errorf("iptables: ipset restore: %w", err)
		}
		bad := lines[n-1].err
		bad.Err = errors.New(m[2])
		failed = append(failed, bad)
		lines = append(lines[:n-1:n-1], lines[n:]...)
	}
	return failed, nil
}

func safeIndex(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return ""
}

// List reads every rampart set with `ipset save`.
func (b *Backend) List(ctx context.Context) ([]firewall.Ban, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	names, err := b.setNames(ctx)
	if err != nil {
		return nil, err
	}
	var out []firewall.Ban
	for _, n := range names {
		save, err := b.run(ctx, "", "ipset", "save", n)
		if err != nil {
			return nil, fmt.Errorf("iptables: list set: %w", err)
		}
		jail, ok := b.jailOf(n)
		if !ok {
			continue
		}
		entries, err := ParseSave(save)
		if err != nil {
			return nil, fmt.Errorf("iptables: set %s: %w", n, err)
		}
		for _, e := range entries {
			out = append(out, firewall.Ban{Jail: jail, Prefix: e.Prefix, Timeout: e.Timeout})
		}
	}
	return out, nil
}

// Entry is one element of `ipset save` output.
type Entry struct {
	Set     string
	Prefix  netip.Prefix
	Timeout time.Duration // remaining; 0 = permanent
}

// ParseSave reads the "add" lines of `ipset save` output ("add SET
// 192.0.2.0/24 timeout 59"); other lines are skipped. An address without
// a length is a host. The text comes from the ipset tool, but is parsed
// defensively: a malformed add line is an error naming its line number.
func ParseSave(text string) ([]Entry, error) {
	var out []Entry
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || f[0] != "add" {
			continue
		}
		if len(f) < 3 {
			return nil, fmt.Errorf("line %d: add without element", n)
		}
		p, err := parseElement(f[2])
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		e := Entry{Set: f[1], Prefix: p}
		for i := 3; i+1 < len(f); i++ {
			if f[i] == "timeout" {
				s, err := strconv.ParseUint(f[i+1], 10, 32)
				if err != nil {
					return nil, fmt.Errorf("line %d: timeout %q: %w", n, f[i+1], err)
				}
				e.Timeout = time.Duration(s) * time.Second
				break
			}
		}
		out = append(out, e)
	}
	return out, sc.Err()
}

func parseElement(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	if a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("zoned address %q", s)
	}
	return firewall.Host(a), nil
}
