// Package hostwatch holds rampart's host-change collectors: small, separate
// readers of one kind of host state each (SUID files, accounts, sudoers
// rules, authorized keys, listening sockets, systemd units and cron jobs,
// kernel modules, sshd and PAM configuration, rampart's own configuration),
// in the manner of node_exporter's collectors. Each collector turns what it
// reads into Items (a key naming an object and a value describing it); a
// baseline keeps the items of every collector, and Check reports what is
// new, changed or gone since, with a severity. Accept takes the current
// state as the new baseline.
package hostwatch

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// Item is one object a collector saw: Key names it (a path, an account, an
// address and port), Value is its state.
type Item struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Env is what collectors read: a root directory (a mounted image or a test
// fixture; "" for this host) and the settings.
type Env struct {
	Root string
	// SUIDPaths are the trees the suid collector walks.
	SUIDPaths []string
	// ConfigFiles are rampart's configuration files (the rampart-config
	// collector); patterns allowed.
	ConfigFiles []string
	// ProcNet is the /proc/net directory the sockets collector reads ("" for
	// Root+"/proc/net"; /proc/PID/net reads another network namespace).
	ProcNet string
	// Proc is the /proc the sockets collector searches for the process of
	// a socket ("" for Root+"/proc").
	Proc string
	// NoPackages turns off the dpkg judgement of suid and unit changes.
	NoPackages bool
}

func (e Env) path(p string) string { return e.Root + p }

// glob expands absolute patterns under the root, returning image paths.
func (e Env) glob(patterns ...string) []string {
	var out []string
	for _, p := range patterns {
		m, _ := filepath.Glob(e.path(p))
		for _, f := range m {
			out = append(out, strings.TrimPrefix(f, e.Root))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Collector is one kind of host state.
type Collector struct {
	// Name is the collector's name ("suid", "accounts", …).
	Name string
	// Doc says what it watches, for `rampart host collectors` and docs.
	Doc string
	// Collect reads the current state.
	Collect func(ctx context.Context, env Env) ([]Item, error)
	// Severity rates a change; nil means high for new and changed, low
	// for removed.
	Severity func(c Change) string
}

// Collectors returns every collector, in a fixed order.
func Collectors() []Collector {
	return []Collector{
		suidCollector(),
		accountsCollector(),
		groupsCollector(),
		shadowCollector(),
		sudoersCollector(),
		authKeysCollector(),
		socketsCollector(),
		unitsCollector(),
		cronCollector(),
		modulesCollector(),
		sshdCollector(),
		pamCollector(),
		rampartConfigCollector(),
	}
}

// Select returns the collectors named (all for none), or an error naming an
// unknown one and the known ones.
func Select(names []string) ([]Collector, error) {
	all := Collectors()
	if len(names) == 0 {
		return all, nil
	}
	var out []Collector
	for _, n := range names {
		i := slices.IndexFunc(all, func(c Collector) bool { return c.Name == n })
		if i < 0 {
			return nil, fmt.Errorf("unknown host collector %q (known: %s)", n, strings.Join(Names(), ", "))
		}
		out = append(out, all[i])
	}
	return out, nil
}

// Names lists the collectors' names.
func Names() []string {
	var out []string
	for _, c := range Collectors() {
		out = append(out, c.Name)
	}
	return out
}

// Change kinds.
const (
	New     = "new"
	Changed = "changed"
	Removed = "removed"
)

// Change is one difference between the baseline and now.
type Change struct {
	Collector string `json:"collector"`
	Kind      string `json:"kind"`
	Key       string `json:"key"`
	Old       string `json:"old,omitempty"`
	New       string `json:"new,omitempty"`
	Severity  string `json:"severity"`
	// Note says what a package run has to do with it (suid, units).
	Note string `json:"note,omitempty"`
}

// String renders the change on one line.
func (c Change) String() string {
	s := fmt.Sprintf("%-8s %-14s %-7s %s", c.Severity, c.Collector, c.Kind, quote(c.Key))
	switch {
	case c.Old != "" && c.New != "":
		s += ": " + quote(c.Old) + " -> " + quote(c.New)
	case c.New != "":
		s += ": " + quote(c.New)
	case c.Old != "":
		s += ": was " + quote(c.Old)
	}
	if c.Note != "" {
		s += " (" + c.Note + ")"
	}
	return s
}

// quote keeps odd bytes from faking lines.
func quote(s string) string {
	if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || r == 0xfffd }) {
		return fmt.Sprintf("%q", s)
	}
	return s
}

func defaultSeverity(c Change) string {
	if c.Kind == Removed {
		return "low"
	}
	return "high"
}

// Result is one collector's run.
type Result struct {
	Collector string
	Items     []Item
	Err       error
}

// Collect runs the collectors; one that fails has Err set and no items.
func Collect(ctx context.Context, env Env, cs []Collector) []Result {
	out := make([]Result, 0, len(cs))
	for _, c := range cs {
		items, err := c.Collect(ctx, env)
		// Sorted by key, then value, so that of two items with one key
		// (two processes on one SO_REUSEPORT port) the same one is kept
		// at every run.
		slices.SortFunc(items, func(a, b Item) int {
			if c := strings.Compare(a.Key, b.Key); c != 0 {
				return c
			}
			return strings.Compare(a.Value, b.Value)
		})
		items = slices.CompactFunc(items, func(a, b Item) bool { return a.Key == b.Key })
		out = append(out, Result{Collector: c.Name, Items: items, Err: err})
		if ctx.Err() != nil {
			break
		}
	}
	return out
}

// Diff compares a collector's baseline items with the current ones (both
// sorted by key) and rates each change.
func Diff(c Collector, old, cur []Item) []Change {
	var out []Change
	sev := c.Severity
	if sev == nil {
		sev = defaultSeverity
	}
	add := func(ch Change) {
		ch.Collector = c.Name
		ch.Severity = sev(ch)
		out = append(out, ch)
	}
	i, j := 0, 0
	for i < len(old) || j < len(cur) {
		switch {
		case j >= len(cur) || (i < len(old) && old[i].Key < cur[j].Key):
			add(Change{Kind: Removed, Key: old[i].Key, Old: old[i].Value})
			i++
		case i >= len(old) || cur[j].Key < old[i].Key:
			add(Change{Kind: New, Key: cur[j].Key, New: cur[j].Value})
			j++
		default:
			if old[i].Value != cur[j].Value {
				add(Change{Kind: Changed, Key: cur[j].Key, Old: old[i].Value, New: cur[j].Value})
			}
			i++
			j++
		}
	}
	return out
}

func sortItems(items []Item) {
	slices.SortFunc(items, func(a, b Item) int { return strings.Compare(a.Key, b.Key) })
}
