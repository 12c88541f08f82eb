package web

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rampart-ids/rampart/internal/control"
	"github.com/rampart-ids/rampart/internal/event"
	"github.com/rampart-ids/rampart/internal/origin"
)

// The overview's day counts read at most this many of the last day's bans
// and findings: enough for the charts, bounded for a flood (the page then
// says it counted only the newest).
const (
	statsWindow   = 24 * time.Hour
	statsBans     = 20000
	statsFindings = 20000
	statsChanges  = 5000
	// statsEvery is how often the day counts are recomputed, in the
	// background (a page never waits for them), when new events came in;
	// statsStale is how old they may get without new events (the hours
	// move on).
	statsEvery = 30 * time.Second
	statsStale = 10 * time.Minute
	topN       = 10
)

// overview is the overview page's data: the bans in force, read for each
// page, and the day's counts, at most statsEvery old.
type overview struct {
	BansNow  int
	ByJail   []count
	ByOrigin []count
	Networks []count // banned networks (/24, /48) with the most bans now
	// Day is nil until the first count is done.
	Day *dayStats
	// Audit is the last audit's result; nil when none is stored.
	Audit *control.Event
}

// dayStats are the last 24 hours' counts.
type dayStats struct {
	At       time.Time
	Took     time.Duration
	Chart    chart // bans per hour
	BansDay  int
	BansCut  bool // the day had more bans than statsBans
	Sources  []count
	Rules    []count
	Layers   []count
	Findings int
	FindCut  bool
	// Changes are the day's file and host changes (at most statsChanges),
	// Serious those of severity high or critical.
	Changes, Serious int
	ChangesCut       bool
}

// count is one row of a top list.
type count struct {
	Name string
	N    int
	// Link is where the row leads; "" for none.
	Link string
	// Width is the bar's share of the largest row, 0 to 100.
	Width int
}

// dayCache holds the last day counts.
type dayCache struct {
	mu  sync.Mutex
	day *dayStats
}

func (c *dayCache) get() *dayStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.day
}

// refresh recomputes the day counts now and every statsEvery until ctx is
// done.
func (c *dayCache) refresh(ctx context.Context, r Reader, now func() time.Time, log func(error)) {
	t := time.NewTicker(statsEvery)
	defer t.Stop()
	var last int64 // the newest event counted
	for {
		newest, err := r.Events(ctx, control.EventsRequest{Limit: 1})
		var id int64
		if err == nil && len(newest) == 1 {
			id = newest[0].ID
		}
		if day := c.get(); err != nil || day == nil || id != last || now().Sub(day.At) >= statsStale {
			start := time.Now()
			day, err := computeDay(ctx, r, now())
			if err != nil && ctx.Err() == nil {
				log(err)
			}
			if err == nil {
				day.Took = time.Since(start)
				c.mu.Lock()
				c.day = day
				c.mu.Unlock()
				last = id
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// computeOverview reads the bans in force and adds the last day counts.
func computeOverview(ctx context.Context, r Reader, day *dayStats) (*overview, error) {
	ov := &overview{Day: day}
	bans, err := r.Banned(ctx)
	if err != nil {
		return nil, err
	}
	ov.BansNow = len(bans)
	jails, origins, nets := map[string]int{}, map[string]int{}, map[string]int{}
	for _, b := range bans {
		jails[b.Jail]++
		origins[string(b.Origin.Kind)]++
		nets[network(b.Prefix).String()]++
	}
	ov.ByJail = top(jails, func(n string) string { return "/bans?jail=" + queryEscape(n) })
	ov.ByOrigin = top(origins, func(n string) string {
		if _, err := origin.Parse(n); err != nil {
			return ""
		}
		return "/bans?origin=" + queryEscape(n)
	})
	ov.Networks = top(nets, func(n string) string { return "/bans?q=" + queryEscape(n) })
	ov.Networks = slices.DeleteFunc(ov.Networks, func(c count) bool { return c.N < 2 })
	// The last audit: one indexed read (kind, at) of the newest.
	audits, err := r.Events(ctx, control.EventsRequest{Kinds: []event.Kind{event.AuditResult}, Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(audits) == 1 {
		ov.Audit = &audits[0]
	}
	return ov, nil
}

// computeDay counts the last day's bans and findings.
func computeDay(ctx context.Context, r Reader, now time.Time) (*dayStats, error) {
	day := &dayStats{At: now}
	since := now.Add(-statsWindow)
	banEvs, err := r.Events(ctx, control.EventsRequest{Since: since, Kinds: []event.Kind{event.BanAdded}, Limit: statsBans})
	if err != nil {
		return nil, err
	}
	day.BansDay, day.BansCut = len(banEvs), len(banEvs) == statsBans
	day.Chart = hourChart(banEvs, now)

	finds, err := r.Events(ctx, control.EventsRequest{Since: since, Kinds: []event.Kind{event.Finding}, Limit: statsFindings})
	if err != nil {
		return nil, err
	}
	day.Findings, day.FindCut = len(finds), len(finds) == statsFindings
	srcs, rules, layers := map[string]int{}, map[string]int{}, map[string]int{}
	for _, e := range finds {
		if e.Prefix.IsValid() {
			srcs[prefixText(e.Prefix)]++
		}
		rules[e.Jail+" · "+e.Rule]++
		layers[layerOf(e.Event)]++
	}
	day.Sources = top(srcs, func(n string) string {
		if a, err := netip.ParseAddr(n); err == nil {
			return "/ip/" + a.String()
		}
		if p, err := netip.ParsePrefix(n); err == nil {
			return "/events?ip=" + p.Addr().String()
		}
		return ""
	})
	day.Rules = top(rules, nil)
	day.Layers = top(layers, nil)

	changes, err := r.Events(ctx, control.EventsRequest{Since: since, Kinds: changeKinds[""], Limit: statsChanges})
	if err != nil {
		return nil, err
	}
	day.Changes, day.ChangesCut = len(changes), len(changes) == statsChanges
	for _, e := range changes {
		if atLeast(e.Severity, "high") {
			day.Serious++
		}
	}
	return day, nil
}

// network is the /24 (IPv4) or /48 (IPv6) around a ban.
func network(p netip.Prefix) netip.Prefix {
	bits := 24
	if p.Addr().Is6() {
		bits = 48
	}
	if p.Bits() < bits {
		return p.Masked()
	}
	n, _ := p.Addr().Prefix(bits)
	return n
}

// layerOf names the defense layer a finding came from: "logs" for a log
// file, "journal" for journald, otherwise the source's first word (the
// layers being built name themselves: "access", "eve", "nflog", "fim").
func layerOf(e event.Event) string {
	switch {
	case e.Source == "":
		return "other"
	case strings.HasPrefix(e.Source, "/"):
		return "logs"
	case strings.HasPrefix(e.Source, "journal"):
		return "journal"
	}
	w, _, _ := strings.Cut(e.Source, " ")
	w, _, _ = strings.Cut(w, ":")
	return w
}

// top returns the topN largest counts, largest first, with their links.
func top(m map[string]int, link func(string) string) []count {
	names := slices.Collect(maps.Keys(m))
	slices.SortFunc(names, func(a, b string) int {
		if c := cmp.Compare(m[b], m[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	names = names[:min(len(names), topN)]
	out := make([]count, len(names))
	for i, n := range names {
		out[i] = count{Name: n, N: m[n], Width: 100 * m[n] / max(1, m[names[0]])}
		if link != nil {
			out[i].Link = link(n)
		}
	}
	return out
}

// chart is a bar chart drawn as inline SVG by the template.
type chart struct {
	Width, Height int
	Bars          []bar
	Max           int
	Ticks         []tick
	// Desc describes the chart in words (its <title> and for screen
	// readers).
	Desc string
}

// bar is one hour's bar.
type bar struct {
	X, Y, W, H int
	N          int
	Label      string
}

// tick is a label of the hour axis.
type tick struct {
	X     int
	Label string
}

// Geometry of the chart, in SVG user units.
const (
	chartW, chartH = 720, 160
	chartPad       = 24 // room for the axis labels below and left
)

// hourChart counts bans per hour over the 24 hours before now, the
// current hour last.
func hourChart(evs []control.Event, now time.Time) chart {
	const hours = 24
	end := now.UTC().Truncate(time.Hour).Add(time.Hour)
	start := end.Add(-hours * time.Hour)
	var n [hours]int
	for _, e := range evs {
		if e.Time.Before(start) || !e.Time.Before(end) {
			continue
		}
		n[int(e.Time.Sub(start)/time.Hour)]++
	}
	c := chart{Width: chartW, Height: chartH}
	for _, v := range n {
		c.Max = max(c.Max, v)
	}
	slot := (chartW - chartPad) / hours
	plot := chartH - chartPad
	total := 0
	for i, v := range n {
		total += v
		h := 0
		if c.Max > 0 {
			h = v * (plot - 4) / c.Max
		}
		if v > 0 && h < 2 {
			h = 2
		}
		t := start.Add(time.Duration(i) * time.Hour)
		c.Bars = append(c.Bars, bar{X: chartPad + i*slot + 2, Y: plot - h, W: slot - 4, H: h, N: v,
			Label: fmt.Sprintf("%s–%s UTC: %d ban%s", t.Format("15:04"), t.Add(time.Hour).Format("15:04"), v, plural(v))})
		if i%3 == 0 {
			c.Ticks = append(c.Ticks, tick{X: chartPad + i*slot + slot/2, Label: t.Format("15h")})
		}
	}
	c.Desc = fmt.Sprintf("Bans per hour, the last 24 hours (UTC): %d in all, at most %d in one hour.", total, c.Max)
	return c
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// queryEscape escapes a query value.
func queryEscape(s string) string { return url.QueryEscape(s) }
